/** Helpers for e2e tests: run commands on lab hosts, run the backplane CLI, make stacks. */
import { execa } from "execa";
import { expect } from "vitest";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { labHost, readLab, type LabHost } from "../lab/hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv, type Argv } from "../../provider/model/argv.js";
import type { HostConfig } from "../../provider/model/desired.js";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");

export function hostConfig(h: LabHost): HostConfig {
  return { alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, commandPrefix: [], connectTimeout: 15 };
}

const transports = new Map<string, SshTransport>();
export function transport(name: string): SshTransport {
  let t = transports.get(name);
  if (!t) transports.set(name, (t = new SshTransport(hostConfig(labHost(name)))));
  return t;
}

/** Run a fixed shell snippet on a lab host (test set-up only; the product never does this). */
export async function sh(host: string, script: string): Promise<string> {
  const r = await transport(host).run(argv("sh", "-c", script));
  if (r.exitCode !== 0) throw new Error(`${host}: ${script}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

export async function run(host: string, cmd: Argv) {
  return transport(host).run(cmd);
}

/** Stops and removes the timers earlier stacks installed (snapshot policies, scheduled replications). */
export const REMOVE_TIMERS = "for u in /etc/systemd/system/backplane-snapshot-*.timer /etc/systemd/system/backplane-replicate-*.timer; do [ -f \"$u\" ] && systemctl disable --now \"${u##*/}\" >/dev/null 2>&1; done; " +
  "rm -rf /etc/systemd/system/backplane-snapshot-* /etc/systemd/system/backplane-replicate-* /etc/backplane/timers; systemctl daemon-reload; systemctl reset-failed 'backplane-*' 2>/dev/null; true";

/** Destroy every pool on the lab hosts and clear their disks (and earlier stacks' timers), so each test starts clean. */
export async function resetHosts(): Promise<void> {
  await Promise.all(readLab().hosts.map((h) => sh(h.name,
    `${REMOVE_TIMERS}; for p in $(zpool list -H -o name); do zpool destroy -f "$p"; done; ` +
    h.disks.map((d) => `zpool labelclear -f ${d} 2>/dev/null; wipefs -qa ${d} 2>/dev/null;`).join(" ") + " true")));
}

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function backplane(dir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa(join(ROOT, "bin", "backplane.mjs"), args, { cwd: dir, reject: false, env: { NO_COLOR: "1", ...env } });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

/**
 * A throw-away project under test/e2e/.work/<name> whose main.ts is `body`, with the
 * constructs and the lab inventory in scope as `Host`, `inv`, `hostProps`, `stack`.
 */
export async function project(name: string, body: string, fresh = true): Promise<string> {
  const dir = join(here, ".work", name);
  // fresh: a new stack (state too); otherwise only the code changes, as in a real edit
  if (fresh) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: `${join(ROOT, "node_modules", ".bin", "tsx")} main.ts`, projectId: name, sendCrashReports: "false" }, null, 2));
  await writeFile(join(dir, "main.ts"), `
import { App, TerraformStack, LocalBackend } from "cdktf";
import * as bp from "${join(ROOT, "constructs", "index.js")}";
import { inventory, hostProps, need } from "${join(ROOT, "examples", "inventory.js")}";
const { Host } = bp;
const inv = inventory();
const app = new App();
const stack = new TerraformStack(app, ${JSON.stringify(name)});
new LocalBackend(stack, { path: "terraform.tfstate" });
const prodInv = need(inv, "prod");
const drInv = need(inv, "dr");
${body}
app.synth();
`);
  return dir;
}

export function labDisks(name: string): string[] {
  return labHost(name).disks;
}

/**
 * Clears an ns-tier lab's hosts for the next case: every pool but `keep` destroyed (zfs-fuse
 * calls a pool with mounted clones busy: its datasets are unmounted first) and wg0 with its
 * files removed. ns hosts share the machine's root file system, so two hosts' pools need
 * different names (their mountpoint directories would race: "failed to create mountpoint").
 */
export async function resetNsHosts(labDir: string, hosts: readonly string[]): Promise<void> {
  await Promise.all(hosts.map(async (h) => {
    const r = await execa("ssh", ["-F", join(labDir, "ssh_config"), h,
      "for p in $(zpool list -H -o name); do [ \"$p\" = keep ] && continue; " +
      "zfs list -H -o name -r \"$p\" | sort -r | while read -r f; do zfs umount \"$f\" 2>/dev/null; done; zpool destroy -f \"$p\" || exit 1; done; " +
      "ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; true"], { reject: false, timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`${h}: reset failed: ${r.stderr}`);
  }));
}

/** What a plan after an interruption must not say: a refusal of what exists, or a replacement of it. */
export const NOT_ADOPTED = /already exists|not managed|belongs to another stack|forces replacement|must be replaced|-\/\+/;

/**
 * After an interruption: the next apply's plan (printed before it runs) adopts what exists,
 * the apply succeeds, and the plan after it says "No changes." `what` names the case in failures.
 */
export async function expectConverges(p: string, env: Record<string, string> = {}, what = ""): Promise<void> {
  const apply = await backplane(p, ["apply", "--auto-approve", "--no-synth"], env);
  expect(apply.stdout + apply.stderr, `${what}: the plan after the interruption`).not.toMatch(NOT_ADOPTED);
  expect(apply.exitCode, `${what}: apply after the interruption\n${apply.stdout}${apply.stderr}`).toBe(0);
  const again = await backplane(p, ["plan", "--detailed-exitcode", "--no-synth"], env);
  expect(again.stdout, `${what}: plan after converging\n${again.stdout}${again.stderr}`).toContain("No changes.");
  expect(again.exitCode, what).toBe(0);
}

/** A working copy of examples/seed in `dir` (a team member's checkout), its imports pointing back at this one. */
export async function seedWorkingCopy(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const main = (await readFile(join(ROOT, "examples", "seed", "main.ts"), "utf8"))
    .replaceAll('"../../constructs/index.js"', JSON.stringify(join(ROOT, "constructs", "index.js")))
    .replaceAll('"../inventory.js"', JSON.stringify(join(ROOT, "examples", "inventory.js")));
  await writeFile(join(dir, "main.ts"), main);
  await copyFile(join(ROOT, "examples", "seed", "cdktf.json"), join(dir, "cdktf.json"));
}

/**
 * Debian 12's kexec-tools and the libraries it links that the lab's image lacks (Debian builds it
 * with Xen support): `apt-cache depends --recurse kexec-tools` less what the guest has, less the
 * alternatives to debconf, which the guest has.
 */
const KEXEC_DEBS = ["kexec-tools", "libxenmisc4.17", "libxencall1", "libxendevicemodel1", "libxenevtchn1", "libxenforeignmemory1", "libxengnttab1", "libxenhypfs1", "libxenstore4", "libxentoolcore1", "libxentoollog1", "libyajl2", "libext2fs2"];

/**
 * Debian packages installed into lab guests, their .debs fetched once with this machine's apt
 * configuration (the guests are Debian 12 like it; the package lists read again once if a
 * version is gone) and copied in; the image stays as it is.
 */
export async function installDebs(hosts: string[], packages: string[]): Promise<void> {
  const debs = await mkdtemp(join(tmpdir(), "bp-debs-"));
  try {
    const download = (reject: boolean) => execa("apt-get", ["download", "-q", ...packages], { cwd: debs, reject });
    if ((await download(false)).exitCode !== 0) {
      await execa("apt-get", ["-o", "DPkg::Lock::Timeout=600", "update", "-q"]);
      await download(true);
    }
    const files = (await readdir(debs)).map((f) => join(debs, f));
    for (const host of hosts) {
      await sh(host, "rm -rf /tmp/bp-debs && mkdir /tmp/bp-debs");
      await execa("scp", ["-q", "-F", labHost(host).sshConfigFile, ...files, `${host}:/tmp/bp-debs/`]);
      await sh(host, "DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/bp-debs/*.deb >/dev/null && rm -rf /tmp/bp-debs");
    }
  } finally {
    await rm(debs, { recursive: true, force: true });
  }
}

/** kexec-tools in a guest, with the libraries the guest lacks. */
async function ensureKexec(host: string): Promise<void> {
  if ((await sh(host, "kexec --version >/dev/null 2>&1 && echo yes || true")).trim() === "yes") return;
  const have = new Set((await sh(host, "dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n'")).split("\n").filter((l) => l.startsWith("ii ")).map((l) => l.split(" ").pop()!));
  // kexec-tools always: installed but not working is why we are here
  await installDebs([host], KEXEC_DEBS.filter((p) => p === "kexec-tools" || !have.has(p)));
  await sh(host, "kexec --version >/dev/null");
}

/**
 * Makes a guest ready for `rebootAndWait`: kexec-tools installed and its running kernel loaded
 * for kexec. Call it before a reboot whose moment matters (the install takes tens of seconds
 * on an emulated CPU).
 */
export async function prepareReboot(host: string): Promise<void> {
  await ensureKexec(host);
  await sh(host, 'k=$(uname -r) && kexec -l "/boot/vmlinuz-$k" --initrd="/boot/initrd.img-$k" --reuse-cmdline && [ "$(cat /sys/kernel/kexec_loaded)" = 1 ]');
}

/**
 * Reboots a lab guest from inside (the qemu process and its overlay stay) and waits until the
 * new boot answers (a new boot id, systemd done starting). The whole shutdown and boot of the
 * OS, by `systemctl kexec` into the same kernel: under TCG a firmware reset can hang for good
 * (CI of 2026-11-27: prod's console ends at "reboot: machine restart", qemu alive, nothing more
 * for 10 minutes, and every later test on that lab failed); kexec does not go through it.
 */
export async function rebootAndWait(host: string): Promise<void> {
  if ((await sh(host, "cat /sys/kernel/kexec_loaded")).trim() !== "1") await prepareReboot(host);
  const bootId = (await sh(host, "cat /proc/sys/kernel/random/boot_id")).trim();
  await sh(host, "(sleep 1; systemctl kexec) >/dev/null 2>&1 &");
  await new Promise((r) => setTimeout(r, 15_000));
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      if ((await sh(host, "systemctl is-system-running --wait >/dev/null 2>&1; cat /proc/sys/kernel/random/boot_id")).trim() !== bootId) return;
    } catch {
      // not answering yet: the boot is under way
    }
    if (Date.now() > deadline) throw new Error(`${host} did not come back after the reboot (its console: ${labHost(host).name}/console.log in the lab folder)`);
    await new Promise((r) => setTimeout(r, 5_000));
  }
}
