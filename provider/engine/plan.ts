/**
 * The planner: (desired graph, state, live facts) → Plan. Pure. Each kind decides its own
 * change; this module orders them, adds deletions of what left the configuration, collects
 * drift (state vs live) separately from proposed changes, and refuses kinds the engine
 * cannot apply yet.
 */
import { createHash } from "node:crypto";
import type { DesiredGraph } from "./load.js";
import { isUnknown } from "../model/desired.js";
import type { HostLive } from "../model/live.js";
import type { State } from "../model/state.js";
import { KNOWN_AFTER_APPLY, type Change, type Plan, type PlanError, type Drift, type NotManaged } from "../model/plan.js";
import { ENGINE_KINDS } from "../resources/index.js";
import { removeStrayPeers } from "../resources/wireguard.js";
import { planPsk, replanPsk } from "../resources/wireguard-psk.js";
import { hostFacts, hostRequirementProblems } from "../resources/host-facts.js";
import type { PlanContext } from "../resources/kind.js";
import { resourceKind } from "../schema/index.js";

export interface PlanInput {
  stack: string;
  graph: DesiredGraph;
  state: State | null;
  live: ReadonlyMap<string, HostLive>;
  /** lineage for a stack without state yet */
  newLineage: string;
  refreshOnly?: boolean;
  targets?: string[];
  /** addresses to replace even though nothing changed (a WireGuard interface: a new key) */
  replace?: string[];
}

/** Kinds whose replacement the engine knows how to do, and what it means for them. */
const REPLACEABLE: Record<string, string> = {
  backplane_wireguard_interface: "a new private key generated on the host; every peer that names it follows",
  backplane_dataset: "a safety snapshot, the dataset moved aside, a new one created (needs --allow-destroy)",
};

/**
 * What a saved plan remembers of a host: pool health, every dataset property read (value and
 * source) and the snapshots. Volatile counters (space used, pool free space) stay out, so a
 * fingerprint changes only when something a plan depends on changed.
 */
export function liveSummary(live: HostLive): Record<string, string> {
  const m: Record<string, string> = {};
  for (const [name, p] of live.pools) m[`pool ${name}`] = `${p.row.health} ${p.row.guid}`;
  for (const [name, props] of live.datasets) for (const [k, v] of props) m[`${name} ${k}`] = `${v.value} (${v.source.kind === "inherited" ? `inherited from ${v.source.from}` : v.source.kind})`;
  for (const [name, s] of live.snapshots) m[`snapshot ${name}`] = s.guid;
  return m;
}

/** A stable digest of what was read from a host; a saved plan is only applied against the same. */
export function fingerprint(live: HostLive): string {
  const s = liveSummary(live);
  return createHash("sha256").update(JSON.stringify(Object.keys(s).sort().map((k) => [k, s[k]]))).digest("hex");
}

function withDependencies(targets: string[], deps: (a: string) => string[]): Set<string> {
  const out = new Set<string>();
  const visit = (a: string) => {
    if (out.has(a)) return;
    out.add(a);
    for (const d of deps(a)) visit(d);
  };
  targets.forEach(visit);
  return out;
}

/** Replaces every `{unknown: "addr.attr"}` in a config by what `lookup` returns (undefined: keep it). */
function mapUnknowns(config: Record<string, unknown>, lookup: (addr: string, attr: string) => unknown): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (isUnknown(v)) {
      const dot = v.unknown.lastIndexOf(".");
      const value = lookup(v.unknown.slice(0, dot), v.unknown.slice(dot + 1));
      return value === undefined ? v : value;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(config) as Record<string, unknown>;
}

/**
 * Values known only after apply that the state already knows and that this plan does not
 * change (the resource is not created, replaced or re-keyed) are substituted; the rest stay
 * unknown and their changes are made during apply.
 */
export function resolveUnknowns(config: Record<string, unknown>, state: State | null, planned: readonly Change[], data: DataValues = new Map()): Record<string, unknown> {
  return mapUnknowns(config, (addr, attr) => {
    if (data.has(addr)) return data.get(addr)![attr];
    const change = planned.find((c) => c.address === addr);
    const changing = !change || change.action === "create" || change.action === "replace" || change.attrs.some((a) => a.name === attr && a.after === KNOWN_AFTER_APPLY);
    return changing ? undefined : state?.resources[addr]?.attributes[attr];
  });
}

/** During apply, once dependencies are done: every unknown the state now knows. */
export function resolveFromState(config: Record<string, unknown>, state: State, data: DataValues = new Map()): Record<string, unknown> {
  return mapUnknowns(config, (addr, attr) => (data.has(addr) ? data.get(addr)![attr] : state.resources[addr]?.attributes[attr]));
}

/** What each data source read, by address (data.backplane_host.x → its facts). */
export type DataValues = Map<string, Record<string, unknown>>;

/** Data sources are read from the refresh already made: no extra round trip. */
export function readDataSources(graph: DesiredGraph, live: ReadonlyMap<string, HostLive>): { values: DataValues; errors: PlanError[] } {
  const values: DataValues = new Map();
  const errors: PlanError[] = [];
  for (const r of graph.resources.values()) {
    if (r.mode !== "data" || r.type !== "backplane_host") continue;
    const l = live.get(r.host);
    if (!l) {
      errors.push({ address: r.address, host: r.host, message: `host ${r.host} was not refreshed` });
      continue;
    }
    values.set(r.address, { ...hostFacts(l) });
    for (const m of hostRequirementProblems(r.config, l)) errors.push({ address: r.address, host: r.host, message: m });
  }
  return { values, errors };
}

/** Re-plans one deferred change against the state as it is mid-apply. */
export function replanDeferred(graph: DesiredGraph, address: string, state: State, lives: ReadonlyMap<string, HostLive>, nextSerial: number): { change: Change; errors: string[] } {
  const r = graph.resources.get(address)!;
  const kind = ENGINE_KINDS.get(r.type)!;
  const ctx: PlanContext = { lineage: state.lineage, nextSerial, live: lives.get(r.host)!, plannedSnapshots: new Set(), plannedPools: new Set() };
  const planned = kind.plan({ ...r, config: resolveFromState(r.config, state, readDataSources(graph, lives).values) }, state.resources[address], ctx);
  if (planned.change.deferred) {
    planned.errors.push(`${address}: a value it needs is still unknown after its dependencies were applied`);
    return planned;
  }
  // A pair's leader waited for keys: it hands a new preshared key over now.
  const pair = graph.pskPairs.find((p) => p.leader.peer === address);
  if (!pair) return planned;
  const withPsk = replanPsk(pair, planned.change, state);
  return { change: withPsk.change, errors: [...planned.errors, ...withPsk.errors] };
}

export function makePlan(input: PlanInput): Plan {
  const { graph, state, live } = input;
  const lineage = state?.lineage ?? input.newLineage;
  const ctx = contexts(graph, live, lineage, (state?.serial ?? 0) + 1);
  const errors: PlanError[] = [];
  const drift: Drift[] = [];

  const data = readDataSources(graph, live);
  errors.push(...data.errors);
  const replace = new Set(input.replace ?? []);
  errors.push(...replaceProblems(graph, replace));
  const changes = proposedChanges(graph, state, data.values, replace, ctx, errors, drift);
  drift.push(...strayPeers(changes, live));
  // Preshared keys: the leader of each pair hands a new key over when the pair needs one.
  for (const pair of graph.pskPairs) drift.push(...planPsk(pair, changes, state, live));
  changes.push(...deletions(graph, state, ctx, errors, drift));
  const notManaged = notManagedOn(live, changes);

  let finalChanges = changes;
  if (input.targets && input.targets.length > 0) {
    const keep = withDependencies(input.targets, (a) => graph.resources.get(a)?.dependsOn ?? []);
    for (const t of input.targets) if (!graph.resources.has(t) && !state?.resources[t]) errors.push({ address: t, host: "-", message: "--target names no resource" });
    finalChanges = changes.filter((ch) => keep.has(ch.address));
  }
  if (input.refreshOnly) finalChanges = [];

  const liveFingerprints = Object.fromEntries([...live].map(([h, l]) => [h, fingerprint(l)]));
  return {
    stack: input.stack, lineage, stateSerial: state?.serial ?? null, liveFingerprints,
    changes: finalChanges, drift, errors, notManaged, refreshOnly: input.refreshOnly === true,
  };
}

/** The planning context of each refreshed host (null: the host was not refreshed). */
function contexts(graph: DesiredGraph, live: ReadonlyMap<string, HostLive>, lineage: string, nextSerial: number): (host: string) => PlanContext | null {
  const made = new Map<string, PlanContext>();
  return (host) => {
    const l = live.get(host);
    if (!l) return null;
    let c = made.get(host);
    if (!c) {
      const plannedSnapshots = new Set<string>();
      const plannedPools = new Set<string>();
      for (const r of graph.resources.values()) {
        if (r.host !== host) continue;
        if (r.type === "backplane_snapshot") plannedSnapshots.add(`${r.config.dataset}@${r.config.name}`);
        if (r.type === "backplane_pool") plannedPools.add(r.config.name as string);
      }
      made.set(host, (c = { lineage, nextSerial, live: l, plannedSnapshots, plannedPools }));
    }
    return c;
  };
}

function replaceProblems(graph: DesiredGraph, replace: ReadonlySet<string>): PlanError[] {
  const errors: PlanError[] = [];
  for (const a of replace) {
    const r = graph.resources.get(a);
    if (!r) errors.push({ address: a, host: "-", message: "--replace names no resource of this stack" });
    else if (!REPLACEABLE[r.type]) errors.push({ address: a, host: r.host, message: `--replace is not supported for ${r.type}; it is for ${Object.entries(REPLACEABLE).map(([t, what]) => `${t} (${what})`).join(", ")}` });
  }
  return errors;
}

/** Each declared resource's change, in dependency order, and the drift of what state records. */
function proposedChanges(graph: DesiredGraph, state: State | null, data: DataValues, replace: ReadonlySet<string>, ctx: (host: string) => PlanContext | null, errors: PlanError[], drift: Drift[]): Change[] {
  const changes: Change[] = [];
  for (const address of graph.order) {
    const r = graph.resources.get(address)!;
    if (r.mode === "data") continue; // read from the refresh
    const kind = ENGINE_KINDS.get(r.type);
    if (!kind) {
      const spec = resourceKind(r.type);
      errors.push({
        address, host: r.host,
        message: `${r.type} cannot be planned yet: the engine applies pools, datasets, snapshots, clones and WireGuard today${spec?.engineSupport === "later" ? " (replication and probes arrive with their own issues)" : ""}`,
      });
      continue;
    }
    const c = ctx(r.host);
    if (!c) {
      errors.push({ address, host: r.host, message: `host ${r.host} was not refreshed` });
      continue;
    }
    const recorded = state?.resources[address];
    const planned = kind.plan({ ...r, config: resolveUnknowns(r.config, state, changes, data) }, recorded, replace.has(address) ? { ...c, replaceRequested: true } : c);
    for (const m of planned.errors) errors.push({ address, host: r.host, message: m });
    changes.push(planned.change);
    if (recorded) drift.push(...kind.drift(address, recorded, c.live));
  }
  return changes;
}

/** Peers added by hand on a managed interface: drift, removed by apply. */
function strayPeers(changes: readonly Change[], live: ReadonlyMap<string, HostLive>): Drift[] {
  const drift: Drift[] = [];
  for (const ch of changes) {
    if (ch.type !== "backplane_wireguard_interface" || ch.action === "delete" || ch.action === "create") continue;
    const l = live.get(ch.host);
    if (l) drift.push(...removeStrayPeers(ch, changes.filter((p) => p.type === "backplane_wireguard_peer" && p.host === ch.host), l));
  }
  return drift;
}

/** Recorded in state, gone from the configuration: removed, deepest names first, pools last. */
function deletions(graph: DesiredGraph, state: State | null, ctx: (host: string) => PlanContext | null, errors: PlanError[], drift: Drift[]): Change[] {
  const changes: Change[] = [];
  const gone = Object.entries(state?.resources ?? {})
    .filter(([a]) => !graph.resources.has(a))
    .sort(([, x], [, y]) => (x.type === "backplane_pool" ? 1 : 0) - (y.type === "backplane_pool" ? 1 : 0) || y.id.length - x.id.length);
  for (const [address, recorded] of gone) {
    const kind = ENGINE_KINDS.get(recorded.type);
    const c = ctx(recorded.host);
    if (!kind || !c) {
      errors.push({ address, host: recorded.host, message: `cannot plan the removal of ${recorded.type} ${recorded.id}${c ? "" : ` (host ${recorded.host} is no longer declared; keep its provider until its resources are gone)`}` });
      continue;
    }
    const planned = kind.planDelete(address, recorded, c);
    for (const m of planned.errors) errors.push({ address, host: recorded.host, message: m });
    changes.push(planned.change);
    drift.push(...kind.drift(address, recorded, c.live).filter((d) => d.property === "(existence)"));
  }
  return changes;
}

/** What lives on managed pools that nothing manages: reported, never touched. */
function notManagedOn(live: ReadonlyMap<string, HostLive>, changes: readonly Change[]): NotManaged[] {
  const notManaged: NotManaged[] = [];
  const managedIds = new Set(changes.map((ch) => `${ch.host}\u0000${ch.id}`));
  for (const [host, l] of live) {
    const managedPools = changes.filter((ch) => ch.host === host && ch.type === "backplane_pool").map((ch) => ch.id);
    for (const name of l.datasets.keys()) {
      if (managedIds.has(`${host}\u0000${name}`)) continue;
      // Reported whoever made it, including what an earlier apply moved aside (backplane-pre-*).
      const inManagedPool = managedPools.some((p) => name === p || name.startsWith(`${p}/`));
      if (inManagedPool) notManaged.push({ host, kind: "dataset", id: name });
    }
  }
  return notManaged;
}
