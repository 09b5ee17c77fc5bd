/** What every resource kind provides to the planner: pure functions of desired × state × live. */
import type { DesiredResource, HostConfig } from "../model/desired.js";
import type { HostLive } from "../model/live.js";
import type { Change, Drift } from "../model/plan.js";
import type { ResourceState } from "../model/state.js";

export interface PlanContext {
  lineage: string;
  /** the serial the state will have after this apply (names safety snapshots) */
  nextSerial: number;
  live: HostLive;
  /** snapshots (dataset@name) that this plan creates on this host */
  plannedSnapshots: Set<string>;
  /** pools this plan creates on this host */
  plannedPools: Set<string>;
  /** the operator asked to replace this resource (`--replace ADDR`, Terraform's -replace) */
  replaceRequested?: boolean;
  /** ZFS objects (pool, dataset, dataset@snap, clone) the configuration declares on this host */
  declaredIds: ReadonlySet<string>;
  /** volumes the configuration declares on this host (a replication of one made in this apply needs its type before it exists) */
  declaredVolumes?: ReadonlySet<string>;
  /** ZFS objects this plan removes on this host (recorded in state, gone from the configuration) */
  removedIds: ReadonlySet<string>;
  /** for a removal: the ancestor whose keep-aside moves this dataset along */
  keptAsideWith?: { address: string; id: string };
  /** a destroy plan (plan -destroy): what cannot go yet without losing data is left in place, not an error */
  destroying?: boolean;
  /** another host of the stack: its live facts (undefined: not read) and its configuration */
  otherHost?: (host: string) => { live: HostLive | undefined; config: HostConfig | undefined };
}

export interface Planned {
  change: Change;
  errors: string[];
}

export interface ResourceKind {
  type: string;
  /** the object's name on the host */
  id(config: Record<string, unknown>): string;
  plan(r: DesiredResource, state: ResourceState | undefined, ctx: PlanContext): Planned;
  planDelete(address: string, state: ResourceState, ctx: PlanContext): Planned;
  drift(address: string, state: ResourceState, live: HostLive): Drift[];
  /** what state records of an existing object `import` adopts (null: it does not exist); `config` is the code's for it */
  importAttributes(id: string, live: HostLive, config?: Record<string, unknown>): Record<string, unknown> | null;
}

export function baseChange(r: { address: string; type: string; host: string; path: string; dependsOn?: string[] }, id: string): Omit<Change, "action" | "reason" | "attrs" | "destructive" | "steps" | "after"> {
  return { address: r.address, type: r.type, host: r.host, id, path: r.path, dependsOn: r.dependsOn ?? [] };
}

type Base = Omit<Change, "action" | "reason" | "attrs" | "destructive" | "steps" | "after">;

/** A change that does nothing (up to date, or refused with an error beside it). */
export function noop(base: Base, reason: string, after: Record<string, unknown> | null = null): Change {
  return { ...base, action: "noop", reason, attrs: [], destructive: false, steps: [], after };
}

/** A removal whose object is already gone from the host: nothing to run, the record is dropped. */
export function alreadyGone(base: Base): Change {
  return { ...noop(base, "already gone from the host; removed from state"), removeFromState: true };
}

/** The base of a change for an object that left the configuration (known only from state). */
export function deleteBase(address: string, state: ResourceState): Base {
  return { address, type: state.type, host: state.host, id: state.id, path: "", dependsOn: [] };
}
