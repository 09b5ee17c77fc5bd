/** backplane_pool: adopt or create; root dataset properties kept in line. Pure. */
import { argv } from "../model/argv.js";
import { MANAGED_PROPERTY, propertySpec } from "../zfs/properties.js";
import type { Drift } from "../model/plan.js";
import { baseChange, noop, alreadyGone, deleteBase, type Planned, type ResourceKind } from "./kind.js";
import { capabilityProblems, diffProperties, normalizeProperties, ownedBy, markerOf, show, guidMismatch, captureGuid } from "./zfs-common.js";

/** Pool properties that only `zpool create` can set. */
const POOL_CREATE_ONLY = new Set(["ashift"]);

export const poolKind: ResourceKind = {
  type: "backplane_pool",
  id: (config) => config.name as string,

  plan(r, state, ctx): Planned {
    const name = r.config.name as string;
    const base = baseChange(r, name);
    const errors: string[] = [];
    const poolProps = (r.config.properties as Record<string, string> | undefined) ?? {};
    const fsProps = normalizeProperties(r.config.filesystem_properties as Record<string, string> | undefined);
    if (r.config.mountpoint) fsProps.mountpoint = normalizeProperties({ mountpoint: r.config.mountpoint as string }).mountpoint!;
    const vdevs = (r.config.vdevs as string[] | undefined) ?? [];
    const after = { name, vdevs, adopt: r.config.adopt === true, properties: poolProps, filesystem_properties: fsProps };
    // the root filesystem's properties need what a dataset's would (a pool made here gets every feature the host has)
    errors.push(...capabilityProblems(ctx.live, name, fsProps, `root filesystem of pool ${name}`, r.config.filesystem_properties as Record<string, string> | undefined));
    const live = ctx.live.pools.get(name);
    if (!live) {
      if (r.config.adopt === true) {
        errors.push(`pool ${name} does not exist on ${ctx.live.host}, and adopt = true only takes an existing pool`);
        return { errors, change: noop(base, "missing") };
      }
      const opts = [
        ...Object.entries(poolProps).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
        ...Object.entries(fsProps).flatMap(([k, v]) => ["-O", `${k}=${v}`]),
        "-O", `${MANAGED_PROPERTY}=${ctx.lineage}`,
      ];
      return {
        errors,
        change: {
          ...base, action: "create", reason: "does not exist", destructive: false,
          attrs: [
            { name: "vdevs", after: vdevs.join(" ") },
            ...Object.entries(poolProps).map(([k, v]) => ({ name: k, after: v })),
            ...Object.entries(fsProps).map(([k, v]) => ({ name: `filesystem ${k}`, after: show(k, v) })),
          ],
          steps: [{ command: argv("zpool", "create", ...opts, name, ...vdevs), label: "Creating" }, captureGuid(name, true)],
          after,
        },
      };
    }
    const root = ctx.live.datasets.get(name);
    if (!state && r.config.adopt !== true && !ownedBy(root, ctx.lineage)) {
      const owner = markerOf(root);
      errors.push(owner
        ? `pool ${name} on ${ctx.live.host} belongs to another stack (backplane:managed=${owner})`
        : `pool ${name} already exists on ${ctx.live.host} and is not managed: set adopt = true, or run backplane import ${r.address} ${name}`);
      return { errors, change: noop(base, "not managed") };
    }
    const mismatch = guidMismatch(state, live.row.guid);
    if (mismatch) return { errors: [...errors, mismatch], change: noop(base, "not the recorded object") };
    if (live.row.health !== "ONLINE") errors.push(`pool ${name} on ${ctx.live.host} is ${live.row.health}, not ONLINE`);
    const steps = [];
    const attrs = [];
    const poolSets: string[] = [];
    for (const [k, v] of Object.entries(poolProps)) {
      const have = live.properties.get(k);
      if (have?.value === v) continue;
      if (POOL_CREATE_ONLY.has(k)) {
        errors.push(`pool ${name}: ${k} is ${have?.value ?? "unset"} on the host and can only be set when the pool is created (wanted ${v})`);
        continue;
      }
      poolSets.push(`${k}=${v}`);
      attrs.push({ name: k, before: have?.value, after: v });
    }
    for (const s of poolSets) steps.push({ command: argv("zpool", "set", s, name), label: "Modifying" });
    const recordedFs = (state?.attributes.filesystem_properties as Record<string, string> | undefined) ?? {};
    const d = diffProperties(fsProps, root ?? new Map(), recordedFs, (p) => propertySpec(p)?.createOnly ?? false);
    for (const a of d.forcesReplacement) errors.push(`pool ${name}: filesystem property ${a.name} can only be set when the pool is created`);
    if (Object.keys(d.sets).length > 0) steps.push({ command: argv("zfs", "set", ...Object.entries(d.sets).map(([k, v]) => `${k}=${v}`), name), label: "Modifying" });
    for (const p of d.inherits) steps.push({ command: argv("zfs", "inherit", p, name), label: `Inheriting ${p}` });
    attrs.push(...d.attrs.filter((a) => !a.forcesReplacement).map((a) => ({ ...a, name: `filesystem ${a.name}` })));
    return {
      errors,
      change: { ...base, action: steps.length ? "update" : "noop", reason: steps.length ? "properties differ" : "up to date", attrs, destructive: false, steps, after: { ...after, guid: live.row.guid } },
    };
  },

  planDelete(address, state, ctx): Planned {
    const name = state.id;
    const base = deleteBase(address, state);
    if (!ctx.live.pools.has(name)) return { errors: [], change: alreadyGone(base) };
    // a destroy forgets a pool it adopted: the pool was there before backplane and stays after it
    if (ctx.destroying && state.attributes.adopt === true) return { errors: [], change: { ...noop(base, "adopted"), removeFromState: true, note: `left in place: pool ${name} was adopted, backplane never destroys it; its record is dropped` } };
    if (!ownedBy(ctx.live.datasets.get(name), ctx.lineage) || state.attributes.adopt === true) {
      return { errors: [`pool ${name} is no longer in the configuration; backplane does not destroy a pool it adopted or does not own (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    }
    const mismatch = guidMismatch(state, ctx.live.pools.get(name)!.row.guid);
    if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
    // `zpool destroy` takes everything in the pool: only an empty pool is destroyed, so
    // nothing backplane does not own (nor data it kept aside) goes with it.
    const inside = [...ctx.live.datasets.keys(), ...ctx.live.snapshots.keys()].filter((id) => id.startsWith(`${name}/`) || id.startsWith(`${name}@`)).sort();
    if (inside.length > 0) {
      const holds = `${inside.slice(0, 5).join(", ")}${inside.length > 5 ? `, and ${inside.length - 5} more` : ""}`;
      // A destroy removes everything else and leaves the pool (still recorded): what its
      // datasets held is kept aside inside it, so destroying it now would destroy that too.
      if (ctx.destroying) return { errors: [], change: { ...noop(base, "not empty"), note: `left in place: pool ${name} is not empty (${holds}); destroy what is kept aside under ${name}/backplane-pre-* yourself, then run destroy again to remove the pool` } };
      return { errors: [`pool ${name} on ${state.host} is not empty (${holds}); backplane destroys only an empty pool: remove its datasets first (a removed dataset is kept aside under ${name}/backplane-pre-*, which you then destroy yourself)`], change: noop(base, "not empty") };
    }
    return { errors: [], change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: true, steps: [{ command: argv("zpool", "destroy", name), label: "Destroying" }], after: null } };
  },

  drift(address, state, live): Drift[] {
    const name = state.id;
    const p = live.pools.get(name);
    if (!p) return [{ address, host: state.host, id: name, property: "(existence)", recorded: "exists", live: "missing" }];
    const out: Drift[] = [];
    if (p.row.health !== "ONLINE") out.push({ address, host: state.host, id: name, property: "health", recorded: "ONLINE", live: p.row.health });
    const root = live.datasets.get(name);
    for (const [k, v] of Object.entries((state.attributes.filesystem_properties as Record<string, string>) ?? {})) {
      const have = root?.get(k);
      if (!have || have.value !== v || have.source.kind !== "local") out.push({ address, host: state.host, id: name, property: `filesystem ${k}`, recorded: v, live: have?.value ?? null });
    }
    return out;
  },

  importAttributes(id, live) {
    const p = live.pools.get(id);
    if (!p) return null;
    const root = live.datasets.get(id);
    const fs: Record<string, string> = {};
    for (const [k, v] of root ?? []) if (v.source.kind === "local" && propertySpec(k)) fs[k] = v.value;
    return { name: id, vdevs: [], adopt: true, properties: {}, filesystem_properties: fs, guid: p.row.guid };
  },
};
