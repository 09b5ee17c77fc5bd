/**
 * Which key each host is checked against, settled before any command reaches a host:
 * 1. the key the stack pins (host_key, or a known_hosts_file given in the stack);
 * 2. else a key learnt on first use in an earlier run, from the project's
 *    `.backplane/<stack>.known_hosts` (checked strictly, like a pinned key);
 * 3. else, only with --trust-on-first-use, the key the host presents now: accepted by ssh
 *    itself (StrictHostKeyChecking=accept-new), printed with its fingerprint, recorded in
 *    that file and checked strictly from then on.
 * A host with none of these is left unpinned, and the transport refuses it before ssh starts.
 */
import { lstat, mkdir, open, readFile } from "node:fs/promises";
import { constants } from "node:fs";
import { join, relative } from "node:path";
import type { HostConfig } from "../model/desired.js";
import type { Project } from "../engine/project.js";
import { argv } from "../model/argv.js";
import { SshTransport, hostKeyAlias } from "../transport/ssh.js";
import { debugLog } from "./debug-log.js";
import { sshFingerprint } from "../transport/transport.js";
import { learnedHostKeyOf } from "../schema/host-key.js";

export function learnedKeysFile(p: Pick<Project, "dir" | "stack">): string {
  return join(p.dir, ".backplane", `${p.stack}.known_hosts`);
}

async function readOrEmpty(file: string): Promise<string> {
  return readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return "";
    throw e;
  });
}

/** "ssh-ed25519 SHA256:…": how ssh-keygen -l names a key. */
function named(key: string): string {
  return `${key.split(" ")[0]} ${sshFingerprint(key)}`;
}

/** The learnt file, opened only when it is a regular file (never through a symlink), made private. */
async function preparePrivateFile(dir: string, file: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const d = await lstat(dir);
  if (!d.isDirectory()) throw new Error(`${dir} is not a directory (a symlink?): backplane keeps learnt host keys only in a folder of its own`);
  // O_NOFOLLOW: a symlink planted at the file's name is refused instead of followed (ssh appends to what is there)
  const fd = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === "ELOOP" ? `${file} is a symlink: refusing to record host keys through it` : `${file}: ${e.message}`);
  });
  try {
    if (!(await fd.stat()).isFile()) throw new Error(`${file} is not a regular file: refusing to record host keys in it`);
    // ssh would leave it with the umask's mode
    await fd.chmod(0o600);
  } finally {
    await fd.close();
  }
}

function learntOrProblem(text: string, h: HostConfig, shown: string): string | null {
  const r = learnedHostKeyOf(text, hostKeyAlias(h.alias));
  if ("problem" in r) throw new Error(`${h.alias}: ${shown}: ${r.problem}; refusing to connect`);
  return "key" in r ? r.key : null;
}

export async function resolveHostTrust(p: Project, o: { trustOnFirstUse: boolean; onNotice: (message: string) => void }): Promise<Project> {
  const unpinned = [...p.graph.hosts.values()].filter((h) => !h.hostKey && !h.knownHostsFile);
  if (unpinned.length === 0) return p;
  const file = learnedKeysFile(p);
  const shown = relative(process.cwd(), file) || file;
  const learned = await readOrEmpty(file);
  const resolved = new Map<string, HostConfig>();
  const pin = (h: HostConfig, key: string) => resolved.set(h.alias, { ...h, hostKey: key, hostKeyLearntIn: shown });
  const firstUse: HostConfig[] = [];
  for (const h of unpinned) {
    const key = learntOrProblem(learned, h, shown);
    if (key) {
      pin(h, key);
      o.onNotice(`${h.alias}: checking the host key learnt on first use (${named(key)}, in ${shown}); pin it in the stack so it is part of the reviewed code`);
    } else if (o.trustOnFirstUse) firstUse.push(h);
  }
  if (firstUse.length > 0) {
    // ssh expands ${VAR} in UserKnownHostsFile and has no escape for it
    if (file.includes("${")) throw new Error(`the project folder ${p.dir} contains '\${': ssh would expand it in the learnt keys file's name; move the project to trust on first use`);
    await preparePrivateFile(join(p.dir, ".backplane"), file);
    const connected = await Promise.allSettled(firstUse.map(async (h) => {
      const t = new SshTransport(h, { acceptNewInto: file, debug: debugLog() });
      try {
        const r = await t.run(argv("true"));
        if (r.exitCode !== 0) throw new Error(`${h.alias}: the first connection ran 'true', which exited ${r.exitCode}`);
      } finally {
        await t.close();
      }
    }));
    // every key ssh recorded is announced, also when another host failed
    const after = await readOrEmpty(file);
    const failed: string[] = [];
    firstUse.forEach((h, i) => {
      const outcome = connected[i]!;
      const key = learntOrProblem(after, h, shown);
      if (key) {
        pin(h, key);
        o.onNotice(`${h.alias}: trusted on first use (--trust-on-first-use): ${h.address} port ${h.port} presented ${named(key)}; recorded in ${shown} and checked strictly from now on. Pin it in the stack: hostKey: "${key}"`);
      }
      if (outcome.status === "rejected") failed.push((outcome.reason as Error).message);
      else if (!key) failed.push(`${h.alias}: ssh connected but recorded no key in ${shown}; nothing was trusted`);
    });
    if (failed.length > 0) throw new Error(failed.join("\n"));
  }
  if (resolved.size === 0) return p;
  const hosts = new Map([...p.graph.hosts].map(([alias, h]) => [alias, resolved.get(alias) ?? h]));
  return { ...p, graph: { ...p.graph, hosts } };
}
