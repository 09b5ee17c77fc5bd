/**
 * The hosts and the stack the comparative benchmarks share: each host one pool (`b<host>`,
 * mountpoint=none) holding D datasets with three properties, made by backplane or by a peer,
 * and cleared back to an empty disk between runs. bench/scale.mts and bench/cli.mts.
 */
import { execa } from "execa";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { LabDescription, LabHost } from "../test/lab/hosts.js";
import { project, ROOT } from "../test/e2e/helpers.js";
import { nsUp } from "../test/lab/ns.js";
import { batchScript } from "../provider/engine/batch.js";
import { refreshItems } from "../provider/engine/live.js";

/** An ns lab of its own for a benchmark (the peers' tools and the ns packages installed first). */
export async function benchLab(dir: string, hosts: number, diskMiB?: number): Promise<LabDescription> {
  for (const set of ["--bench", "--ns"]) await execa("bash", [join(ROOT, "test", "lab", "install-deps.sh"), set], { stdio: "inherit" });
  return nsUp({ hosts, dir, log: (l) => console.log(l), diskMiB });
}

/** The script a refresh sends (no timings), as the floor runs it over bare ssh. */
export const refreshScript = () => batchScript(refreshItems([]), randomBytes(8).toString("hex"), { timed: false });

/** ssh options for a connection from nothing: no ControlMaster, none reused (the floors). */
export const coldSsh = (sshConfig: string) => `-F ${sshConfig} -o ControlMaster=no -o ControlPath=none`;

/** what every dataset sets (zfs-fuse knows all three: no zstd, records ≤ 128K) */
export const PROPS = { compression: "gzip", atime: "off", recordsize: "64K" };
/** the same for Ansible, which compares `zfs get -Hp` values: recordsize in bytes */
export const ANSIBLE_PROPS = { compression: "gzip", atime: "off", recordsize: "65536" };

export const poolOf = (h: LabHost) => `b${h.name}`;

export function benchHosts(labDir: string) {
  const sshConfig = join(labDir, "ssh_config");

  async function onHost(h: LabHost, script: string): Promise<string> {
    const r = await execa("ssh", ["-F", sshConfig, h.name, script], { reject: false, timeout: 600_000 });
    if (r.exitCode !== 0) throw new Error(`${h.name}: ${script}: exit ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  }

  return {
    sshConfig,
    onHost,
    /** Every pool on the hosts destroyed and their first disk cleared: the "from nothing" of an apply. */
    async reset(hosts: LabHost[]): Promise<void> {
      await Promise.all(hosts.map((h) => onHost(h,
        `for p in $(zpool list -H -o name); do zpool destroy -f "$p" || exit 1; done; zpool labelclear -f ${h.disks[0]} 2>/dev/null; wipefs -qa ${h.disks[0]} 2>/dev/null; true`)));
    },
    /** The hosts hold the pool and D datasets with the properties (whoever made them). */
    async verify(hosts: LabHost[], d: number, who: string): Promise<void> {
      await Promise.all(hosts.map(async (h) => {
        const names = (await onHost(h, `zfs list -H -o name -r ${poolOf(h)}`)).trim().split("\n");
        if (names.length !== d + 1) throw new Error(`${who}: ${h.name} has ${names.length - 1} datasets under ${poolOf(h)}, expected ${d}`);
        const v = (await onHost(h, `zfs get -H -o value compression,atime,recordsize ${poolOf(h)}/d0`)).trim().split("\n");
        if (v.join(",") !== "gzip,off,64K") throw new Error(`${who}: ${h.name}: ${poolOf(h)}/d0 has ${v.join(",")}`);
      }));
    },
  };
}

/** The backplane stack of H hosts × D datasets, a fresh project (and state) each call. */
export async function benchStack(hosts: LabHost[], d: number, name = `bench-scale-${hosts.length}x${d}`): Promise<string> {
  return project(name, `
for (const name of ${JSON.stringify(hosts.map((h) => h.name))}) {
  const hi = need(inv, name);
  const h = new Host(stack, name, hostProps(hi));
  const pool = h.pool("pool", { name: "b" + name, vdevs: [hi.disks[0]!], filesystemProperties: { mountpoint: "none" } });
  for (let i = 0; i < ${d}; i++) h.dataset("d" + i, { name: "b" + name + "/d" + i, properties: ${JSON.stringify(PROPS)}, dependsOn: [pool] });
}`);
}
