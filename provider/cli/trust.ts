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
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { HostConfig } from "../model/desired.js";
import type { Project } from "../engine/project.js";
import { argv } from "../model/argv.js";
import { SshTransport, hostKeyAlias } from "../transport/ssh.js";
import { sshFingerprint } from "../transport/transport.js";
import { learnedHostKey } from "../schema/host-key.js";

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

export async function resolveHostTrust(p: Project, o: { trustOnFirstUse: boolean; onNotice: (message: string) => void }): Promise<Project> {
  const unpinned = [...p.graph.hosts.values()].filter((h) => !h.hostKey && !h.knownHostsFile);
  if (unpinned.length === 0) return p;
  const file = learnedKeysFile(p);
  const shown = relative(process.cwd(), file) || file;
  const learned = await readOrEmpty(file);
  const resolved = new Map<string, HostConfig>();
  const firstUse: HostConfig[] = [];
  for (const h of unpinned) {
    const key = learnedHostKey(learned, hostKeyAlias(h.alias));
    if (key) {
      resolved.set(h.alias, { ...h, hostKey: key, hostKeyLearntIn: shown });
      o.onNotice(`${h.alias}: checking the host key learnt on first use (${named(key)}, in ${shown}); pin it in the stack so it is part of the reviewed code`);
    } else if (o.trustOnFirstUse) firstUse.push(h);
  }
  if (firstUse.length > 0) {
    await mkdir(join(p.dir, ".backplane"), { recursive: true, mode: 0o700 });
    // made here, private, before ssh appends to it (ssh would create it with the umask's mode)
    await writeFile(file, "", { flag: "a", mode: 0o600 });
    await chmod(file, 0o600);
    await Promise.all(firstUse.map(async (h) => {
      const t = new SshTransport(h, { acceptNewInto: file });
      try {
        const r = await t.run(argv("true"));
        if (r.exitCode !== 0) throw new Error(`${h.alias}: the first connection ran 'true', which exited ${r.exitCode}`);
      } finally {
        await t.close();
      }
    }));
    const after = await readOrEmpty(file);
    for (const h of firstUse) {
      const key = learnedHostKey(after, hostKeyAlias(h.alias));
      if (!key) throw new Error(`${h.alias}: ssh connected but recorded no key in ${shown}; nothing was trusted`);
      resolved.set(h.alias, { ...h, hostKey: key, hostKeyLearntIn: shown });
      o.onNotice(`${h.alias}: trusted on first use (--trust-on-first-use): ${h.address} port ${h.port} presented ${named(key)}; recorded in ${shown} and checked strictly from now on. Pin it in the stack: hostKey: "${key}"`);
    }
  }
  if (resolved.size === 0) return p;
  const hosts = new Map([...p.graph.hosts].map(([alias, h]) => [alias, resolved.get(alias) ?? h]));
  return { ...p, graph: { ...p.graph, hosts } };
}
