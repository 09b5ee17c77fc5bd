/** The kinds the engine can plan and apply today. Others are refused at plan with a clear error. */
import type { ResourceKind } from "./kind.js";
import { datasetKind } from "./dataset.js";
import { poolKind } from "./pool.js";
import { snapshotKind, cloneKind } from "./snapshot.js";
import { wireguardInterfaceKind, wireguardPeerKind } from "./wireguard.js";
import { replicationKind } from "./replication.js";
import { snapshotPolicyKind, SNAPSHOT_POLICY } from "./snapshot-policy.js";
import type { DesiredResource } from "../model/desired.js";
import type { State } from "../model/state.js";

export const ENGINE_KINDS: ReadonlyMap<string, ResourceKind> = new Map(
  [poolKind, datasetKind, snapshotKind, cloneKind, wireguardInterfaceKind, wireguardPeerKind, replicationKind, snapshotPolicyKind].map((k) => [k.type, k]),
);

/** user properties the refresh must read: those any desired dataset mentions */
export function userPropertiesOf(configs: Iterable<Record<string, unknown>>): string[] {
  const names = new Set<string>();
  for (const c of configs) for (const k of Object.keys((c.user_properties as Record<string, string> | undefined) ?? {})) names.add(k);
  return [...names].sort();
}

/** The kinds that are ZFS objects (owned by a backplane:managed marker and a GUID). */
export const ZFS_KINDS: ReadonlySet<string> = new Set(["backplane_pool", "backplane_dataset", "backplane_snapshot", "backplane_clone"]);

/** Kinds with no object on a host (health checks): plan and apply pass them by, state never records them. */
export const CHECK_ONLY_KINDS: ReadonlySet<string> = new Set(["backplane_probe"]);

/**
 * Whether a refresh must read backplane's systemd timers: the configuration declares a
 * snapshot policy or a scheduled replication, or state records one (its removal is planned).
 */
export function hasTimers(graph: { resources: ReadonlyMap<string, DesiredResource> }, state: State | null): boolean {
  const scheduled = (type: string, attrs: Record<string, unknown>) => type === SNAPSHOT_POLICY || (type === "backplane_replication" && (attrs.every !== undefined || attrs.unit !== undefined));
  return [...graph.resources.values()].some((r) => r.mode === "resource" && scheduled(r.type, r.config))
    || Object.values(state?.resources ?? {}).some((r) => scheduled(r.type, r.attributes));
}
