/** backplane_dataset: read / diff / steps. Pure. */
import { argv, type Argv } from "../model/argv.js";
import { MANAGED_PROPERTY, propertySpec } from "../zfs/properties.js";
import { poolOf } from "../zfs/names.js";
import type { Drift, AttrChange, Step } from "../model/plan.js";
import { baseChange, noop, deleteBase, type PlanContext, type Planned, type ResourceKind } from "./kind.js";
import { capabilityProblem, diffProperties, normalizeProperties, ownedBy, markerOf, show } from "./zfs-common.js";
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

export function createDatasetCommand(a: DatasetAttributes, lineage: string, parents: boolean): Argv {
  const opts: string[] = [];
  for (const [k, v] of Object.entries(a.properties)) {
    if (k === "volsize") continue;
    opts.push("-o", `${k}=${v}`);
  }
  for (const [k, v] of Object.entries(a.user_properties)) opts.push("-o", `${k}=${v}`);
  opts.push("-o", `${MANAGED_PROPERTY}=${lineage}`);
  const vol = a.type === "volume" ? ["-V", a.properties.volsize!] : [];
  return argv("zfs", "create", ...(parents ? ["-p"] : []), ...vol, ...opts, a.name);
}

/**
 * Destroying or replacing a dataset never loses its data on the spot: it gets a recursive
 * safety snapshot and is moved aside to <pool>/backplane-pre-<serial>/<path>, where plans
 * report it as not managed until the operator removes it (or restores it by renaming back).
 */
export function keepAsideSteps(name: string, serial: number): Step[] {
  const pool = poolOf(name);
  const aside = `${pool}/backplane-pre-${serial}/${name.slice(pool.length + 1)}`;
  return [
    { command: argv("zfs", "snapshot", "-r", `${name}@backplane-pre-${serial}`), label: "Safety snapshot" },
    { command: argv("zfs", "rename", "-p", name, aside), label: "Moving aside" },
  ];
}

export const datasetKind: ResourceKind = {
  type: "backplane_dataset",
  id: (config) => config.name as string,

  plan(r, state, ctx): Planned {
    const want = desiredAttributes(r.config);
    const base = baseChange(r, want.name);
    const errors: string[] = [];
    const pool = poolOf(want.name);
    for (const [k, v] of Object.entries(want.properties)) {
      const p = capabilityProblem(ctx.live, pool, k, v);
      if (p) errors.push(`${k}=${r.config.properties && (r.config.properties as Record<string, string>)[k]} cannot be set on ${ctx.live.host} (${want.name}): ${p}`);
    }
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
          steps: [{ command: createDatasetCommand(want, ctx.lineage, r.config.create_parents === true), label: "Creating" }],
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
    const liveType = live.get("type")?.value;
    const recorded = (state?.attributes.properties as Record<string, string> | undefined) ?? {};
    const d = diffProperties(want.properties, live, recorded, createOnly);
    const userLive = new Map([...live].filter(([k]) => k.includes(":") && k !== MANAGED_PROPERTY));
    const recordedUser = (state?.attributes.user_properties as Record<string, string> | undefined) ?? {};
    const du = diffProperties(want.user_properties, userLive, recordedUser, () => false);
    if (liveType !== want.type || d.forcesReplacement.length > 0 || ctx.replaceRequested) {
      const attrs = liveType !== want.type ? [{ name: "type", before: liveType, after: want.type, forcesReplacement: true }, ...d.attrs] : d.attrs;
      const forced = attrs.filter((a) => a.forcesReplacement).map((a) => a.name);
      return {
        errors,
        change: {
          ...base, action: "replace", reason: forced.length ? `${forced.join(", ")} cannot be changed in place` : "replacement requested (--replace)",
          attrs, destructive: true,
          steps: [
            ...keepAsideSteps(want.name, ctx.nextSerial),
            { command: createDatasetCommand(want, ctx.lineage, false), label: "Creating" },
          ],
          after: { ...want },
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
    if (!live) return { errors: [], change: noop(base, "already gone") };
    if (!ownedBy(live, ctx.lineage)) {
      return { errors: [`${name} on ${state.host} is no longer in the configuration but does not carry this stack's ownership marker; backplane does not destroy it (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    }
    return {
      errors: [],
      change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: true, steps: keepAsideSteps(name, ctx.nextSerial), after: null },
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
      if (!have || have.value !== v || (have.source.kind !== "local" && have.source.kind !== "received")) {
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
