/** data source backplane_host: what a host is and can do. */
import type { KindSpec } from "../attr.js";
import { computed } from "../attr.js";

export const hostFacts: KindSpec = {
  type: "backplane_host",
  kind: "data",
  engineSupport: "later",
  description: "Facts about the host of its provider: OpenZFS version, kernel, WireGuard implementation, pool features.",
  attributes: {
    zfs_version: computed("OpenZFS userland version (null for zfs-fuse)."),
    kernel: computed("Kernel release."),
    wireguard: computed("kernel, wireguard-go or none."),
    pool_features: computed("Enabled pool features per pool.", ["map", "string"]),
  },
};
