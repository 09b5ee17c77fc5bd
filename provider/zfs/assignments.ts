/**
 * Every ZFS property assignment, wherever it appears (a dataset's properties, a clone's,
 * a pool's root filesystem, a receive), judged by the one catalogue in properties.ts: the
 * name (short names resolved, read-only refused as read-only, user properties as
 * zfs_prop_user), the value's domain, where it may be set, and the rules between
 * properties (sync=disabled only when ephemeral, refreservation=auto only on volumes,
 * encryption needs keyformat, ...). Pure: returns problems, each naming the key as given.
 */
import { echo } from "../model/echo.js";
import { MANAGED_PROPERTY, resolveProperty, quotaTargetProblem, userPropertyNameProblem, userPropertyValueProblem, type DatasetKind } from "./properties.js";
import { SYNC_DISABLED_WARNING } from "./profiles.js";

export interface PropertyContext {
  /** the dataset's kind; "either" when it is not known yet (a clone has its origin's kind) */
  kind: DatasetKind | "either";
  /** where the assignments go: they differ in what may be set */
  target: "dataset" | "clone" | "pool-root" | "receive";
  /** throw-away data: the only place sync=disabled is accepted */
  ephemeral: boolean;
  /**
   * user properties: in their own map (datasets), among native ones (a receive), or not
   * here at all (a clone's or a pool root's: backplane reads user properties back only for
   * datasets, and a value it cannot read back would be planned forever)
   */
  userProperties: "separate" | "inline" | "not-read";
}

export interface AssignmentProblem {
  /** the key as written, so the message points at it */
  key: string;
  message: string;
}

const CLONE_INHERITS: Record<string, string> = {
  encryption: "encryption properties must inherit from the origin dataset (OpenZFS: zfs_crypto_clone_check)",
  keyformat: "encryption properties must inherit from the origin dataset (OpenZFS: zfs_crypto_clone_check)",
  keylocation: "encryption properties must inherit from the origin dataset (OpenZFS: zfs_crypto_clone_check)",
  pbkdf2iters: "encryption properties must inherit from the origin dataset (OpenZFS: zfs_crypto_clone_check)",
  casesensitivity: "a clone shares its origin's files: casesensitivity comes from the origin",
  normalization: "a clone shares its origin's files: normalization comes from the origin",
  utf8only: "a clone shares its origin's files: utf8only comes from the origin",
  volblocksize: "a clone shares its origin's blocks: volblocksize comes from the origin",
};

/** Short names (compress, recsize, ...) replaced by the canonical ones; other keys unchanged. */
export function canonicalPropertyNames(props: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    const r = resolveProperty(k);
    out[r.type === "native" ? r.name : k] = v;
  }
  return out;
}

function nameProblem(key: string, value: string, ctx: PropertyContext): { canonical: string; normalized: string } | string {
  const r = resolveProperty(key);
  if (r.type === "read-only") return `'${echo(key)}' is read-only: OpenZFS computes it${r.name !== key ? ` (${r.name})` : ""}`;
  if (r.type === "unknown") return `unknown or unsupported ZFS property '${echo(key)}'`;
  if (r.type === "user") {
    if (ctx.userProperties === "separate") return `'${echo(key)}' is a user property: put it in user_properties`;
    if (ctx.userProperties === "not-read") return `'${echo(key)}' is a user property; backplane reads user properties back only from a backplane_dataset's user_properties, so declare the dataset and set it there`;
    if (key === MANAGED_PROPERTY) return `${MANAGED_PROPERTY} is set by backplane itself`;
    return userPropertyNameProblem(key) ?? userPropertyValueProblem(value) ?? { canonical: key, normalized: value };
  }
  const spec = r.spec;
  if (r.type === "not-managed") {
    const c = spec.check(value);
    const validity = c.ok ? "OpenZFS accepts it" : `and the value is not valid either: ${r.name} ${c.reason}`;
    return `'${echo(key)}' is a ZFS property backplane does not manage yet (it is not read back, so it would be planned forever); ${validity}`;
  }
  const label = r.name === key ? key : `${key} (${r.name})`;
  if (ctx.kind !== "either" && !spec.kinds.includes(ctx.kind)) return `'${label}' does not apply to a ${ctx.kind}`;
  if (ctx.target === "clone" && CLONE_INHERITS[r.name]) return `${label} cannot be set on a clone: ${CLONE_INHERITS[r.name]}`;
  const q = quotaTargetProblem(key);
  if (q) return q;
  const c = spec.check(value);
  if (!c.ok) return `${label} ${c.reason}`;
  return { canonical: r.name, normalized: c.normalized };
}

/** One map of assignments in its context: every problem, each on the key that has it. */
export function propertyProblems(props: Readonly<Record<string, string>>, ctx: PropertyContext): AssignmentProblem[] {
  const problems: AssignmentProblem[] = [];
  const seen = new Map<string, string>();
  const good = new Map<string, { key: string; value: string; normalized: string }>();
  for (const [key, value] of Object.entries(props)) {
    if (typeof value !== "string") continue; // unknown until apply: checked once known
    const r = nameProblem(key, value, ctx);
    if (typeof r === "string") {
      problems.push({ key, message: r });
      continue;
    }
    const before = seen.get(r.canonical);
    if (before !== undefined) {
      problems.push({ key, message: `'${echo(key)}' and '${echo(before)}' are the same property (${r.canonical}); give it once` });
      continue;
    }
    seen.set(r.canonical, key);
    good.set(r.canonical, { key, value, normalized: r.normalized });
  }
  const given = new Set(Object.keys(props).map((k) => resolveProperty(k).name));
  problems.push(...crossPropertyProblems(good, given, ctx));
  return problems;
}

type Good = ReadonlyMap<string, { key: string; value: string; normalized: string }>;

/** The rules between properties, OpenZFS's (libzfs_crypto.c, libzfs_dataset.c) and the seed's. */
function crossPropertyProblems(good: Good, given: ReadonlySet<string>, ctx: PropertyContext): AssignmentProblem[] {
  const out: AssignmentProblem[] = [];
  const at = (name: string, message: string) => out.push({ key: good.get(name)?.key ?? name, message });
  const v = (name: string) => good.get(name)?.normalized;
  if (v("sync") === "disabled" && !ctx.ephemeral) {
    at("sync", ctx.target === "dataset" || ctx.target === "clone"
      ? `sync=disabled is only accepted on a dataset marked ephemeral. The seed: "${SYNC_DISABLED_WARNING}"`
      : `sync=disabled is only accepted on a dataset marked ephemeral, never on a ${ctx.target === "pool-root" ? "pool's root filesystem" : "received dataset"}. The seed: "${SYNC_DISABLED_WARNING}"`);
  }
  if (v("refreservation") === "auto" && ctx.kind !== "volume") at("refreservation", "refreservation=auto is only accepted on volumes");
  const encryption = v("encryption");
  const keyformat = v("keyformat");
  if (encryption !== undefined && encryption !== "off" && keyformat === undefined && ctx.target !== "clone") {
    at("encryption", `encryption=${encryption} needs keyformat: a new encryption root needs a key (to encrypt under an encrypted parent, leave encryption unset and it is inherited)`);
  }
  if (encryption === "off") {
    for (const p of ["keyformat", "keylocation", "pbkdf2iters"]) if (good.has(p)) at(p, `${p} needs encryption: OpenZFS refuses encryption properties with encryption=off`);
  }
  if (good.has("keylocation") && keyformat === undefined) at("keylocation", "keylocation needs keyformat (a keylocation makes a new encryption root)");
  if (good.has("pbkdf2iters") && keyformat !== "passphrase") at("pbkdf2iters", "pbkdf2iters is only accepted with keyformat=passphrase");
  if (v("normalization") !== undefined && v("normalization") !== "none" && v("utf8only") === "off") {
    at("normalization", "normalization needs utf8only=on (OpenZFS refuses normalization of names that need not be UTF-8)");
  }
  const volsize = v("volsize");
  const vbs = v("volblocksize");
  if (volsize !== undefined && vbs !== undefined && BigInt(volsize) % BigInt(vbs) !== 0n) {
    at("volsize", `volsize must be a multiple of volblocksize (${good.get("volblocksize")!.value})`);
  }
  if (ctx.target === "dataset" && ctx.kind === "volume" && !given.has("volsize")) {
    out.push({ key: "volsize", message: "a volume needs volsize" });
  }
  return out;
}
