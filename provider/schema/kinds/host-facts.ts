/** data source backplane_host: what a host is and can do, read in the plan's refresh. */
import { z } from "zod";
import type { KindSpec } from "../attr.js";
import { bool, computed, str } from "../attr.js";

export const hostFacts: KindSpec = {
  type: "backplane_host",
  kind: "data",
  engineSupport: "full",
  description:
    "Facts about the host of its provider, read in the same round trip as the rest of the refresh: OpenZFS version, kernel, WireGuard implementation, pool features. " +
    "Other resources may refer to them; `min_zfs_version` and `require_wireguard` turn them into preconditions checked at plan, before any command changes the host.",
  attributes: {
    min_zfs_version: str("Refuse the plan unless the host runs at least this OpenZFS version (zfs-fuse counts as older than any).", z.string().regex(/^\d{1,6}(\.\d{1,6}){0,2}$/, { message: "must be a version like 2.2 or 2.1.5" }), { example: "2.2" }),
    require_wireguard: bool("Refuse the plan unless the host has kernel WireGuard or wireguard-go.", { default: false }),
    zfs_version: computed("OpenZFS userland version (empty for zfs-fuse and other non-OpenZFS ZFS)."),
    zfs_kmod: computed("OpenZFS kernel module version (empty when there is none)."),
    kernel: computed("Kernel release (`uname -r`)."),
    wireguard: computed("kernel, wireguard-go or none."),
    pool_features: computed("Enabled or active features per imported pool, comma-separated and sorted.", ["map", "string"]),
  },
};
