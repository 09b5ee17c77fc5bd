/** backplane_pool: adopt an existing pool or create one on listed, unused devices. */
import { z } from "zod";
import { type KindSpec, str, strList, strMap, bool, computed, checked } from "../attr.js";
import { poolNameProblem } from "../../zfs/names.js";

const VDEV_WORD = /^(mirror|raidz[123]?|draid[123]?(:[0-9a-z:]+)?|spare|log|cache|special|dedup)$/;
// A block device, or an absolute file path (ZFS takes files as vdevs; the ns tier uses them).
const DEVICE = /^\/[A-Za-z0-9_./:+-]+$/;

export const vdevToken = z.string().superRefine((t, ctx) => {
  if (VDEV_WORD.test(t)) return;
  if (!DEVICE.test(t) || t.split("/").some((c) => c === ".." || c === ".")) {
    ctx.addIssue({ code: "custom", message: `'${t}' is neither a vdev type (mirror, raidz1-3, draid, spare, log, cache, special, dedup) nor an absolute device or file path` });
  }
});

const poolPropName = z.string().regex(/^[a-z][a-z0-9_]*(@[a-z0-9_]+)?$/, { message: "pool property names are lowercase words (feature@name allowed)" });
const propValue = z.string().regex(/^[^\x00-\x1f\x7f]*$/, { message: "must not contain control characters" }).max(8191);

export const pool: KindSpec = {
  type: "backplane_pool",
  kind: "resource",
  engineSupport: "full",
  description: "A ZFS pool. `adopt = true` takes an existing pool (asserting health); otherwise it is created on `vdevs`, which must be unused. Destroying a pool needs `--allow-destroy`.",
  attributes: {
    name: str("Pool name.", checked(poolNameProblem), { required: true, createOnly: true, example: "tank" }),
    vdevs: strList("Topology as `zpool create` takes it: device paths and vdev words.", vdevToken, { createOnly: true, example: '["mirror", "/dev/vdb", "/dev/vdc"]' }),
    adopt: bool("Adopt an existing pool instead of creating one.", { default: false }),
    properties: strMap("Pool properties (`-o`), e.g. ashift, autotrim.", z.record(poolPropName, propValue), { example: '{ ashift = "12" }' }),
    filesystem_properties: strMap("Properties of the root dataset (`-O`).", z.record(z.string(), propValue)),
    mountpoint: str("Mountpoint of the root dataset (`-m`).", z.string().regex(/^(\/[^\x00-\x1f\x7f]*|none|legacy)$/, { message: "must be an absolute path, none or legacy" })),
    guid: computed("Pool GUID."),
    health: computed("Health as zpool reports it (ONLINE, DEGRADED, ...)."),
  },
  refine(v, report) {
    const vdevs = v.vdevs as string[] | undefined;
    if (!v.adopt && (!vdevs || vdevs.length === 0)) report("vdevs", "a pool that is not adopted needs at least one device in vdevs");
    if (vdevs && vdevs.length > 0 && !vdevs.some((t) => t.startsWith("/"))) report("vdevs", "vdevs names no device");
    if (vdevs) {
      const seen = new Set<string>();
      for (const t of vdevs) {
        if (t.startsWith("/") && seen.has(t)) report("vdevs", `device ${t} is listed twice`);
        seen.add(t);
      }
    }
  },
};
