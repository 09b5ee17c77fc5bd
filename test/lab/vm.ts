/**
 * vm tier: qemu guests (TCG) from the cached image, one per host, joined on a bridge that
 * lives inside the lab's own network namespace. SSH reaches each guest through a qemu
 * port forward on 127.0.0.1. Everything started is recorded in pid files and stopped by them.
 */
import { execa } from "execa";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile, readdir, truncate, chmod } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { LAB_DIR, HOSTS_FILE, type LabDescription, type LabHost } from "./hosts.js";

const here = dirname(fileURLToPath(import.meta.url));
/**
 * A second vm lab can run beside the first (CI runs the files that need only prod and dr —
 * the timer tests, replication, restore, ownership — on their own two guests while the other
 * files use the main lab: test/run.sh): its own
 * folder (BACKPLANE_LAB_DIR), network namespace (BACKPLANE_LAB_NETNS) and SSH ports
 * (BACKPLANE_LAB_PORT_BASE). A folder other than the default one alone already gets a namespace
 * and ports of its own, from a hash of its path (below 23000, where the ns labs' ports begin).
 */
const DEFAULT_LAB = LAB_DIR === "/var/tmp/backplane-lab";
const labHash = createHash("sha256").update(LAB_DIR).digest();
export const NETNS = process.env.BACKPLANE_LAB_NETNS ?? (DEFAULT_LAB ? "bplab" : `bplab-${labHash.toString("hex").slice(0, 6)}`);
const BRIDGE = "br0";
const SSH_PORT_BASE = portBase(process.env.BACKPLANE_LAB_PORT_BASE);

function portBase(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LAB ? 22220 : 22300 + (labHash.readUInt16BE(0) % 68) * 10;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1024 || n > 65000) throw new Error(`BACKPLANE_LAB_PORT_BASE must be a port number from 1024 to 65000, not '${value}'`);
  return n;
}
const DISKS_PER_HOST = 2;
const DISK_SIZE = 1024 * 1024 * 1024;

export interface UpOptions {
  hosts: number;
  zfs: "2.3" | "2.1";
  memoryMiB: number;
  log: (line: string) => void;
}

export function hostNames(n: number): string[] {
  const base = ["prod", "dr"];
  return Array.from({ length: n }, (_, i) => base[i] ?? `h${i + 1}`);
}

/**
 * One image build at a time: .ci/run starts the build in the background while the unit and
 * ns-tier tests run; the vm lab's start then waits on the same lock and reuses what it built.
 */
export const IMAGE_BUILD_LOCK = join(process.env.BACKPLANE_LAB_CACHE ?? "/var/cache/backplane-lab", "build.lock");

async function imageDir(zfs: string, log: (l: string) => void): Promise<string> {
  const build = join(here, "image", "build.sh");
  await mkdir(dirname(IMAGE_BUILD_LOCK), { recursive: true });
  const p = execa("flock", [IMAGE_BUILD_LOCK, "bash", build, "--zfs", zfs], { stdout: "pipe", stderr: "pipe", all: true });
  p.all!.on("data", (d: Buffer) => d.toString().split("\n").filter(Boolean).forEach((l) => log(l)));
  await p;
  const { stdout } = await execa("bash", [build, "--zfs", zfs, "--print-dir"]);
  return stdout.trim();
}

async function pidAlive(pidFile: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    if (!pid) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function ip(args: string[], opts: { ns?: boolean; reject?: boolean } = {}) {
  const argv = opts.ns ? ["-n", NETNS, ...args] : args;
  return execa("ip", argv, { reject: opts.reject ?? true });
}

/**
 * Each lab folder lists the network namespaces it made (`namespaces`, one per line, written
 * BEFORE the namespace exists): `labDown` removes those and nothing else, so a vm lab and an
 * ns lab (or two ns labs in their own folders) can run side by side and a half-started lab
 * still cleans up after itself.
 */
export async function recordNamespace(dir: string, ns: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "namespaces");
  const have = (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean);
  if (!have.includes(ns)) await writeFile(file, [...have, ns].join("\n") + "\n");
}

async function setupNetwork(names: string[]) {
  await recordNamespace(LAB_DIR, NETNS);
  if (!existsSync(`/run/netns/${NETNS}`)) await ip(["netns", "add", NETNS]);
  await ip(["link", "set", "lo", "up"], { ns: true });
  const links = (await ip(["-o", "link", "show"], { ns: true })).stdout;
  if (!links.includes(` ${BRIDGE}:`)) await ip(["link", "add", BRIDGE, "type", "bridge"], { ns: true });
  await ip(["link", "set", BRIDGE, "up"], { ns: true });
  for (const name of names) {
    const tap = `tap-${name}`;
    if (!links.includes(` ${tap}:`)) await ip(["tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr"], { ns: true });
    await ip(["link", "set", tap, "master", BRIDGE, "up"], { ns: true });
  }
}

async function sshKeygen(path: string, comment: string) {
  if (existsSync(path)) return;
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
}

function sshConfig(hosts: LabHost[]): string {
  const lines = [
    "# written by backplane lab up — the lab's hosts, reached through qemu port forwards on 127.0.0.1",
  ];
  for (const h of hosts) {
    lines.push(
      `Host ${h.name}`,
      `  HostName ${h.address}`,
      `  Port ${h.port}`,
      `  User ${h.user}`,
      `  IdentityFile ${h.identityFile}`,
      `  IdentitiesOnly yes`,
      `  UserKnownHostsFile ${h.knownHostsFile}`,
      `  StrictHostKeyChecking yes`,
      `  HostKeyAlias bplab-${h.name}`,
      `  BatchMode yes`,
      `  ControlMaster auto`,
      `  ControlPath ${join(LAB_DIR, "cm-%C")}`,
      `  ControlPersist 600`,
      `  ConnectTimeout 10`,
      `  ServerAliveInterval 15`,
      "",
    );
  }
  return lines.join("\n");
}

async function waitForSsh(h: LabHost, deadline: number, consoleLog: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const r = await execa("ssh", ["-F", h.sshConfigFile, h.name, "systemctl is-system-running --wait >/dev/null 2>&1; cat /proc/uptime"], { reject: false, timeout: 60_000 });
    if (r.exitCode === 0) return (Date.now() - t0) / 1000;
    const consoleText = await readFile(consoleLog, "utf8").catch(() => "");
    if (Date.now() > deadline || consoleText.includes("Dropping to a shell") || consoleText.includes("Kernel panic")) {
      const tail = (await readFile(consoleLog, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
      throw new Error(`lab: ${h.name} did not answer on ssh in time; last console lines:\n${tail}\nlast ssh error: ${r.stderr}`);
    }
    await new Promise((r2) => setTimeout(r2, 3000));
  }
}

export async function vmUp(opts: UpOptions): Promise<LabDescription> {
  const t0 = Date.now();
  const names = hostNames(opts.hosts);
  await mkdir(LAB_DIR, { recursive: true });
  const image = await imageDir(opts.zfs, opts.log);
  const existing = await readFile(HOSTS_FILE, "utf8").then((s) => JSON.parse(s) as LabDescription).catch(() => null);
  if (existing && existing.tier === "vm") {
    const alive = await Promise.all(existing.hosts.map((h) => pidAlive(join(LAB_DIR, h.name, "qemu.pid"))));
    if (alive.every(Boolean) && names.every((n) => existing.hosts.some((h) => h.name === n))) {
      opts.log(`lab: reusing running vm hosts ${existing.hosts.map((h) => h.name).join(", ")}`);
      return existing;
    }
    opts.log("lab: a previous lab is partly running; stopping it first");
    await labDown(opts.log);
  }
  await setupNetwork(names);
  const operatorKey = join(LAB_DIR, "id_ed25519");
  await sshKeygen(operatorKey, "backplane-lab-operator");
  const authorized = await readFile(`${operatorKey}.pub`, "utf8");
  const knownHosts = join(LAB_DIR, "known_hosts");
  const sshConfigFile = join(LAB_DIR, "ssh_config");
  const hosts: LabHost[] = [];
  const knownLines: string[] = [];

  for (const [i, name] of names.entries()) {
    const dir = join(LAB_DIR, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const hostKey = join(dir, "ssh_host_ed25519_key");
    await sshKeygen(hostKey, `backplane-lab-${name}`);
    const pub = (await readFile(`${hostKey}.pub`, "utf8")).trim().split(" ").slice(0, 2).join(" ");
    const n = i + 1;
    const h: LabHost = {
      name, tier: "vm", address: "127.0.0.1", port: SSH_PORT_BASE + n, user: "root",
      identityFile: operatorKey, hostKey: pub, knownHostsFile: knownHosts, sshConfigFile,
      labAddress: `10.200.0.${10 + n}`, disks: Array.from({ length: DISKS_PER_HOST }, (_, d) => `/dev/disk/by-id/virtio-bp-disk${d}`), zfs: opts.zfs,
    };
    hosts.push(h);
    // One entry per host alias (HostKeyAlias) and one for [127.0.0.1]:port, so both the
    // lab's ssh_config and a stack that pins by address verify the same key.
    knownLines.push(`bplab-${name} ${pub}`, `[127.0.0.1]:${h.port} ${pub}`);
    const mac = (k: number) => `52:54:00:bb:0${k}:${n.toString(16).padStart(2, "0")}`;
    const fw = (key: string, spec: string) => ["-fw_cfg", `name=opt/backplane/${key},${spec}`];
    await writeFile(join(dir, "authorized_keys"), authorized);
    const drives: string[] = [];
    for (let d = 0; d < DISKS_PER_HOST; d++) {
      const disk = join(dir, `disk${d}.img`);
      await writeFile(disk, "");
      await truncate(disk, DISK_SIZE);
      drives.push("-drive", `file=${disk},if=none,id=disk${d},format=raw,cache=unsafe`, "-device", `virtio-blk-pci,drive=disk${d},serial=bp-disk${d}`);
    }
    // -cx16: two guests panicked under long transfers (a #DB and a double fault, 2026-11-27), both
    // in SLUB's allocation fast path (kmem_cache_alloc_node, whose lockless update is a
    // `cmpxchg16b`) with garbage in EFLAGS, the trap flag among it: most likely QEMU 7.2's TCG
    // emulation of that instruction (docs/testing.md). Without CX16 the kernel patches in its own
    // interrupts-off stand-in (this_cpu_cmpxchg16b_emu) and SLUB's slab-level updates take their
    // lock: the instruction is never run.
    const argv = [
      join(here, "tapfd.py"), NETNS, `tap-${name}`, "--",
      "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max,-cx16", "-m", String(opts.memoryMiB), "-smp", "1",
      "-name", `backplane-lab-${name}`,
      "-display", "none", "-serial", `file:${join(dir, "console.log")}`, "-monitor", "none",
      "-daemonize", "-pidfile", join(dir, "qemu.pid"),
      "-kernel", join(image, "vmlinuz"), "-initrd", join(image, "initrd.img"),
      "-append", "root=LABEL=bp-root rw console=ttyS0",
      "-drive", `file=${join(image, "root.img")},if=none,id=root,format=raw,snapshot=on`,
      "-device", "virtio-blk-pci,drive=root",
      ...drives,
      "-netdev", `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${h.port}-:22`,
      "-device", `virtio-net-pci,netdev=mgmt,mac=${mac(1)}`,
      "-netdev", "tap,id=lab,fd={TAPFD},vhost=off",
      "-device", `virtio-net-pci,netdev=lab,mac=${mac(2)}`,
      ...fw("hostname", `string=${name}`),
      ...fw("authorized_keys", `file=${join(dir, "authorized_keys")}`),
      ...fw("ssh_host_ed25519_key", `file=${hostKey}`),
      ...fw("ssh_host_ed25519_key.pub", `file=${hostKey}.pub`),
      ...fw("mgmt_mac", `string=${mac(1)}`),
      ...fw("lab_mac", `string=${mac(2)}`),
      ...fw("lab_addr", `string=${h.labAddress}/24`),
    ];
    await execa("python3", argv);
    opts.log(`lab: started ${name} (qemu pid ${(await readFile(join(dir, "qemu.pid"), "utf8")).trim()}, ssh 127.0.0.1:${h.port}, lab ${h.labAddress})`);
  }
  await writeFile(knownHosts, knownLines.join("\n") + "\n");
  await writeFile(sshConfigFile, sshConfig(hosts));
  await chmod(operatorKey, 0o600);
  // (five guests booting at once on two cores, beside the ns tier, took 342 s: measured 2026-11-27)
  const deadline = Date.now() + 900_000;
  const boots = await Promise.all(hosts.map((h) => waitForSsh(h, deadline, join(LAB_DIR, h.name, "console.log"))));
  hosts.forEach((h, i) => opts.log(`lab: ${h.name} answers on ssh after ${boots[i]!.toFixed(0)} s`));
  const desc: LabDescription = { tier: "vm", startedAt: new Date().toISOString(), hosts };
  await writeFile(HOSTS_FILE, JSON.stringify(desc, null, 2) + "\n");
  opts.log(`lab: ${hosts.length} vm hosts up in ${((Date.now() - t0) / 1000).toFixed(0)} s; hosts in ${HOSTS_FILE}`);
  return desc;
}

/**
 * What the hosts themselves started inside an ns-tier namespace (wireguard-go daemons run by
 * an apply) has no pid file of ours: it is found by namespace membership, never by name.
 */
async function stopLeftovers(ns: string, log: (l: string) => void): Promise<void> {
  const pids = async () => (await ip(["netns", "pids", ns], { reject: false })).stdout.split("\n").filter(Boolean).map(Number);
  const signal = (list: number[], sig: NodeJS.Signals) => {
    for (const pid of list) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const left = await pids();
  if (left.length === 0) return;
  signal(left, "SIGTERM");
  for (let i = 0; i < 50 && (await pids()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  signal(await pids(), "SIGKILL");
  log(`lab: stopped ${left.length} process(es) left in ${ns} (${left.join(", ")})`);
}

/** Stops what the lab in `dir` started (by pid files) and removes the namespaces of its tier. */
export async function labDown(log: (l: string) => void, dir: string = LAB_DIR): Promise<void> {
  const hostsFile = join(dir, "hosts.json");
  if (existsSync(dir)) {
    // Close the lab's ControlMaster connections first so no ssh process lingers.
    const desc = await readFile(hostsFile, "utf8").then((s) => JSON.parse(s) as LabDescription).catch(() => null);
    for (const h of desc?.hosts ?? []) {
      await execa("ssh", ["-F", h.sshConfigFile, "-O", "exit", h.name], { reject: false, timeout: 10_000 });
    }
    for (const f of await readdir(dir)) {
      if (f.startsWith("cm-")) await rm(join(dir, f), { force: true });
    }
    // Hosts stop in parallel: zfs-fuse alone takes 3-7 s to exit.
    const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
    await Promise.all(entries.map(async (entry) => {
      // socat first (no new connections), then sshd, then zfs-fuse
      for (const pidName of ["qemu.pid", "socat.pid", "sshd.pid", "zfs-fuse.pid"]) {
        const pidFile = join(dir, entry.name, pidName);
        const pid = await pidAlive(pidFile);
        if (pid) {
          // socat forks a child per connection in its own process group: stop the group.
          try {
            process.kill(pidName === "socat.pid" ? -pid : pid, "SIGTERM");
          } catch {
            /* already gone */
          }
          for (let i = 0; i < 75 && (await pidAlive(pidFile)); i++) await new Promise((r) => setTimeout(r, 200));
          if (await pidAlive(pidFile)) process.kill(pid, "SIGKILL");
          log(`lab: stopped ${entry.name} (${pidName.replace(".pid", "")} pid ${pid})`);
        }
        await rm(pidFile, { force: true });
      }
    }));
    await rm(hostsFile, { force: true });
  }
  // only the namespaces this folder's lab made (see recordNamespace), newest first
  const file = join(dir, "namespaces");
  const mine = (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean).reverse();
  const existing = new Set((await ip(["netns", "list"], { reject: false })).stdout.split("\n").map((l) => l.split(" ")[0]!));
  for (const ns of mine.filter((n) => existing.has(n))) {
    await stopLeftovers(ns, log);
    await ip(["netns", "delete", ns], { reject: false });
    log(`lab: removed network namespace ${ns}`);
  }
  await rm(file, { force: true });
}

export async function labStatus(): Promise<string> {
  const desc = await readFile(HOSTS_FILE, "utf8").then((s) => JSON.parse(s) as LabDescription).catch(() => null);
  if (!desc) return "lab: not running";
  const lines = [`lab: ${desc.tier} tier, started ${desc.startedAt}`];
  for (const h of desc.hosts) {
    const pid = await pidAlive(join(LAB_DIR, h.name, desc.tier === "vm" ? "qemu.pid" : "sshd.pid"));
    lines.push(`  ${h.name.padEnd(6)} ${pid ? `running (pid ${pid})` : "STOPPED"}  ssh ${h.address}:${h.port}  lab ${h.labAddress}  zfs ${h.zfs}`);
  }
  return lines.join("\n");
}
