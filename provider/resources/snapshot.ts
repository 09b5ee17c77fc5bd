/** backplane_snapshot and backplane_clone. Pure. */
import { argv } from "../model/argv.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import type { Drift } from "../model/plan.js";
import { baseChange, noop, alreadyGone, deleteBase, type Planned, type ResourceKind, type PlanContext } from "./kind.js";
import { capabilityProblems, normalizeProperties, show, ownedBy, markerOf, guidMismatch, captureGuid } from "./zfs-common.js";
import { poolOf } from "../zfs/names.js";
import type { HostLive } from "../model/live.js";
import { pendingRestoreProblem } from "./restore.js";


export const snapshotKind: ResourceKind = {
  type: "backplane_snapshot",
  id: (c) => `${c.dataset}@${c.name}`,
  plan(r, state, ctx): Planned {
    const id = `${r.config.dataset}@${r.config.name}`;
    const base = baseChange(r, id);
    const after = { dataset: r.config.dataset, name: r.config.name, recursive: r.config.recursive === true };
    const live = ctx.live.snapshots.get(id);
    if (live) {
      // Ours only when it carries this stack's marker on the snapshot itself: one a lost batch
      // created is adopted; one made by hand (or by another stack) is never taken over.
      if (!state && live.marker !== ctx.lineage) {
        return {
          errors: [live.marker
            ? `${id} on ${ctx.live.host} belongs to another stack (backplane:managed=${live.marker}); backplane never takes over what it does not own`
            : `${id} already exists on ${ctx.live.host} and is not managed by backplane; adopt it with: backplane import ${r.address} ${id}`],
          change: noop(base, "exists, not managed"),
        };
      }
      const mismatch = guidMismatch(state, live.guid);
      if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
      return { errors: [], change: noop(base, "up to date", { ...after, guid: live.guid }) };
    }
    return {
      errors: [],
      change: {
        ...base, action: "create", reason: state ? "recorded in state but missing on the host" : "does not exist", destructive: false, attrs: [{ name: "snapshot", after: id }],
        steps: [
          { command: argv("zfs", "snapshot", ...(r.config.recursive ? ["-r"] : []), "-o", `${MANAGED_PROPERTY}=${ctx.lineage}`, id), label: "Creating" },
          captureGuid(id),
        ],
        after,
      },
    };
  },
  planDelete(address, state, ctx): Planned {
    const base = deleteBase(address, state);
    const live = ctx.live.snapshots.get(state.id);
    if (!live) return { errors: [], change: alreadyGone(base) };
    if (live.marker !== ctx.lineage) return { errors: [`${state.id} on ${state.host} is no longer in the configuration but does not carry this stack's ownership marker; backplane does not destroy it (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    const mismatch = guidMismatch(state, live.guid);
    if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
    // A recursive snapshot: each snapshot of that name below the dataset that this stack
    // marked, deepest first, each by name — never `destroy -r`, which takes what is not ours.
    const [dataset, name] = [state.id.slice(0, state.id.indexOf("@")), state.id.slice(state.id.indexOf("@") + 1)];
    const below = state.attributes.recursive === true
      // (a child snapshot the configuration declares, or another record removes, is not this one's)
      ? [...ctx.live.snapshots.values()].filter((s) => s.snapshot === name && s.dataset.startsWith(`${dataset}/`) && !ctx.declaredIds.has(s.name) && !ctx.removedIds.has(s.name))
      : [];
    const ours = below.filter((s) => s.marker === ctx.lineage).map((s) => s.name).sort((a, b) => b.length - a.length || a.localeCompare(b));
    const others = below.filter((s) => s.marker !== ctx.lineage).map((s) => s.name).sort();
    const clones = [...ctx.live.datasets].filter(([, p]) => [state.id, ...ours].includes(p.get("origin")?.value ?? "")).map(([n]) => n).filter((n) => !ctx.removedIds.has(n));
    if (clones.length > 0) return { errors: [`${state.id} on ${state.host} cannot be destroyed: ${clones.join(", ")} ${clones.length === 1 ? "is a clone" : "are clones"} of it that this plan keeps`], change: noop(base, "has clones") };
    return {
      errors: [],
      change: {
        ...base, action: "delete", reason: `no longer in the configuration${others.length ? `; leaves ${others.join(", ")} (not made by this stack)` : ""}`, attrs: [], destructive: true,
        steps: [...ours, state.id].map((id) => ({ command: argv("zfs", "destroy", id), label: "Destroying" })),
        after: null,
      },
    };
  },
  drift(address, state, live): Drift[] {
    return live.snapshots.has(state.id) ? [] : [{ address, host: state.host, id: state.id, property: "(existence)", recorded: "exists", live: "missing" }];
  },
  importAttributes(id, live) {
    const s = live.snapshots.get(id);
    return s ? { dataset: s.dataset, name: s.snapshot, recursive: false, guid: s.guid } : null;
  },
};

/** The newest snapshot of a dataset by creation txg: what "dataset@latest" means. */
export function latestSnapshot(live: HostLive, dataset: string): string | null {
  let best: { name: string; txg: bigint } | null = null;
  for (const s of live.snapshots.values()) {
    if (s.dataset === dataset && (!best || s.createtxg > best.txg)) best = { name: s.name, txg: s.createtxg };
  }
  return best?.name ?? null;
}

function resolveOrigin(origin: string, ctx: PlanContext): { snapshot: string | null; problem?: string } {
  const [dataset, snap] = origin.split("@") as [string, string];
  if (snap === "latest" && !ctx.live.snapshots.has(origin)) {
    const latest = latestSnapshot(ctx.live, dataset);
    return latest ? { snapshot: latest } : { snapshot: null, problem: `${dataset} has no snapshot to clone (origin ${origin})` };
  }
  if (ctx.live.snapshots.has(origin) || ctx.plannedSnapshots.has(origin)) return { snapshot: origin };
  return { snapshot: null, problem: `origin ${origin} does not exist and nothing in this stack creates it` };
}

export const cloneKind: ResourceKind = {
  type: "backplane_clone",
  id: (c) => c.name as string,
  plan(r, state, ctx): Planned {
    const name = r.config.name as string;
    const base = baseChange(r, name);
    // a restore of this object did not finish: its name may be free (docs/restore.md)
    const pending = pendingRestoreProblem(state);
    if (pending) return { errors: [pending], change: noop(base, "restore pending") };
    const props = normalizeProperties(r.config.properties as Record<string, string> | undefined);
    const unsupported = capabilityProblems(ctx.live, poolOf(name), props, name, r.config.properties as Record<string, string> | undefined);
    if (unsupported.length > 0) return { errors: unsupported, change: noop(base, "cannot be set on this host") };
    const live = ctx.live.datasets.get(name);
    if (live) {
      if (!state && !ownedBy(live, ctx.lineage)) {
        const owner = markerOf(live);
        return {
          errors: [owner
            ? `${name} on ${ctx.live.host} belongs to another stack (backplane:managed=${owner}); backplane never takes over what it does not own`
            : `${name} already exists on ${ctx.live.host} and is not managed by backplane; adopt it with: backplane import ${r.address} ${name}`],
          change: noop(base, "not managed", null),
        };
      }
      const mismatch = guidMismatch(state, live.get("guid")?.value);
      if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
      const sets = Object.entries(props).filter(([k, v]) => live.get(k)?.value !== v || live.get(k)?.source.kind !== "local");
      const origin = live.get("origin")?.value;
      // origin_snapshot stays what was cloned (pinned): a newer snapshot never re-clones a clone that exists
      const after = { name, origin: r.config.origin, properties: props, promote: r.config.promote === true, ephemeral: r.config.ephemeral === true, origin_snapshot: state?.attributes.origin_snapshot ?? origin, guid: live.get("guid")?.value };
      // the ephemeral flag lives in state only (it decides how a removal is planned): a change
      // of it is an in-place change with nothing to run, shown as one
      const wasEphemeral = state?.attributes.ephemeral === true;
      const flag = state && wasEphemeral !== after.ephemeral ? [{ name: "ephemeral", before: String(wasEphemeral), after: String(after.ephemeral) }] : [];
      if (sets.length === 0 && flag.length === 0) return { errors: [], change: noop(base, "up to date", after) };
      return {
        errors: [],
        change: {
          ...base, action: "update", reason: sets.length > 0 ? "properties differ" : "the ephemeral flag changes (recorded in state; nothing runs on the host)", destructive: false,
          attrs: [...flag, ...sets.map(([k, v]) => ({ name: k, before: show(k, live.get(k)?.value), after: show(k, v) }))],
          steps: sets.length > 0 ? [{ command: argv("zfs", "set", ...sets.map(([k, v]) => `${k}=${v}`), name), label: "Modifying" }] : [],
          after,
        },
      };
    }
    const { snapshot, problem } = resolveOrigin(r.config.origin as string, ctx);
    if (!snapshot) return { errors: [problem!], change: noop(base, "origin missing", null) };
    const steps = [{
      command: argv("zfs", "clone", ...Object.entries(props).flatMap(([k, v]) => ["-o", `${k}=${v}`]), "-o", `${MANAGED_PROPERTY}=${ctx.lineage}`, snapshot, name),
      label: "Cloning",
    }];
    if (r.config.promote === true) steps.push({ command: argv("zfs", "promote", name), label: "Promoting" });
    steps.push(captureGuid(name));
    return {
      errors: [],
      change: {
        ...base, action: "create", reason: "does not exist", destructive: false,
        // the plan names the snapshot @latest resolved to; state pins it as origin_snapshot
        attrs: [{ name: "origin", after: snapshot }, ...(r.config.ephemeral === true ? [{ name: "ephemeral", after: "true" }] : []), ...Object.entries(props).map(([k, v]) => ({ name: k, after: show(k, v) }))],
        steps,
        after: { name, origin: r.config.origin, properties: props, promote: r.config.promote === true, ephemeral: r.config.ephemeral === true, origin_snapshot: snapshot },
      },
    };
  },
  planDelete(address, state, ctx): Planned {
    const base = deleteBase(address, state);
    // a restore of this object did not finish: its name may be free (docs/restore.md)
    const pending = pendingRestoreProblem(state);
    if (pending) return { errors: [pending], change: noop(base, "restore pending") };
    const live = ctx.live.datasets.get(state.id);
    if (!live) return { errors: [], change: alreadyGone(base) };
    if (!ownedBy(live, ctx.lineage)) return { errors: [`${state.id} on ${state.host} is no longer in the configuration but does not carry this stack's ownership marker; backplane does not destroy it (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    const mismatch = guidMismatch(state, live.get("guid")?.value);
    if (mismatch) return { errors: [mismatch], change: noop(base, "not the recorded object") };
    // Never `destroy -r`: what lives below the clone and is not removed by this plan first
    // (datasets, snapshots) was not made for this resource — refuse instead of taking it.
    const under = (id: string) => id.startsWith(`${state.id}/`) || id.startsWith(`${state.id}@`);
    const blocking = [...ctx.live.datasets.keys(), ...ctx.live.snapshots.keys()].filter((id) => under(id) && !ctx.removedIds.has(id)).sort();
    if (blocking.length > 0) return { errors: [`${state.id} on ${state.host} cannot be destroyed: ${blocking.join(", ")} ${blocking.length === 1 ? "lives" : "live"} under it and ${blocking.length === 1 ? "is" : "are"} not removed by this plan; backplane destroys only what it owns`], change: noop(base, "not empty") };
    // An ephemeral clone holds throw-away data (staging, CI): removing it loses nothing anyone
    // declared worth keeping, so it needs no --allow-destroy. The flag recorded at the last
    // apply decides (the configuration that declared it may be gone).
    const ephemeral = state.attributes.ephemeral === true;
    return { errors: [], change: { ...base, action: "delete", reason: ephemeral ? "no longer in the configuration (ephemeral: destroyed without --allow-destroy)" : "no longer in the configuration", attrs: [], destructive: !ephemeral, steps: [{ command: argv("zfs", "destroy", state.id), label: "Destroying" }], after: null } };
  },
  drift(address, state, live): Drift[] {
    return live.datasets.has(state.id) ? [] : [{ address, host: state.host, id: state.id, property: "(existence)", recorded: "exists", live: "missing" }];
  },
  importAttributes(id, live) {
    const l = live.datasets.get(id);
    const origin = l?.get("origin")?.value;
    if (!l || !origin || origin === "-") return null;
    return { name: id, origin, properties: {}, promote: false, origin_snapshot: origin, guid: l.get("guid")?.value };
  },
};
