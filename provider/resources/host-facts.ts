/** The backplane_host data source: facts from a host's refresh, and its preconditions. Pure. */
import type { HostLive } from "../model/live.js";
import { versionAtLeast } from "../zfs/properties.js";

export interface HostFacts {
  zfs_version: string;
  zfs_kmod: string;
  kernel: string;
  wireguard: "kernel" | "wireguard-go" | "none";
  pool_features: Record<string, string>;
}

export function hostFacts(live: HostLive): HostFacts {
  return {
    zfs_version: live.zfs.userland ?? "",
    zfs_kmod: live.zfs.kernel ?? "",
    kernel: live.kernel,
    wireguard: live.wg.implementation,
    pool_features: Object.fromEntries([...live.pools].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, p]) => [name, [...p.features].sort().join(",")])),
  };
}

/** Why the host does not meet the data source's preconditions (empty: it does). */
export function hostRequirementProblems(config: Record<string, unknown>, live: HostLive): string[] {
  const problems: string[] = [];
  const min = config.min_zfs_version as string | undefined;
  if (min && !versionAtLeast(live.zfs.userland, min)) {
    problems.push(`${live.host} must run OpenZFS ${min} or newer; it runs ${live.zfs.userland ? `OpenZFS ${live.zfs.userland}` : `a non-OpenZFS ZFS (${live.zfs.raw})`}`);
  }
  if (config.require_wireguard === true && live.wg.implementation === "none") {
    problems.push(`${live.host} has neither kernel WireGuard nor wireguard-go`);
  }
  return problems;
}
