/**
 * ns tier: a host = a network namespace + a private mount namespace with its own sshd and
 * its own zfs-fuse daemon (pool version 23: a deliberately old ZFS) and wireguard-go.
 * Starts in seconds; used for scale and for capability checks.
 *
 * Networking: the hosts' veths meet on a bridge inside the lab's hub namespace; the root
 * namespace gets no address at all. The operator reaches each sshd through a socat on
 * 127.0.0.1:<port> that enters the host's namespace per connection (`ip netns exec`).
 */
import { execa } from "execa";
import { mkdir, readFile, rm, writeFile, truncate, chmod } from "node:fs/promises";
import { existsSync, openSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { LAB_DIR, type LabDescription, type LabHost } from "./hosts.js";
import { hostNames, labDown, recordNamespace } from "./vm.js";

/** sparse; 256 MiB holds ≈2,000 empty zfs-fuse datasets (bench/cli.mts asks for more) */
const DISK_MIB = 256;
// 20 for the scale benchmark (bench/scale.mts), with room; each lab gets its own block of ports
const MAX_HOSTS = 32;

/**
 * Names and ports of one ns lab, derived from its folder: two ns labs in two folders (the
 * e2e ns tier, the crash suite, a fixture capture) never share a namespace or a port.
 */
export function nsLabNames(dir: string) {
  const h = createHash("sha256").update(dir).digest();
  const tag = h.toString("hex").slice(0, 4);
  return {
    hub: `bpns${tag}-hub`,
    host: (name: string) => `bpns${tag}-${name}`,
    // below 32768, where Linux's ephemeral ports begin: a listener there can collide with an
    // outgoing connection's port
    port: (n: number) => 23000 + (h.readUInt16BE(2) % 250) * MAX_HOSTS + n,
  };
}

async function ip(args: string[], reject = true) {
  return execa("ip", args, { reject });
}

async function sshKeygen(path: string, comment: string) {
  if (!existsSync(path)) await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
}

function sshdConfig(dir: string): string {
  return [
    "Port 22",
    "ListenAddress 0.0.0.0",
    `HostKey ${join(dir, "ssh_host_ed25519_key")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd-daemon.pid")}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // the host directory lives under /var/tmp (world-writable): StrictModes would refuse it
    "StrictModes no",
    "MaxSessions 100",
    "MaxStartups 100:30:200",
    "UseDNS no",
    "",
  ].join("\n");
}

/** Runs as the host's init: private mounts, zfs-fuse, then sshd in the foreground. */
function hostInit(name: string, dir: string): string {
  // /etc/wireguard too: each host keeps its own keys and wg-quick configs
  const priv = ["/run/zfs", "/var/lib/zfs", "/var/lock/zfs", "/run/wireguard", "/etc/wireguard"];
  return [
    "set -e",
    ...priv.map((p) => `mkdir -p ${dir}/priv${p} ${p} && mount --bind ${dir}/priv${p} ${p}`),
    // this machine's .bashrc runs pyenv init, which made every ssh command take 1.3 s
    `: > ${dir}/empty-bashrc && mount --bind ${dir}/empty-bashrc /root/.bashrc`,
    `hostname ${name}`,
    "mkdir -p /run/sshd",
    `zfs-fuse --no-daemon --no-kstat-mount > ${dir}/zfs-fuse.log 2>&1 & echo $! > ${dir}/zfs-fuse.pid`,
    "for i in $(seq 1 100); do [ -S /run/zfs/zfs_socket ] && break; sleep 0.1; done",
    "[ -S /run/zfs/zfs_socket ] || { echo 'zfs-fuse did not start' >&2; exit 1; }",
    `exec /usr/sbin/sshd -D -f ${dir}/sshd_config -E ${dir}/sshd.log`,
  ].join("\n");
}

export async function nsUp(opts: { hosts: number; log: (l: string) => void; dir?: string; diskMiB?: number }): Promise<LabDescription> {
  const t0 = Date.now();
  const LAB = opts.dir ?? LAB_DIR;
  const HOSTS = join(LAB, "hosts.json");
  const names = hostNames(opts.hosts);
  if (opts.hosts > MAX_HOSTS) throw new Error(`an ns lab has at most ${MAX_HOSTS} hosts`);
  const { hub: HUB, host: nsName, port: portOf } = nsLabNames(LAB);
  await mkdir(LAB, { recursive: true });
  if (existsSync(HOSTS)) {
    opts.log("lab: stopping the running lab first");
    await labDown(opts.log, LAB);
  }
  const operatorKey = join(LAB, "id_ed25519");
  await sshKeygen(operatorKey, "backplane-lab-operator");
  await chmod(operatorKey, 0o600);
  const authorized = await readFile(`${operatorKey}.pub`, "utf8");
  const knownHosts = join(LAB, "known_hosts");
  const sshConfigFile = join(LAB, "ssh_config");
  await recordNamespace(LAB, HUB);
  if (!existsSync(`/run/netns/${HUB}`)) await ip(["netns", "add", HUB]);
  await ip(["-n", HUB, "link", "set", "lo", "up"]);
  await ip(["-n", HUB, "link", "add", "br0", "type", "bridge"], false);
  await ip(["-n", HUB, "link", "set", "br0", "up"]);

  const hosts: LabHost[] = [];
  const known: string[] = [];
  const config: string[] = ["# written by backplane lab up --tier ns"];
  for (const [i, name] of names.entries()) {
    const n = i + 1;
    const dir = join(LAB, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await sshKeygen(join(dir, "ssh_host_ed25519_key"), `backplane-lab-${name}`);
    const pub = (await readFile(join(dir, "ssh_host_ed25519_key.pub"), "utf8")).trim().split(" ").slice(0, 2).join(" ");
    await writeFile(join(dir, "authorized_keys"), authorized);
    await writeFile(join(dir, "sshd_config"), sshdConfig(dir));
    const disks: string[] = [];
    for (let d = 0; d < 2; d++) {
      const disk = join(dir, `disk${d}.img`);
      await writeFile(disk, "");
      await truncate(disk, (opts.diskMiB ?? DISK_MIB) * 1024 * 1024);
      disks.push(disk);
    }
    const ns = nsName(name);
    await recordNamespace(LAB, ns);
    if (!existsSync(`/run/netns/${ns}`)) await ip(["netns", "add", ns]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    await ip(["-n", HUB, "link", "add", `vh-${name}`.slice(0, 15), "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await ip(["-n", HUB, "link", "set", `vh-${name}`.slice(0, 15), "master", "br0", "up"]);
    const labAddress = `10.200.1.${10 + n}`;
    await ip(["-n", ns, "addr", "add", `${labAddress}/24`, "dev", "eth0"]);
    await ip(["-n", ns, "link", "set", "eth0", "up"]);
    await writeFile(join(dir, "init.sh"), hostInit(name, dir));
    // Plain spawn, detached and unreferenced: the lab outlives the command that started it.
    const initLog = openSync(join(dir, "init.log"), "a");
    const init = spawn("ip", ["netns", "exec", ns, "unshare", "-m", "-u", "--propagation", "private", "sh", join(dir, "init.sh")], {
      detached: true, stdio: ["ignore", "ignore", initLog],
    });
    init.unref();
    await writeFile(join(dir, "sshd.pid"), String(init.pid));
    const port = portOf(n);
    const socat = spawn("socat", [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `EXEC:ip netns exec ${ns} socat STDIO TCP\\:127.0.0.1\\:22`], {
      detached: true, stdio: "ignore",
    });
    socat.unref();
    await writeFile(join(dir, "socat.pid"), String(socat.pid));
    const h: LabHost = {
      name, tier: "ns", address: "127.0.0.1", port, user: "root", identityFile: operatorKey, hostKey: pub,
      knownHostsFile: knownHosts, sshConfigFile, labAddress, disks, zfs: "zfs-fuse-0.7",
    };
    hosts.push(h);
    known.push(`bplab-${name} ${pub}`, `[127.0.0.1]:${port} ${pub}`);
    config.push(`Host ${name}`, `  HostName 127.0.0.1`, `  Port ${port}`, `  User root`, `  IdentityFile ${operatorKey}`, "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`, "  StrictHostKeyChecking yes", `  HostKeyAlias bplab-${name}`, "  BatchMode yes",
      "  ControlMaster auto", `  ControlPath ${join(LAB, "cm-%C")}`, "  ControlPersist 600", "");
  }
  await writeFile(knownHosts, known.join("\n") + "\n");
  await writeFile(sshConfigFile, config.join("\n"));
  // Wait until every sshd answers (and zfs-fuse is up behind it).
  const deadline = Date.now() + 60_000;
  await Promise.all(hosts.map(async (h) => {
    for (;;) {
      const r = await execa("ssh", ["-F", sshConfigFile, h.name, "zpool list -H >/dev/null && echo ok"], { reject: false, timeout: 20_000 });
      if (r.exitCode === 0) return;
      if (Date.now() > deadline) {
        const log = await readFile(join(LAB, h.name, "init.log"), "utf8").catch(() => "");
        throw new Error(`lab: ns host ${h.name} did not answer: ${r.stderr}\n${log}`);
      }
      await new Promise((r2) => setTimeout(r2, 300));
    }
  }));
  const desc: LabDescription = { tier: "ns", startedAt: new Date().toISOString(), hosts };
  await writeFile(HOSTS, JSON.stringify(desc, null, 2) + "\n");
  opts.log(`lab: ${hosts.length} ns hosts up in ${((Date.now() - t0) / 1000).toFixed(1)} s; hosts in ${HOSTS}`);
  return desc;
}
