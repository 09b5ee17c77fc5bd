/**
 * The planner: (desired graph, state, live facts) → Plan. Pure. Each kind decides its own
 * change; this module orders them, adds deletions of what left the configuration, collects
 * drift (state vs live) separately from proposed changes, and refuses kinds the engine
 * cannot apply yet.
 */
import { createHash } from "node:crypto";
import { CycleError, type DesiredGraph } from "./load.js";
import { deletionOrder, type DeletionOrder } from "./delete-order.js";
import { isUnknown, type DesiredResource } from "../model/desired.js";
import type { HostLive, SnapshotRow, UnreadHost } from "../model/live.js";
import type { ResourceState, State } from "../model/state.js";
import { KNOWN_AFTER_APPLY, type Change, type HostError, type Plan, type PlanError, type Drift, type NotManaged, type Sync } from "../model/plan.js";
import { ENGINE_KINDS, ZFS_KINDS, CHECK_ONLY_KINDS } from "../resources/index.js";
import { removeStrayPeers } from "../resources/wireguard.js";
import { planPsk, replanPsk } from "../resources/wireguard-psk.js";
import { hostFacts, hostRequirementProblems } from "../resources/host-facts.js";
import type { PlanContext } from "../resources/kind.js";
import { resourceKind } from "../schema/index.js";
import { planSync, replicationOwns, replicationTopologyProblems, REPLICATION } from "../resources/replication.js";
import { policyOwns, scheduleTopologyProblems, SNAPSHOT_POLICY } from "../resources/snapshot-policy.js";

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
  /** hosts whose refresh failed: their resources are not planned, the plan says so per host */
  unread?: readonly UnreadHost[];
  /** epoch seconds the plan is made at (replication lag); default: now */
  now?: number;
  /**
   * Terraform's plan -destroy: every recorded resource leaves, as if the code declared none
   * (the hosts stay, to be read). The removals are planned by the same rules as any other:
   * owned objects only, reverse dependency order, datasets kept aside, --allow-destroy at apply.
   */
  destroy?: boolean;
}

/**
 * What is wrong with the configuration as a whole, known without reading a host (what
 * `backplane validate` reports besides the loader's per-resource checks): schedules that
 * overlap or run on a replication's target, replications that collide.
 */
export function configurationProblems(graph: DesiredGraph): PlanError[] {
  return [...scheduleTopologyProblems(graph), ...replicationTopologyProblems(graph)];
}

/**
 * What a destroy removes: every recorded resource, or with -target the targets and
 * everything that depends on them (in the code or, for what the code no longer declares,
 * in the dependencies state recorded), transitively — as Terraform's destroy -target does.
 */
export function destroySet(graph: DesiredGraph, state: State | null, targets: readonly string[] | undefined): Set<string> {
  const recorded = Object.keys(state?.resources ?? {});
  if (!targets || targets.length === 0) return new Set([...recorded, ...graph.resources.keys()]);
  const dependents = new Map<string, string[]>();
  const edge = (from: string, on: string) => dependents.set(on, [...(dependents.get(on) ?? []), from]);
  for (const r of graph.resources.values()) for (const d of r.dependsOn) edge(r.address, d);
  for (const [a, r] of Object.entries(state?.resources ?? {})) for (const d of r.dependencies ?? []) edge(a, d);
  return withDependencies([...targets], (a) => dependents.get(a) ?? []);
}

/**
 * The graph a destroy plans against: the stack's hosts and backend, and of its resources
 * only those the destroy keeps — the removed ones are planned as if the code no longer
 * declared them, by the same rules as any removal (owned objects only, reverse dependency
 * order, datasets kept aside; a dataset is carried by its parent's keep-aside only when the
 * parent leaves too).
 */
export function destroyGraph(graph: DesiredGraph, removed: ReadonlySet<string>): DesiredGraph {
  const resources = new Map([...graph.resources].filter(([a]) => !removed.has(a)));
  return { ...graph, resources, order: graph.order.filter((a) => resources.has(a)), pskPairs: graph.pskPairs.filter((p) => [p.leader, p.follower].every((x) => resources.has(x.peer) && resources.has(x.iface))) };
}

/** A destroy may not remove what the code marks prevent_destroy and state records (Terraform refuses it at plan). */
function preventedDestroys(graph: DesiredGraph, state: State | null, removed: ReadonlySet<string>): PlanError[] {
  return [...removed].filter((a) => state?.resources[a]).map((a) => graph.resources.get(a)).filter((r): r is DesiredResource => !!r && r.preventDestroy)
    .map((r) => ({ address: r.address, host: r.host, message: "lifecycle.prevent_destroy is set: a destroy may not remove it (remove the flag from the code first)" }));
}

/**
 * Whether a resource is left out because its host could not be read (noting it, for the
 * host's error) — rather than an error of its own.
 */
type SkipUnread = (host: string, address: string) => boolean;

/** The hosts not read, each with what was left out of the plan because of it. */
function unreadHosts(unread: readonly UnreadHost[]): { skip: SkipUnread; hostErrors: () => HostError[] } {
  const notPlanned = new Map(unread.map((u) => [u.host, new Set<string>()]));
  return {
    skip: (host, address) => {
      const left = notPlanned.get(host);
      left?.add(address);
      return left !== undefined;
    },
    hostErrors: () => [...unread].sort((a, b) => a.host.localeCompare(b.host)).map((u) => ({ host: u.host, message: u.message, notPlanned: [...notPlanned.get(u.host)!].sort() })),
  };
}

/** Kinds whose replacement the engine knows how to do, and what it means for them. */
const REPLACEABLE: Record<string, string> = {
  backplane_wireguard_interface: "a new private key generated on the host; every peer that names it follows",
  backplane_dataset: "a safety snapshot, the dataset moved aside, a new one created (needs --allow-destroy)",
};

/**
 * What a saved plan remembers of a host: pool health, every dataset property read (value and
 * source), the snapshots and their markers, and WireGuard. Volatile counters (space used, pool
 * free space, handshakes, traffic) stay out, so a fingerprint changes only when something a
 * plan depends on changed.
 */
export function liveSummary(live: HostLive): Record<string, string> {
  const m: Record<string, string> = {};
  for (const [name, p] of live.pools) m[`pool ${name}`] = `${p.row.health} ${p.row.guid}`;
  for (const [name, props] of live.datasets) for (const [k, v] of props) m[`${name} ${k}`] = `${v.value} (${v.source.kind === "inherited" ? `inherited from ${v.source.from}` : v.source.kind})`;
  for (const [name, s] of live.snapshots) m[`snapshot ${name}`] = `${s.guid}${s.marker ? ` managed=${s.marker}` : ""}`;
  // WireGuard: keys, ports, peers and their allowed IPs, preshared-key fingerprints, addresses,
  // links, persistence. Not handshakes, counters or a peer's last seen endpoint (roaming).
  m["wg implementation"] = live.wg.implementation;
  for (const [name, i] of live.wg.interfaces) {
    m[`wg ${name}`] = `${i.publicKey} port=${i.listenPort} fwmark=${i.fwmark} persisted=${live.wg.persisted.has(name)}`;
    for (const [key, p] of i.peers) m[`wg ${name} peer ${key}`] = `allowed=${p.allowedIps.join(",")} keepalive=${p.keepalive} psk=${p.presharedKeyFingerprint ?? (p.hasPresharedKey ? "yes" : "none")}`;
  }
  for (const [dev, addrs] of live.wg.addresses) if (live.wg.interfaces.has(dev)) m[`ip ${dev}`] = [...addrs].sort().join(",");
  for (const [dev, l] of live.wg.links) if (live.wg.interfaces.has(dev)) m[`link ${dev}`] = `mtu=${l.mtu} up=${l.up}`;
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
export function readDataSources(graph: DesiredGraph, live: ReadonlyMap<string, HostLive>, skip: SkipUnread = () => false): { values: DataValues; errors: PlanError[] } {
  const values: DataValues = new Map();
  const errors: PlanError[] = [];
  for (const r of graph.resources.values()) {
    if (r.mode !== "data" || r.type !== "backplane_host") continue;
    const l = live.get(r.host);
    if (!l) {
      if (!skip(r.host, r.address)) errors.push({ address: r.address, host: r.host, message: `host ${r.host} was not refreshed` });
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
  const ctx = contextFor(graph, state, lives.get(r.host)!, state.lineage, nextSerial, lives);
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
  const { state, live } = input;
  // a destroy plans the removal of its set; with -target, the set is what the targets take along
  const removed = input.destroy ? destroySet(input.graph, state, input.targets) : null;
  const graph = removed ? destroyGraph(input.graph, removed) : input.graph;
  const targets = removed && input.targets?.length ? [...removed] : input.targets;
  const lineage = state?.lineage ?? input.newLineage;
  const ctx = contexts(graph, state, live, lineage, (state?.serial ?? 0) + 1, input.destroy === true);
  const errors: PlanError[] = [];
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const drift: Drift[] = [];
  const unread = unreadHosts(input.unread ?? []);

  const data = readDataSources(graph, live, unread.skip);
  errors.push(...data.errors);
  const replace = new Set(input.replace ?? []);
  if (removed) errors.push(...preventedDestroys(input.graph, state, removed));
  errors.push(...replaceProblems(graph, replace));
  errors.push(...configurationProblems(graph));
  const changes = proposedChanges(graph, state, data.values, replace, ctx, errors, drift, unread.skip);
  drift.push(...strayPeers(changes, live));
  // Preshared keys: the leader of each pair hands a new key over when the pair needs one.
  for (const pair of graph.pskPairs) drift.push(...planPsk(pair, changes, state, live));
  changes.push(...deletions(graph, state, ctx, changes, errors, drift, unread.skip));
  const syncs = replicationSyncs(graph, changes, live, lineage, now, errors, unread.skip);
  const notManaged = notManagedOn(live, changes, replicationTargets(graph), scheduledSnapshots(graph, lineage));

  let finalChanges = changes;
  if (targets && targets.length > 0) {
    // a target takes what it needs along: its dependencies; for a removal, the removals that
    // must come first and, for a dataset kept aside, the descendants its move carries
    const byAddress = new Map(changes.map((c) => [c.address, c]));
    const keep = withDependencies(targets, (a) => {
      const c = byAddress.get(a);
      const carried = c?.keptAside ? changes.filter((x) => x.movedAsideWith === c.id && x.host === c.host).map((x) => x.address) : [];
      return [...(graph.resources.get(a)?.dependsOn ?? []), ...(c?.action === "delete" ? c.dependsOn : []), ...carried];
    });
    for (const t of input.targets ?? []) if (!input.graph.resources.has(t) && !state?.resources[t]) errors.push({ address: t, host: "-", message: "--target names no resource" });
    finalChanges = changes.filter((ch) => keep.has(ch.address));
  }
  let finalSyncs = targets && targets.length > 0 ? syncs.filter((s) => finalChanges.some((c) => c.address === s.address)) : syncs;
  if (input.refreshOnly) {
    // nothing runs on a host; what apply still does is drop the records of objects that are
    // gone from their hosts and from the code (the noops that say so)
    finalChanges = finalChanges.filter((c) => c.action === "noop" && c.removeFromState === true);
    finalSyncs = finalSyncs.map((s) => ({ ...s, run: null, pruneTarget: null }));
  }

  const liveFingerprints = Object.fromEntries([...live].map(([h, l]) => [h, fingerprint(l)]));
  return {
    stack: input.stack, lineage, stateSerial: state?.serial ?? null, liveFingerprints,
    changes: finalChanges, drift, errors, hostErrors: unread.hostErrors(), notManaged, refreshOnly: input.refreshOnly === true,
    ...(input.destroy ? { destroy: true } : {}),
    ...(finalSyncs.length > 0 ? { syncs: finalSyncs } : {}),
  };
}

/**
 * Each replication's transfer, from both hosts' snapshots. Not planned when either host was
 * not read or the replication's own change was refused; a conflict (a diverged target) is an
 * error of the plan, with its evidence.
 */
function replicationSyncs(graph: DesiredGraph, changes: readonly Change[], live: ReadonlyMap<string, HostLive>, lineage: string, now: number, errors: PlanError[], skip: SkipUnread): Sync[] {
  const syncs: Sync[] = [];
  for (const r of graph.resources.values()) {
    if (r.type !== REPLICATION || r.mode !== "resource") continue;
    const targetHost = r.config.target_host as string;
    const [source, target] = [live.get(r.host), live.get(targetHost)];
    if (!source || !target) {
      if (!target && source) skip(targetHost, r.address);
      continue;
    }
    if (errors.some((e) => e.address === r.address) || !changes.some((c) => c.address === r.address)) continue;
    const declaredSnapshots = new Set([...graph.resources.values()].filter((x) => x.host === r.host && x.type === "backplane_snapshot").map((x) => `${x.config.dataset as string}@${x.config.name as string}`));
    const planned = planSync({ address: r.address, path: r.path, config: r.config, lineage, source, target, targetConfig: graph.hosts.get(targetHost)!, now, declaredSnapshots });
    if (planned.error) errors.push({ address: r.address, host: r.host, message: planned.error });
    else syncs.push(planned.sync);
  }
  return syncs;
}

/** What the kinds need to know of one host beyond its live facts: what this plan declares and removes there. */
export function contextFor(graph: DesiredGraph, state: State | null, l: HostLive, lineage: string, nextSerial: number, lives?: ReadonlyMap<string, HostLive>): PlanContext {
  const host = l.host;
  const plannedSnapshots = new Set<string>();
  const plannedPools = new Set<string>();
  const declaredIds = new Set<string>();
  for (const r of graph.resources.values()) {
    if (r.host !== host || r.mode !== "resource") continue;
    if (r.type === "backplane_snapshot") plannedSnapshots.add(`${r.config.dataset}@${r.config.name}`);
    if (r.type === "backplane_pool") plannedPools.add(r.config.name as string);
    if (ZFS_KINDS.has(r.type)) declaredIds.add(ENGINE_KINDS.get(r.type)!.id(r.config));
  }
  const removedIds = new Set(Object.entries(state?.resources ?? {}).filter(([a, s]) => s.host === host && ZFS_KINDS.has(s.type) && !graph.resources.has(a)).map(([, s]) => s.id));
  const declaredVolumes = new Set([...graph.resources.values()].filter((r) => r.host === host && r.type === "backplane_dataset" && r.config.type === "volume").map((r) => r.config.name as string));
  return { lineage, nextSerial, live: l, plannedSnapshots, plannedPools, declaredIds, declaredVolumes, removedIds, otherHost: (h) => ({ live: lives?.get(h), config: graph.hosts.get(h) }) };
}

/** The planning context of each refreshed host (null: the host was not refreshed). */
function contexts(graph: DesiredGraph, state: State | null, live: ReadonlyMap<string, HostLive>, lineage: string, nextSerial: number, destroying: boolean): (host: string) => PlanContext | null {
  const made = new Map<string, PlanContext>();
  return (host) => {
    const l = live.get(host);
    if (!l) return null;
    if (!made.has(host)) made.set(host, { ...contextFor(graph, state, l, lineage, nextSerial, live), ...(destroying ? { destroying } : {}) });
    return made.get(host)!;
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
function proposedChanges(graph: DesiredGraph, state: State | null, data: DataValues, replace: ReadonlySet<string>, ctx: (host: string) => PlanContext | null, errors: PlanError[], drift: Drift[], skip: SkipUnread): Change[] {
  const changes: Change[] = [];
  for (const address of graph.order) {
    const r = graph.resources.get(address)!;
    if (r.mode === "data") continue; // read from the refresh
    if (CHECK_ONLY_KINDS.has(r.type)) continue; // no object on a host: `backplane probe` evaluates it
    const kind = ENGINE_KINDS.get(r.type);
    if (!kind) {
      const spec = resourceKind(r.type);
      errors.push({
        address, host: r.host,
        message: `${r.type} cannot be planned yet: the engine applies pools, datasets, snapshots, clones, WireGuard and replication today${spec?.engineSupport === "later" ? " (it arrives with its own issue)" : ""}`,
      });
      continue;
    }
    const c = ctx(r.host);
    if (!c) {
      if (!skip(r.host, address)) errors.push({ address, host: r.host, message: `host ${r.host} was not refreshed` });
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

/**
 * Recorded in state, gone from the configuration: removed after everything that depends on
 * them (delete-order.ts), each change waiting for those removals, across hosts too.
 */
function deletions(graph: DesiredGraph, state: State | null, ctx: (host: string) => PlanContext | null, proposed: readonly Change[], errors: PlanError[], drift: Drift[], skip: SkipUnread): Change[] {
  const changes: Change[] = [];
  const gone = Object.entries(state?.resources ?? {}).filter(([a]) => !graph.resources.has(a)).map(([address, s]) => ({ address, state: s }));
  let ordered: DeletionOrder;
  try {
    ordered = deletionOrder(gone);
  } catch (e) {
    if (!(e instanceof CycleError)) throw e;
    errors.push({ address: e.cycle[0] ?? "-", host: "-", message: `cannot order the removals: they depend on each other in a cycle (${e.cycle.join(" -> ")})` });
    return [];
  }
  for (const address of ordered.order) {
    const recorded = state!.resources[address]!;
    const kind = ENGINE_KINDS.get(recorded.type);
    const c = ctx(recorded.host);
    if (!c && skip(recorded.host, address)) continue;
    if (!kind || !c) {
      errors.push({ address, host: recorded.host, message: `cannot plan the removal of ${recorded.type} ${recorded.id}${c ? "" : ` (host ${recorded.host} is no longer declared; keep its provider until its resources are gone)`}` });
      continue;
    }
    const refused = removalRefusal(address, recorded, graph, state!, proposed);
    if (refused) {
      errors.push({ address, host: recorded.host, message: refused });
      continue;
    }
    const carrier = ordered.carriedBy.get(address);
    const planned = kind.planDelete(address, recorded, carrier ? { ...c, keptAsideWith: { address: carrier, id: state!.resources[carrier]!.id } } : c);
    for (const m of planned.errors) errors.push({ address, host: recorded.host, message: m });
    changes.push({ ...planned.change, dependsOn: ordered.waitFor.get(address) ?? [] });
    drift.push(...kind.drift(address, recorded, c.live).filter((d) => d.property === "(existence)"));
  }
  return changes;
}

/**
 * A removal that would take what the configuration still holds: the same object declared
 * (or recorded) under another address — a renamed resource, which the new address adopts by
 * its marker — or a dataset whose ancestor this plan replaces (both would be moved aside to
 * the same place). Refused with what to do instead.
 */
function removalRefusal(address: string, recorded: ResourceState, graph: DesiredGraph, state: State, proposed: readonly Change[]): string | null {
  if (!ZFS_KINDS.has(recorded.type)) return null;
  const declared = [...graph.resources.values()].find((r) => r.host === recorded.host && ZFS_KINDS.has(r.type) && ENGINE_KINDS.get(r.type)!.id(r.config) === recorded.id);
  if (declared) return `${recorded.id} on ${recorded.host} is declared again as ${declared.address}: backplane does not remove an object the configuration still holds. To move its record, run: backplane state rm ${address}; backplane import ${declared.address} ${recorded.id}`;
  const twin = Object.entries(state.resources).find(([a, r]) => a !== address && r.host === recorded.host && r.id === recorded.id && ZFS_KINDS.has(r.type) && graph.resources.has(a));
  if (twin) return `${recorded.id} on ${recorded.host} is also recorded as ${twin[0]}, which the configuration keeps`;
  const replaced = proposed.find((c) => c.action === "replace" && c.keptAside && c.host === recorded.host && recorded.id.startsWith(`${c.id}/`));
  if (replaced) return `${recorded.id} on ${recorded.host} is removed while its ancestor ${replaced.id} is replaced: both would be moved aside to the same place; apply the removal first (plan with --target ${address}), then the replacement`;
  return null;
}

/** Each host's replication targets (host → datasets), from the configuration. */
function replicationTargets(graph: DesiredGraph): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of graph.resources.values()) {
    if (r.type !== REPLICATION) continue;
    const h = r.config.target_host as string;
    m.set(h, [...(m.get(h) ?? []), r.config.target_dataset as string]);
  }
  return m;
}

/** Snapshots the stack's schedules took and prune themselves (a policy's, a replication's on its source): not "not managed". */
function scheduledSnapshots(graph: DesiredGraph, lineage: string): (host: string, s: SnapshotRow) => boolean {
  const owners = [...graph.resources.values()].filter((r) => r.mode === "resource" && (r.type === SNAPSHOT_POLICY || r.type === REPLICATION));
  return (host, s) => owners.some((r) => r.host === host && (r.type === SNAPSHOT_POLICY ? policyOwns : replicationOwns)(r.config, lineage, s));
}

/** What lives under anything the stack manages (pool, dataset, clone) that nothing manages: reported, never touched. */
function notManagedOn(live: ReadonlyMap<string, HostLive>, changes: readonly Change[], received: ReadonlyMap<string, readonly string[]>, scheduled: (host: string, s: SnapshotRow) => boolean): NotManaged[] {
  const notManaged: NotManaged[] = [];
  const managedIds = new Set(changes.map((ch) => `${ch.host}\u0000${ch.id}`));
  for (const [host, l] of live) {
    // a replication target and its snapshots are the replication's: what it received is not left alone, it is kept in step
    const isReceived = (name: string) => (received.get(host) ?? []).some((t) => name === t || name.startsWith(`${t}@`) || name.startsWith(`${t}/`));
    const roots = changes.filter((ch) => ch.host === host && ["backplane_pool", "backplane_dataset", "backplane_clone"].includes(ch.type)).map((ch) => ch.id);
    for (const name of l.datasets.keys()) {
      if (managedIds.has(`${host}\u0000${name}`) || isReceived(name)) continue;
      // Reported whoever made it, including what an earlier apply moved aside (backplane-pre-*).
      if (roots.some((p) => name.startsWith(`${p}/`))) notManaged.push({ host, kind: "dataset", id: name });
    }
    // snapshots of managed datasets that nothing manages (safety snapshots included: they are the operator's to remove)
    for (const [name, row] of l.snapshots) {
      if (managedIds.has(`${host}\u0000${name}`) || isReceived(name) || scheduled(host, row)) continue;
      if (roots.some((p) => name.startsWith(`${p}@`) || name.startsWith(`${p}/`))) notManaged.push({ host, kind: "snapshot", id: name });
    }
  }
  return notManaged;
}
