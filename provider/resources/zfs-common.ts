/**
 * Shared by the ZFS resource kinds: normalising desired properties, ownership, capability
 * checks and the property diff. Pure.
 */
import { MANAGED_PROPERTY, propertySpec, versionAtLeast } from "../zfs/properties.js";
import type { PropertyValue } from "../model/live.js";
import type { HostLive } from "../model/live.js";
import type { AttrChange, Step } from "../model/plan.js";
import type { ResourceState } from "../model/state.js";
import { argv } from "../model/argv.js";
import { formatSize } from "../zfs/units.js";

/** Native properties normalised to the form `zfs get -Hp` prints (validated at load already). */
export function normalizeProperties(props: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props ?? {})) {
    const spec = propertySpec(k);
    const c = spec?.check(v);
    out[k] = c && c.ok ? c.normalized : v;
  }
  return out;
}

/** An object is ours only when it carries the marker *locally* with our lineage (children inherit it). */
export function ownedBy(props: Map<string, PropertyValue> | undefined, lineage: string): boolean {
  const m = props?.get(MANAGED_PROPERTY);
  return !!m && m.source.kind === "local" && m.value === lineage;
}

export function markerOf(props: Map<string, PropertyValue> | undefined): string | null {
  const m = props?.get(MANAGED_PROPERTY);
  return m && m.source.kind === "local" && m.value !== "-" ? m.value : null;
}

/** For humans: 536870912000 → "536870912000 (500G)". */
export function show(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value) && BigInt(value) >= 1024n && ["recordsize", "quota", "refquota", "reservation", "refreservation", "volsize", "volblocksize", "special_small_blocks"].includes(name)) {
    return `${value} (${formatSize(BigInt(value))})`;
  }
  return value;
}

/**
 * Capability check: does the host (and pool) support this value? New pools on OpenZFS get
 * every feature the host knows, so a pool created in the same plan counts as having them.
 */
export function capabilityProblem(live: HostLive, pool: string, name: string, normalized: string): string | null {
  const req = propertySpec(name)?.requires?.(normalized);
  if (!req) return null;
  const version = live.zfs.userland;
  if (req.zfs && !versionAtLeast(version, req.zfs)) {
    return `${req.why}; host runs ${version ? `OpenZFS ${version}` : `a non-OpenZFS ZFS (${live.zfs.raw.split("\n")[0] || "unknown"})`}`;
  }
  if (req.feature) {
    const p = live.pools.get(pool);
    if (p && !p.features.has(req.feature)) return `${req.why}; pool ${pool} does not have feature ${req.feature} enabled`;
    if (!p && version === null) return `${req.why}; the host's ZFS has no pool features`;
  }
  return null;
}

/**
 * The capability problems of a set of (normalised) properties on one pool of a host: every
 * place a property is assigned (a dataset, a clone, a pool's root filesystem) goes through
 * this one check, with the message naming where and the value as written.
 */
export function capabilityProblems(live: HostLive, pool: string, props: Record<string, string>, where: string, written?: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    const p = capabilityProblem(live, pool, k, v);
    if (p) out.push(`${k}=${written?.[k] ?? v} cannot be set on ${live.host} (${where}): ${p}`);
  }
  return out;
}

export interface PropertyDiff {
  sets: Record<string, string>;
  inherits: string[];
  forcesReplacement: AttrChange[];
  attrs: AttrChange[];
}

/**
 * desired (normalised) × live × last recorded → what to set, inherit, or replace for.
 * A desired value must be set *locally*: an equal value inherited from a parent is set, so
 * a later change to the parent cannot silently change this dataset. Properties no longer
 * desired but recorded are inherited again when they are still set locally.
 */
export function diffProperties(
  desired: Record<string, string>,
  live: Map<string, PropertyValue>,
  recorded: Record<string, string>,
  createOnly: (name: string) => boolean,
): PropertyDiff {
  const d: PropertyDiff = { sets: {}, inherits: [], forcesReplacement: [], attrs: [] };
  for (const [name, want] of Object.entries(desired)) {
    const have = live.get(name);
    const same = have !== undefined && have.value === want;
    if (createOnly(name)) {
      if (!same) {
        const a = { name, before: show(name, have?.value), after: show(name, want), forcesReplacement: true };
        d.forcesReplacement.push(a);
        d.attrs.push(a);
      }
      continue;
    }
    if (!same || (have.source.kind !== "local" && have.source.kind !== "received")) {
      d.sets[name] = want;
      d.attrs.push({ name, before: have ? `${show(name, have.value)}${have.source.kind === "local" ? "" : ` (${have.source.kind === "inherited" ? `inherited from ${have.source.from}` : have.source.kind})`}` : undefined, after: show(name, want) });
    }
  }
  for (const name of Object.keys(recorded)) {
    if (name in desired) continue;
    const have = live.get(name);
    if (have && have.source.kind === "local" && !createOnly(name)) {
      d.inherits.push(name);
      d.attrs.push({ name, before: show(name, have.value), after: undefined });
    }
  }
  return d;
}

/** The object's GUID as state recorded it at creation (or import): identity beyond the name. */
function recordedGuid(state: ResourceState | undefined): string | null {
  const g = state?.attributes.guid;
  return typeof g === "string" && g !== "" ? g : null;
}

/** A live object is the one state recorded only when the GUIDs agree (where both are known). */
export function guidMismatch(state: ResourceState | undefined, liveGuid: string | undefined): string | null {
  const want = recordedGuid(state);
  if (!want || !liveGuid || liveGuid === want) return null;
  return `${state!.id} on ${state!.host} is not the object backplane recorded (guid ${liveGuid}, recorded ${want}): it was destroyed and made again outside backplane; backplane leaves it alone (remove it from state with: backplane state rm ADDRESS, then import it if it should be managed)`;
}

/** Reads a new object's GUID into state, in the same batch that creates it. */
export function captureGuid(id: string, pool = false): Step {
  // `zpool list -H -o guid` is what old hosts (zfs-fuse) answer too; `zpool get -Hp` is not
  return { command: pool ? argv("zpool", "list", "-H", "-o", "guid", id) : argv("zfs", "get", "-Hp", "-o", "value", "guid", id), label: "Reading guid", captures: "guid" };
}
