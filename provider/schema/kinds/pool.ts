/** backplane_pool: adopt an existing pool or create one on listed, unused devices. */
import { z } from "zod";
import { type KindSpec, str, strList, strMap, bool, computed, checked, reportEach, stringMap, withMap } from "../attr.js";
import { poolNameProblem } from "../../zfs/names.js";
import { canonicalPropertyNames, propertyProblems } from "../../zfs/assignments.js";
import { canonicalPoolPropertyNames, poolPropertyProblems } from "../../zfs/pool-properties.js";
import { propertySpec } from "../../zfs/properties.js";
import { echo } from "../../model/echo.js";

function mountpointProblem(v: string): string | null {
  const c = propertySpec("mountpoint")!.check(v);
  return c.ok ? null : `mountpoint ${c.reason}`;
}

const VDEV_WORD = /^(mirror|raidz[123]?|draid[123]?(:[0-9a-z:]+)?|spare|log|cache|special|dedup)$/;
// A block device, or an absolute file path (ZFS takes files as vdevs; the ns tier uses them).
const DEVICE = /^\/[A-Za-z0-9_./:+-]+$/;

export const vdevToken = z.string().superRefine((t, ctx) => {
  if (VDEV_WORD.test(t)) return;
  if (t.length > 4095 || !DEVICE.test(t) || t.split("/").some((c) => c === ".." || c === ".")) {
    ctx.addIssue({ code: "custom", message: `'${echo(t)}' is neither a vdev type (mirror, raidz1-3, draid, spare, log, cache, special, dedup) nor an absolute device or file path` });
  }
});


export const pool: KindSpec = {
  type: "backplane_pool",
  kind: "resource",
  engineSupport: "full",
  description: "A ZFS pool. `adopt = true` takes an existing pool (asserting health); otherwise it is created on `vdevs`, which must be unused. Destroying a pool needs `--allow-destroy`.",
  attributes: {
    name: str("Pool name.", checked(poolNameProblem), { required: true, createOnly: true, example: "tank" }),
    vdevs: strList("Topology as `zpool create` takes it: device paths and vdev words.", vdevToken, { createOnly: true, example: '["mirror", "/dev/vdb", "/dev/vdc"]' }),
    adopt: bool("Adopt an existing pool instead of creating one.", { default: false }),
    properties: strMap("Pool properties (`-o` at create, `zpool set` when adopted), e.g. ashift, autotrim, comment; `feature@name`; checked by the zpool property catalogue.", z.record(z.string(), z.string()), { example: '{ ashift = "12" }' }),
    filesystem_properties: strMap("Properties of the root dataset (`-O`), checked by the ZFS property catalogue like any dataset's.", z.record(z.string(), z.string())),
    mountpoint: str("Mountpoint of the root dataset (`-m`).", checked(mountpointProblem)),
    guid: computed("Pool GUID."),
    health: computed("Health as zpool reports it (ONLINE, DEGRADED, ...)."),
  },
  refine(v, report) {
    const name = typeof v.name === "string" ? v.name : "";
    reportEach(report, "properties", poolPropertyProblems(stringMap(v.properties), { pool: name, create: v.adopt !== true }));
    reportEach(report, "filesystem_properties", propertyProblems(stringMap(v.filesystem_properties), { kind: "filesystem", target: "pool-root", ephemeral: false, userProperties: "not-read" }));
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
  canonical: (v) => withMap(withMap(v, "properties", canonicalPoolPropertyNames), "filesystem_properties", canonicalPropertyNames),
};
