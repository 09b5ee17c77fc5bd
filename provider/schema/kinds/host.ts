/** Provider configuration: one alias = one host, reached over system OpenSSH. */
import { z } from "zod";
import { type KindSpec, str, num, strList, checked } from "../attr.js";
import { hostProblem, portProblem } from "../../wg/net.js";

const hostKey = z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/, {
  message: "must be an OpenSSH public key line: '<type> <base64>' (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)",
});

export const host: KindSpec = {
  type: "provider",
  kind: "provider",
  engineSupport: "full",
  description:
    "One host. Declare one provider alias per host; every resource names its host through `provider`. Host keys are pinned: give `host_key` or `known_hosts_file` (strict checking, never trust-on-first-use).",
  attributes: {
    address: str("Address sshd listens on (host name or IP).", checked(hostProblem), { required: true, example: "127.0.0.1" }),
    port: num("SSH port.", z.number().superRefine((v, c) => { const p = portProblem(v); if (p) c.addIssue({ code: "custom", message: p }); }), { default: 22, example: "2201" }),
    user: str("Login user.", z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a POSIX user name" }), { default: "root" }),
    identity_file: str("Private key file for authentication (read by ssh, never by backplane).", z.string().min(1), { example: "~/.ssh/id_ed25519" }),
    host_key: str("The host's public key, pinned (as in known_hosts, without the host name).", hostKey, { example: "ssh-ed25519 AAAAC3Nza..." }),
    known_hosts_file: str("A known_hosts file holding this host's key (alternative to host_key).", z.string().min(1)),
    ssh_config_file: str("An ssh_config file to use (e.g. the lab's, with ControlMaster).", z.string().min(1)),
    command_prefix: strList("Words put before every command, e.g. [\"sudo\", \"-n\"].", z.string().regex(/^[A-Za-z0-9_./=-]+$/, { message: "must be a plain word" })),
    connect_timeout: num("Seconds to wait for the SSH connection.", z.number().int().min(1).max(600), { default: 15 }),
  },
  refine(v, report) {
    if (v.host_key === undefined && v.known_hosts_file === undefined) {
      report("host_key", "a host needs a pinned key: set host_key or known_hosts_file (backplane never trusts a key on first use)");
    }
  },
};
