/** What the engine needs from a way of reaching a host. The only place processes run on hosts. */
import { createHash } from "node:crypto";
import type { Argv } from "../model/argv.js";
import { hostSaid } from "../model/echo.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  /** sees the command's stderr as it arrives (progress of a long transfer); the result still holds all of it */
  onStderr?: (chunk: string) => void;
}

export interface ScriptOptions {
  timeoutMs?: number;
  /** the commands the script runs, for the debug log (a script's text is never logged: it is not masked) */
  commands?: readonly Argv[];
}

/**
 * What a transport is given besides its host. `debug` receives one line per command run on
 * the host and one when each round trip ends (model/debug-log.ts); absent, nothing is logged.
 */
export interface TransportLogging {
  debug?: (line: string) => void;
}

export interface Transport {
  readonly host: string;
  /** one round trip: a command */
  run(cmd: Argv, opts?: RunOptions): Promise<RunResult>;
  /** one round trip: a POSIX sh script fed on stdin (used to batch many commands) */
  script(text: string, opts?: ScriptOptions): Promise<RunResult>;
  /**
   * The local process that runs `cmd` on the host (counted as a round trip and logged like
   * run()), for callers that must wire its stdio themselves: see handOver().
   */
  prepare(cmd: Argv): { file: string; args: string[] };
  /** how long one round trip may take (the host's command_timeout), when the transport has one */
  readonly commandTimeoutMs?: number;
  /** round trips made so far (refresh must cost one per host) */
  readonly roundTrips: number;
  /** every command shown as toDisplay() renders it, for audit and tests */
  readonly log: readonly string[];
  close(): Promise<void>;
}

/** OpenSSH's fingerprint of a public key ("ssh-ed25519 AAAA..."): SHA256 of the key blob, base64 without padding. */
export function sshFingerprint(publicKey: string): string | null {
  const b64 = publicKey.trim().split(/\s+/)[1];
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  return `SHA256:${createHash("sha256").update(Buffer.from(b64, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** The fingerprint ssh says the host presented, from its warning ("... sent by the remote host is\nSHA256:..."). */
export function presentedFingerprint(sshStderr: string): string | null {
  return /sent by the remote host is\s+(SHA256:[A-Za-z0-9+/]+)/.exec(sshStderr)?.[1] ?? null;
}

export class HostKeyError extends Error {
  readonly pinned: string | null;
  readonly presented: string | null;
  constructor(readonly host: string, detail: string, pinnedKey?: string, learntIn?: string) {
    const pinned = pinnedKey ? sshFingerprint(pinnedKey) : null;
    const presented = presentedFingerprint(detail);
    const said = hostSaid(detail.trim().split("\n").find((l) => /host key|REMOTE HOST|No .* host key/i.test(l)) ?? detail, 200);
    const unknown = /No .* host key is known/i.test(detail);
    super(unknown && !pinned
      ? `${host}: the host's key is not known (the stack pins no host_key and the known_hosts file has none for it) — refusing to connect; pin the host's key in the stack (${said})`
      : presented || pinned
        ? `${host}: the host presented key ${presented ?? "(fingerprint not shown by ssh)"}, ${learntIn ? `the key learnt on first use (${learntIn}) is` : "the stack pins"} ${pinned ?? "(no key)"} — refusing to connect${learntIn ? "; if the host was really re-keyed, pin its new key in the stack or remove its line from that file" : ""} (${said})`
        : `${host}: the host key does not match the pinned key — refusing to connect (${said})`);
    this.name = "HostKeyError";
    this.pinned = pinned;
    this.presented = presented;
  }
}

/**
 * ssh could not reach the host, or lost it while a command ran. `phase` says which: when the
 * connection was never made nothing ran; when it was lost (or the command timed out) the
 * command's outcome is unknown and `partialStdout` holds what arrived before the cut, from
 * which a batch still learns which of its commands finished.
 */
export class ConnectError extends Error {
  constructor(readonly host: string, detail: string, readonly phase: "connect" | "lost" = "connect", readonly partialStdout = "") {
    super(`${host}: ${phase === "connect" ? "cannot connect over ssh" : "the ssh connection was lost (outcome unknown)"}: ${hostSaid(detail.trim().split("\n").slice(-2).join("\n"))}`);
    this.name = "ConnectError";
  }
}

/** What ssh prints when it never reached the host (nothing ran), as opposed to losing it. */
export function neverConnected(sshStderr: string): boolean {
  return /connect to host .*: (Connection refused|Connection timed out|No route to host|Network is unreachable)|Could not resolve hostname|Connection timed out during banner exchange|Permission denied \(|Connection closed by .* port \d+\s*$/m.test(sshStderr);
}

/**
 * The processes transports started for hosts that still run (ssh sessions, both ends of a
 * hand-over). Each runs in its own process group, so a terminal's Ctrl-C does not cut it; in
 * exchange nothing ends it with this process unless told: the exit cleanup
 * (ssh.ts cleanupRuntimeDir) ends every one still here.
 */
export const runningChildren = new Set<{ kill: (signal?: NodeJS.Signals) => boolean }>();
