/**
 * The catalogue of zpool properties (`zpool create -o`, `zpool set`): domain, short name,
 * when each may be set, and the read-only ones (refused as read-only). Source:
 * module/zcommon/zpool_prop.c and libzfs's zpool_valid_proplist at openzfs/zfs be7657e3.
 * Pure data + pure checks.
 */
import { echo } from "../model/echo.js";
import { datasetNameProblem, poolOf } from "./names.js";
import { controlCharacterProblem, userPropertyNameProblem, userPropertyValueProblem } from "./properties.js";
import type { AssignmentProblem } from "./assignments.js";

export interface PoolPropertyContext {
  pool: string;
  /** true when the pool is created by `zpool create`; false when adopted (`zpool set`) */
  create: boolean;
}

export interface PoolPropertySpec {
  name: string;
  short?: string;
  domain: string;
  /** when it may be set, if not always */
  when?: "create" | "not-create" | "import";
  check(value: string, ctx: PoolPropertyContext): string | null;
}

const oneOf = (values: readonly string[]) => (v: string) => (values.includes(v) ? null : `must be one of ${values.join(", ")}; got '${echo(v)}'`);
const ONOFF = oneOf(["on", "off"]);

function absolutePath(v: string): string | null {
  if (!v.startsWith("/")) return `must be an absolute path; got '${echo(v)}'`;
  return controlCharacterProblem(v);
}

export const POOL_PROPERTIES: readonly PoolPropertySpec[] = [
  { name: "ashift", domain: "0 (detect) or 9-16", check: (v) => (/^(0|9|1[0-6])$/.test(v) ? null : `must be 0 or a number from 9 to 16 (ASHIFT_MIN..ASHIFT_MAX); got '${echo(v)}'`) },
  { name: "autotrim", domain: "on | off", check: ONOFF },
  { name: "autoexpand", short: "expand", domain: "on | off", check: ONOFF },
  { name: "autoreplace", short: "replace", domain: "on | off", check: ONOFF },
  { name: "delegation", domain: "on | off", check: ONOFF },
  { name: "listsnapshots", short: "listsnaps", domain: "on | off", check: ONOFF },
  { name: "multihost", domain: "on | off", check: ONOFF },
  { name: "failmode", domain: "wait | continue | panic", check: oneOf(["wait", "continue", "panic"]) },
  {
    name: "comment", domain: "printable ASCII, at most 32 characters",
    check: (v) => (/[^\x20-\x7e]/.test(v) ? "comment may only have printable characters (ASCII)" : v.length > 32 ? `comment must not exceed 32 characters (ZPROP_MAX_COMMENT); it has ${v.length}` : null),
  },
  {
    name: "cachefile", domain: "absolute path | none | empty",
    check: (v) => {
      if (v === "" || v === "none") return null;
      const p = absolutePath(v);
      if (p) return `cachefile ${p}`;
      return /\/(\.{0,2})$/.test(v) ? `'${echo(v)}' is not a valid file` : null;
    },
  },
  { name: "altroot", domain: "absolute path (at creation or import)", when: "create", check: (v) => absolutePath(v) },
  {
    name: "bootfs", domain: "a filesystem of this pool (not at creation)", when: "not-create",
    check: (v, ctx) => datasetNameProblem(v) ?? (poolOf(v) === ctx.pool ? null : `bootfs must be a dataset of pool ${ctx.pool}`),
  },
  { name: "readonly", short: "rdonly", domain: "on | off (at import only)", when: "import", check: ONOFF },
  { name: "version", domain: "1-28 or 5000 (legacy; setting it disables feature flags)", check: (v) => (/^([1-9]|1[0-9]|2[0-8]|5000)$/.test(v) ? null : `must be a supported pool version (1-28 or 5000); got '${echo(v)}'`) },
  {
    name: "compatibility", domain: "off | legacy | file[,file...]",
    check: (v) => (v === "off" || v === "legacy" || /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*(,[A-Za-z0-9._/-]+)*$/.test(v) ? null : `must be off, legacy or a comma-separated list of compatibility files; got '${echo(v)}'`),
  },
  { name: "dedup_table_quota", short: "ddtquota", domain: "size | none | auto", check: (v) => (v === "none" || v === "auto" || /^[0-9]+(\.[0-9]+)?[KMGTPEZ]?$/i.test(v) ? null : `must be a size, none or auto; got '${echo(v)}'`) },
];

const BY_NAME = new Map(POOL_PROPERTIES.flatMap((p) => [[p.name, p] as const, ...(p.short ? [[p.short, p] as const] : [])]));

const READ_ONLY = new Set([
  "size", "free", "freeing", "checkpoint", "ckpoint", "leaked", "allocated", "alloc", "expandsize", "expandsz", "fragmentation", "frag",
  "capacity", "cap", "guid", "load_guid", "health", "dedupratio", "dedup", "dedupused", "dedupsaved", "bcloneused", "bclonesaved", "bcloneratio",
  "dedup_table_size", "ddtsize", "last_scrubbed_txg", "available", "avail", "usable", "used", "name", "maxblocksize", "maxdnodesize", "dedupcached",
]);
// per allocation class: normal_size, special_capacity, ...
const CLASS_READ_ONLY = /^(normal|special|dedup|log|elog|special_elog)_(size|capacity|free|allocated|available|usable|used|expandsize|fragmentation)$/;

export function poolPropertySpec(name: string): PoolPropertySpec | undefined {
  return BY_NAME.get(name);
}

/** Short names (expand, listsnaps, ...) replaced by the canonical ones. */
export function canonicalPoolPropertyNames(props: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [BY_NAME.get(k)?.name ?? k, v]));
}

function featureProblem(name: string, value: string, ctx: PoolPropertyContext): string | null {
  const feature = name.slice("feature@".length);
  if (!/^[a-z0-9_]+$/.test(feature)) return `'${echo(name)}' is not a pool feature name (lowercase letters, digits and '_')`;
  if (value !== "enabled" && value !== "disabled") return `property '${name}' can only be set to 'enabled' or 'disabled'; got '${echo(value)}'`;
  if (value === "disabled" && !ctx.create) return `property '${name}' can only be set to 'disabled' at creation time`;
  return null;
}

function onePoolProblem(key: string, value: string, ctx: PoolPropertyContext): string | null {
  if (key.startsWith("feature@")) return featureProblem(key, value, ctx);
  const spec = BY_NAME.get(key);
  if (!spec) {
    if (READ_ONLY.has(key) || CLASS_READ_ONLY.test(key)) return `pool property '${echo(key)}' is read-only: OpenZFS computes it`;
    if (key.includes(":")) {
      const p = userPropertyNameProblem(key) ?? userPropertyValueProblem(value);
      return p ?? `'${echo(key)}' is a pool user property (OpenZFS 2.2+); backplane does not read them back yet, so it would plan it forever`;
    }
    return `unknown pool property '${echo(key)}'`;
  }
  if (spec.when === "import") return `${spec.name} can only be set when a pool is imported, not by backplane`;
  if (spec.when === "create" && !ctx.create) return `${spec.name} can only be set when the pool is created or imported (this pool is adopted)`;
  if (spec.when === "not-create" && ctx.create) return `${spec.name} cannot be set at creation time; set it once the pool exists`;
  const p = spec.check(value, ctx);
  return p ? (p.startsWith(spec.name) ? p : `${spec.name} ${p}`) : null;
}

export function poolPropertyProblems(props: Readonly<Record<string, string>>, ctx: PoolPropertyContext): AssignmentProblem[] {
  const out: AssignmentProblem[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(props)) {
    if (typeof value !== "string") continue;
    const p = onePoolProblem(key, value, ctx);
    if (p) {
      out.push({ key, message: p });
      continue;
    }
    const canonical = BY_NAME.get(key)?.name ?? key;
    const before = seen.get(canonical);
    if (before !== undefined) out.push({ key, message: `'${echo(key)}' and '${echo(before)}' are the same pool property (${canonical}); give it once` });
    seen.set(canonical, key);
  }
  return out;
}
