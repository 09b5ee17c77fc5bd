/** backplane_dataset: read / diff / steps. Pure. */
import { argv, type Argv } from "../model/argv.js";
import { MANAGED_PROPERTY, propertySpec } from "../zfs/properties.js";
import { datasetNameProblem, poolOf } from "../zfs/names.js";
import type { Drift, AttrChange, Step } from "../model/plan.js";
import { baseChange, noop, alreadyGone, deleteBase, type PlanContext, type Planned, type ResourceKind } from "./kind.js";
import { pendingRestoreProblem } from "./restore.js";
import { capabilityProblems, diffProperties, normalizeProperties, ownedBy, markerOf, show, guidMismatch, captureGuid } from "./zfs-common.js";
import type { HostLive } from "../model/live.js";

const createOnly = (name: string) => propertySpec(name)?.createOnly ?? false;

export interface DatasetAttributes {
  name: string;
  type: "filesystem" | "volume";
  properties: Record<string, string>;
  user_properties: Record<string, string>;
  guid?: string;
}

function desiredAttributes(config: Record<string, unknown>): DatasetAttributes {
  return {
    name: config.name as string,
    type: ((config.type as string | undefined) ?? "filesystem") as "filesystem" | "volume",
    properties: normalizeProperties(config.properties as Record<string, string> | undefined),
    user_properties: { ...((config.user_properties as Record<string, string> | undefined) ?? {}) },
  };
}

/** Set after `zfs create -V`: OpenZFS 2.3.2 refuses it at create ("out of space"), accepts it once the volume exists. */
const SET_AFTER_CREATE = (k: string, v: string) => k === "refreservation" && v === "auto";

/** `zfs create` with the marker, then what only `zfs set` takes, then the GUID read back. */
export function createSteps(a: DatasetAttributes, lineage: string, parents: boolean): Step[] {
  const later = Object.entries(a.properties).filter(([k, v]) => SET_AFTER_CREATE(k, v));
  return [
    { command: createDatasetCommand(a, lineage, parents), label: "Creating" },
    ...later.map(([k, v]) => ({ command: argv("zfs", "set", `${k}=${v}`, a.name), label: "Modifying" })),
    captureGuid(a.name),
  ];
}

export function createDatasetCommand(a: DatasetAttributes, lineage: string, parents: boolean): Argv {
  const opts: string[] = [];
  for (const [k, v] of Object.entries(a.properties)) {
    if (k === "volsize" || SET_AFTER_CREATE(k, v)) continue;
    opts.push("-o", `${k}=${v}`);
  }
  for (const [k, v] of Object.entries(a.user_properties)) opts.push("-o", `${k}=${v}`);
  opts.push("-o", `${MANAGED_PROPERTY}=${lineage}`);
  const vol = a.type === "volume" ? ["-V", a.properties.volsize!] : [];
  return argv("zfs", "create", ...(parents ? ["-p"] : []), ...vol, ...opts, a.name);
}

/**
 * Destroying or replacing a dataset never loses its data on the spot: it gets a recursive
 * safety snapshot and is moved aside, with everything under it, to
 * <pool>/backplane-pre-<serial>/<path>, where plans report it as not managed until the
 * operator removes it (or restores it by renaming back). A retry of the same serial finds
 * its safety snapshot taken and does not take it again.
 */
export function keepAside(name: string, live: HostLive, serial: number): KeptAside {
  const pool = poolOf(name);
  const at = `${pool}/backplane-pre-${serial}/${name.slice(pool.length + 1)}`;
  const snapshot = `${name}@backplane-pre-${serial}`;
  const problems: string[] = [];
  if (name === pool) problems.push(`${name} is the root dataset of pool ${pool}: it cannot be moved aside (remove the pool instead)`);
  else {
    const p = datasetNameProblem(at);
    if (p) problems.push(`${name} cannot be kept aside at ${at}: ${p}`);
    if (live.datasets.has(at)) problems.push(`${name} cannot be kept aside: ${at} exists already on ${live.host}`);
  }
  const steps: Step[] = [];
  if (!live.snapshots.has(snapshot)) steps.push({ command: argv("zfs", "snapshot", "-r", snapshot), label: "Safety snapshot" });
  steps.push({ command: argv("zfs", "rename", "-p", name, at), label: "Moving aside" });
  return { steps, at, snapshot, problems };
}

export interface KeptAside {
  steps: Step[];
  /** where the dataset will be */
  at: string;
  /** the recursive safety snapshot taken first */
  snapshot: string;
  problems: string[];
}

/**
 * What a keep-aside of `name` moves besides it: declared objects (refused: they would vanish
 * from where the code says they are), and objects this stack does not manage (said in the plan).
 */
function carriedAlong(name: string, ctx: PlanContext): { declared: string[]; foreign: string[]; unmanaged: string[] } {
  const under = (id: string) => id.startsWith(`${name}/`) || id.startsWith(`${name}@`);
  const ids = [...ctx.live.datasets.keys(), ...ctx.live.snapshots.keys()].filter(under).sort();
  const owner = (id: string) => (id.includes("@") ? ctx.live.snapshots.get(id)?.marker ?? null : markerOf(ctx.live.datasets.get(id)));
  const notOurs = ids.filter((id) => !ctx.declaredIds.has(id) && !ctx.removedIds.has(id) && !/@backplane-pre-\d+$/.test(id));
  return {
    declared: ids.filter((id) => ctx.declaredIds.has(id) && !ctx.removedIds.has(id)),
    foreign: notOurs.filter((id) => owner(id) !== null && owner(id) !== ctx.lineage).map((id) => `${id} (backplane:managed=${owner(id)})`),
    unmanaged: notOurs,
  };
}

/** The keep-aside of `name` as a plan shows it, with what it refuses and what it carries along. */
function keepAsideChange(name: string, ctx: PlanContext): KeptAside & { carries: string[] } {
  const k = keepAside(name, ctx.live, ctx.nextSerial);
  const { declared, foreign, unmanaged } = carriedAlong(name, ctx);
  if (declared.length > 0) k.problems.push(`moving ${name} aside would move ${declared.join(", ")} with it, which the configuration still declares: remove those from the configuration in the same change, or keep ${name}`);
  if (foreign.length > 0) k.problems.push(`moving ${name} aside would move what other stacks own: ${foreign.join(", ")}; backplane does not move another stack's objects`);
  return { ...k, carries: unmanaged };
}

export const datasetKind: ResourceKind = {
  type: "backplane_dataset",
  id: (config) => config.name as string,

  plan(r, state, ctx): Planned {
    const want = desiredAttributes(r.config);
    const base = baseChange(r, want.name);
    // a restore of this object did not finish: its name may be free (docs/restore.md)
    const pending = pendingRestoreProblem(state);
    if (pending) return { errors: [pending], change: noop(base, "restore pending") };
    const errors: string[] = [];
    const pool = poolOf(want.name);
    errors.push(...capabilityProblems(ctx.live, pool, want.properties, want.name, r.config.properties as Record<string, string> | undefined));
    if (!ctx.live.pools.has(pool) && !ctx.plannedPools.has(pool)) {
      errors.push(`pool '${pool}' does not exist on ${ctx.live.host} and no backplane_pool in this stack creates it`);
    }
    const live = ctx.live.datasets.get(want.name);
    if (!live) {
      const attrs: AttrChange[] = [
        ...Object.entries(want.properties).map(([name, v]) => ({ name, after: show(name, v) })),
        ...Object.entries(want.user_properties).map(([name, v]) => ({ name, after: v })),
      ];
      return {
        errors,
        change: {
          ...base, action: "create", reason: state ? "recorded in state but missing on the host" : "does not exist",
          attrs, destructive: false,
          steps: createSteps(want, ctx.lineage, r.config.create_parents === true),
          after: { ...want },
        },
      };
    }
    const owner = markerOf(live);
    if (!state && !ownedBy(live, ctx.lineage)) {
      errors.push(owner
        ? `${want.name} on ${ctx.live.host} belongs to another stack (backplane:managed=${owner}); backplane never takes over what it does not own`
        : `${want.name} already exists on ${ctx.live.host} and is not managed by backplane; adopt it with: backplane import ${r.address} ${want.name}`);
      return { errors, change: noop(base, "not managed") };
    }
    const mismatch = guidMismatch(state, live.get("guid")?.value);
    if (mismatch) return { errors: [...errors, mismatch], change: noop(base, "not the recorded object") };
    const liveType = live.get("type")?.value;
    const recorded = (state?.attributes.properties as Record<string, string> | undefined) ?? {};
    const d = diffProperties(want.properties, live, recorded, createOnly);
    const userLive = new Map([...live].filter(([k]) => k.includes(":") && k !== MANAGED_PROPERTY));
    const recordedUser = (state?.attributes.user_properties as Record<string, string> | undefined) ?? {};
    const du = diffProperties(want.user_properties, userLive, recordedUser, () => false);
    if (liveType !== want.type || d.forcesReplacement.length > 0 || ctx.replaceRequested) {
      const attrs = liveType !== want.type ? [{ name: "type", before: liveType, after: want.type, forcesReplacement: true }, ...d.attrs] : d.attrs;
      const forced = attrs.filter((a) => a.forcesReplacement).map((a) => a.name);
      const aside = keepAsideChange(want.name, ctx);
      errors.push(...aside.problems);
      return {
        errors,
        change: {
          ...base, action: "replace", reason: forced.length ? `${forced.join(", ")} cannot be changed in place` : "replacement requested (--replace)",
          attrs, destructive: true,
          steps: [...aside.steps, ...createSteps(want, ctx.lineage, false)],
          after: { ...want },
          keptAside: { at: aside.at, snapshot: aside.snapshot, carries: aside.carries },
        },
      };
    }
    const sets = { ...d.sets, ...du.sets };
    const inherits = [...d.inherits, ...du.inherits];
    const steps = [];
    if (Object.keys(sets).length > 0) {
      steps.push({ command: argv("zfs", "set", ...Object.entries(sets).map(([k, v]) => `${k}=${v}`), want.name), label: "Modifying" });
    }
    for (const p of inherits) steps.push({ command: argv("zfs", "inherit", p, want.name), label: `Inheriting ${p}` });
    const guid = live.get("guid")?.value;
    return {
      errors,
      change: {
        ...base, action: steps.length > 0 ? "update" : "noop",
        reason: steps.length > 0 ? "properties differ from the configuration" : "up to date",
        attrs: [...d.attrs, ...du.attrs], destructive: false, steps, after: { ...want, guid },
      },
    };
  },

  planDelete(address, state, ctx): Planned {
    const name = state.id;
    const live = ctx.live.datasets.get(name);
    const base = deleteBase(address, state);
    // a restore of this object did not finish: its name may be free (docs/restore.md)
    const pending = pendingRestoreProblem(state);
    if (pending) return { errors: [pending], change: noop(base, "restore pending") };
    if (!live) return { errors: [], change: alreadyGone(base) };
    if (!ownedBy(live, ctx.lineage)) {
      return { errors: [`${name} on ${state.host} is no longer in the configuration but does not carry this stack's ownership marker; backplane does not destroy it (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    }
    const mismatch = guidMismatch(state, live.get("guid")?.value);
    if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
    if (ctx.keptAsideWith) {
      // moved by its ancestor's keep-aside (one rename of the whole subtree); leaves state after it
      return { errors: [], change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: true, steps: [], after: null, movedAsideWith: ctx.keptAsideWith.id } };
    }
    const aside = keepAsideChange(name, ctx);
    return {
      errors: aside.problems,
      change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: true, steps: aside.steps, after: null, keptAside: { at: aside.at, snapshot: aside.snapshot, carries: aside.carries } },
    };
  },

  drift(address, state, live: HostLive): Drift[] {
    const name = state.id;
    const l = live.datasets.get(name);
    if (!l) return [{ address, host: state.host, id: name, property: "(existence)", recorded: "exists", live: "missing" }];
    const out: Drift[] = [];
    const recorded = { ...((state.attributes.properties as Record<string, string>) ?? {}), ...((state.attributes.user_properties as Record<string, string>) ?? {}) };
    for (const [k, v] of Object.entries(recorded)) {
      const have = l.get(k);
      // create-only properties (casesensitivity, normalization, utf8only ...) report source "-":
      // for them the value is all there is to compare
      const sourceOk = have !== undefined && (have.source.kind === "local" || have.source.kind === "received" || (have.source.kind === "none" && createOnly(k)));
      if (!have || have.value !== v || !sourceOk) {
        out.push({ address, host: state.host, id: name, property: k, recorded: v, live: have ? `${have.value}${have.source.kind === "local" ? "" : ` (${have.source.kind})`}` : null });
      }
    }
    return out;
  },

  importAttributes(id, live): Record<string, unknown> | null {
    const l = live.datasets.get(id);
    if (!l) return null;
    const properties: Record<string, string> = {};
    const user: Record<string, string> = {};
    for (const [k, v] of l) {
      if (v.source.kind !== "local" && v.source.kind !== "received") continue;
      if (k === MANAGED_PROPERTY) continue;
      if (k.includes(":")) user[k] = v.value;
      else if (propertySpec(k)) properties[k] = v.value;
    }
    return { name: id, type: l.get("type")?.value ?? "filesystem", properties, user_properties: user, guid: l.get("guid")?.value };
  },
};
