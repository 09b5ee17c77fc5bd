/**
 * Provider configuration: one alias = one host, reached over system OpenSSH. Every field
 * is checked here, at synth and at load, before anything is spawned: the alias (it names
 * files and the known_hosts entry), the address, port, user, the pinned key (parsed), the
 * paths handed to ssh (no control characters; quoted by the transport) and the prefix.
 */
import { z } from "zod";
import { type KindSpec, str, num, strList, checked } from "../attr.js";
import { hostProblem, portProblem } from "../../wg/net.js";
import { hostKeyProblem, parseHostKey } from "../host-key.js";
import { echo } from "../../model/echo.js";

/** A provider alias: it becomes a file name and a known_hosts host name. */
export function aliasProblem(alias: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(alias)) {
    return `host name '${echo(alias)}' must start with a letter and contain only letters, digits, '_' and '-' (at most 63; it becomes the provider alias)`;
  }
  return null;
}

/** POSIX portable user names (letters, digits, '.', '_', '-'; not starting with '-'), at most 32. */
export function userProblem(user: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(user) || user === "." || user === "..") {
    return `'${echo(user)}' must be a POSIX user name (letters, digits, '.', '_', '-', not starting with '-', at most 32)`;
  }
  return null;
}

/**
 * A local file ssh reads. Spaces, quotes and '%' are fine (the transport quotes and escapes);
 * control characters are not. ssh expands '~' and '~user' in its options itself, but not in
 * `-F FILE`: there the transport expands "~/" and "~user/" is refused here.
 */
function pathProblem(what: string, opts: { tildeUser: boolean; sshOption: boolean }) {
  return (path: string): string | null => {
    if (path === "") return `${what} is empty`;
    const cc = /[\p{Cc}]/u.exec(path);
    if (cc) return `${what} contains a control character (U+${cc[0].codePointAt(0)!.toString(16).padStart(4, "0").toUpperCase()}) at position ${cc.index}`;
    if (new TextEncoder().encode(path).length > 4095) return `${what} is longer than PATH_MAX (4095 bytes)`;
    // ssh expands ${VAR} in the options it reads paths from, and has no escape for it
    if (opts.sshOption && path.includes("${")) return `${what} may not contain '\${' (ssh would expand it as an environment variable)`;
    if (!opts.tildeUser && /^~[^/]/.test(path)) return `${what} may start with '~/' (your home) but not '~user/' (ssh -F does not expand it): give the full path`;
    return null;
  };
}

export const host: KindSpec = {
  type: "provider",
  kind: "provider",
  engineSupport: "full",
  description:
    "One host. Declare one provider alias per host; every resource names its host through `provider`. Host keys are pinned: give `host_key` or `known_hosts_file` (strict checking). A host with neither is refused unless the command runs with --trust-on-first-use, which accepts and prints the key the host presents once and checks it strictly afterwards (docs/trust.md).",
  attributes: {
    address: str("Address sshd listens on (host name or IP).", checked(hostProblem), { required: true, example: "127.0.0.1" }),
    port: num("SSH port.", z.number().superRefine((v, c) => { const p = portProblem(v); if (p) c.addIssue({ code: "custom", message: p }); }), { default: 22, example: "2201" }),
    user: str("Login user.", checked(userProblem), { default: "root" }),
    identity_file: str("Private key file for authentication (read by ssh, never by backplane).", checked(pathProblem("identity_file", { tildeUser: true, sshOption: true })), { example: "~/.ssh/id_ed25519" }),
    host_key: str("The host's public key, pinned (as in known_hosts, without the host name).", checked(hostKeyProblem), { example: "ssh-ed25519 AAAAC3Nza..." }),
    known_hosts_file: str("A known_hosts file holding this host's key (alternative to host_key).", checked(pathProblem("known_hosts_file", { tildeUser: true, sshOption: true }))),
    ssh_config_file: str("An ssh_config file to use (e.g. the lab's, with ControlMaster). It is the operator's own configuration: it may run local commands (ProxyCommand, LocalCommand, Match exec) and choose the address ssh reaches; backplane still checks the host key itself (docs/trust.md).", checked(pathProblem("ssh_config_file", { tildeUser: false, sshOption: false }))),
    command_prefix: strList("Words put before every command, e.g. [\"sudo\", \"-n\"].", z.string().max(255, { message: "must be a plain word of at most 255 characters" }).regex(/^[A-Za-z0-9_./=-]+$/, { message: "must be a plain word" })),
    connect_timeout: num("Seconds to wait for the SSH connection.", z.number().int().min(1).max(600), { default: 15 }),
    command_timeout: num("Seconds one round trip to the host (a refresh, a batch of changes) may take before it is abandoned and its outcome reported as unknown: a host that hangs never blocks an apply.", z.number().int().min(1).max(86400), { default: 600 }),
  },
  // the pinned key as known_hosts holds it: type and base64, no comment
  canonical: (v) => {
    const k = typeof v.host_key === "string" ? parseHostKey(v.host_key) : null;
    return k && typeof k !== "string" ? { ...v, host_key: `${k.type} ${k.base64}` } : v;
  },
};
