/**
 * System OpenSSH through execa: ControlMaster multiplexing, BatchMode, timeouts and strict
 * host key checking against the key pinned in the stack (written to a private known_hosts
 * under a HostKeyAlias) or the given known_hosts file. Trust on first use only when the
 * caller asks for it explicitly (`acceptNewInto`, the CLI's --trust-on-first-use), for a host
 * the stack pins no key for; never silently.
 */
import { execa } from "execa";
import { existsSync, mkdirSync, writeFileSync, mkdtempSync, appendFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { argv, toDisplay, toShell, type Argv } from "../model/argv.js";
import { ConnectError, HostKeyError, neverConnected, runningChildren, type RunOptions, type RunResult, type ScriptOptions, type Transport, type TransportLogging } from "./transport.js";
import { roundTripEnd, roundTripLines } from "../model/debug-log.js";
import type { HostConfig } from "../model/desired.js";

/** This process's folder for ssh's ControlMaster sockets and the pinned known_hosts files. */
let runtime: string | undefined;

function runtimeDir(): string {
  // made again when gone (a temp cleaner, or a test that removed its parent folder)
  if (!runtime || !existsSync(runtime)) {
    runtime = mkdtempSync(join(process.env.BACKPLANE_RUNTIME_DIR ?? tmpdir(), "backplane-ssh-"));
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
  }
  return runtime;
}


/**
 * Ends the ssh processes still running and removes this process's runtime folder, if one was
 * made. Synchronous, so it can run in a process 'exit' handler; close() the transports first
 * where possible (a master whose socket is gone can no longer be told to exit, and lingers
 * until ControlPersist ends). A transport made afterwards makes a new folder.
 */
export function cleanupRuntimeDir(): void {
  for (const child of runningChildren) child.kill("SIGTERM");
  if (!runtime) return;
  rmSync(runtime, { recursive: true, force: true });
  runtime = undefined;
}

/**
 * A value for `ssh -o Key=value`. ssh splits an option line into words (argv_split: quotes
 * and backslash escapes) and expands %-tokens in some options; this quotes the value so
 * ssh reads back exactly `value` — a path with spaces, quotes or '#' included. Control
 * characters cannot be quoted for ssh and never get here (refused at load).
 */
export function sshOptionValue(value: string, opts: { percentTokens: boolean; tokens?: string }): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new Error("an ssh option value cannot hold a control character");
  const escaped = value.replace(/[\\"]/g, (c) => `\\${c}`);
  // `tokens` are ours (e.g. %C), appended unescaped
  return `"${opts.percentTokens ? escaped.replace(/%/g, "%%") : escaped}${opts.tokens ?? ""}"`;
}

/** The pinned key as one known_hosts line for `hostAlias`: type and base64 only, never more. */
export function knownHostsLine(hostAlias: string, hostKey: string): string {
  const [type, b64] = hostKey.split(" ");
  if (!type || !b64 || !/^[A-Za-z0-9_.@-]+$/.test(type) || !/^[A-Za-z0-9+/=]+$/.test(b64) || !/^[A-Za-z0-9_.-]+$/.test(hostAlias)) {
    throw new Error("refusing to write a known_hosts line from a host key or alias that was not validated");
  }
  return `${hostAlias} ${type} ${b64}\n`;
}

/**
 * `ssh -F` does not expand '~' (ssh_config's own paths do): a leading "~/" is the operator's
 * home as ssh finds it (the password database, not $HOME). "~user/" is refused at load.
 */
export function expandConfigPath(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(userInfo().homedir, path.slice(1)) : path;
}

/**
 * The name a host's key is filed under in every known_hosts backplane writes or reads.
 * Lower case: ssh lowercases HostKeyAlias when it looks a key up and when it records one.
 */
export function hostKeyAlias(alias: string): string {
  return `backplane-${alias.toLowerCase()}`;
}

/**
 * The name ssh itself would look a host up by in a known_hosts file ("addr", or "[addr]:port"
 * off port 22), given explicitly so an ssh_config's HostKeyAlias cannot choose another entry.
 */
export function knownHostsName(address: string, port: number): string {
  const a = address.toLowerCase();
  return port === 22 ? a : `[${a}]:${port}`;
}

export interface SshTransportOptions extends TransportLogging {
  commandTimeoutMs?: number;
  /**
   * Trust on first use, asked for explicitly: a host the stack pins no key for is connected
   * with StrictHostKeyChecking=accept-new and its key recorded in this file (under
   * hostKeyAlias()). Without it such a host is refused before ssh starts.
   */
  acceptNewInto?: string;
}

export class UnpinnedHostError extends Error {
  constructor(readonly host: string) {
    super(`${host}: the stack pins no host key for this host (host_key or known_hosts_file) — refusing to connect; pin its key, or accept the key it presents once with --trust-on-first-use`);
    this.name = "UnpinnedHostError";
  }
}

let knownHostsFiles = 0;
let controlPaths = 0;

export class SshTransport implements Transport {
  readonly host: string;
  roundTrips = 0;
  readonly log: string[] = [];
  private readonly base: string[];

  constructor(private readonly config: HostConfig, private readonly opts: SshTransportOptions = {}) {
    this.host = config.alias;
    // checked before anything is written or spawned
    if (!config.hostKey && !config.knownHostsFile && !opts.acceptNewInto) throw new UnpinnedHostError(config.alias);
    const dir = runtimeDir();
    const options: Record<string, string> = {
      BatchMode: "yes",
      StrictHostKeyChecking: "yes",
      UpdateHostKeys: "no",
      GlobalKnownHostsFile: "/dev/null",
      // an ssh_config_file may name a KnownHostsCommand, which would add keys beside the pinned
      // one, or VerifyHostKeyDNS, which accepts an SSHFP record before known_hosts is read
      KnownHostsCommand: "none",
      VerifyHostKeyDNS: "no",
      CheckHostIP: "no",
      ConnectTimeout: String(config.connectTimeout),
      ServerAliveInterval: "15",
      ServerAliveCountMax: "4",
      ControlMaster: "auto",
      // one master per transport (a counter, never the alias, names it): %C alone is shared by
      // two aliases with the same address, port and user, and stopping one host's master at
      // its timeout would cut the other's session
      ControlPath: sshOptionValue(join(dir, `cm-${++controlPaths}-`), { percentTokens: true, tokens: "%C" }),
      ControlPersist: "120",
      LogLevel: "ERROR",
    };
    if (config.hostKey) {
      // the file is named by a counter, never by the alias: no alias can point it elsewhere
      const known = join(dir, `known_hosts-${++knownHostsFiles}`);
      const hostAlias = hostKeyAlias(config.alias);
      writeFileSync(known, knownHostsLine(hostAlias, config.hostKey), { mode: 0o600 });
      options.UserKnownHostsFile = sshOptionValue(known, { percentTokens: true });
      options.HostKeyAlias = hostAlias;
    } else if (config.knownHostsFile) {
      // UserKnownHostsFile expands %-tokens (OpenSSH >= 8.4; KnownHostsCommand above needs 8.5)
      options.UserKnownHostsFile = sshOptionValue(config.knownHostsFile, { percentTokens: true });
      options.HostKeyAlias = knownHostsName(config.address, config.port);
    } else if (opts.acceptNewInto) {
      // explicit trust on first use: the key the host presents now is recorded, plain (never
      // hashed, so backplane can read back what it accepted) and under the alias, so a later
      // run checks it strictly
      options.StrictHostKeyChecking = "accept-new";
      options.UserKnownHostsFile = sshOptionValue(opts.acceptNewInto, { percentTokens: true });
      options.HostKeyAlias = hostKeyAlias(config.alias);
      options.HashKnownHosts = "no";
    }
    if (config.identityFile) {
      options.IdentityFile = sshOptionValue(config.identityFile, { percentTokens: true });
      options.IdentitiesOnly = "yes";
    }
    this.base = [
      ...(config.sshConfigFile ? ["-F", expandConfigPath(config.sshConfigFile)] : []),
      ...Object.entries(options).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
      "-p", String(config.port),
      "-l", config.user,
      "--", config.address,
    ];
  }

  private remote(cmd: string): string {
    const prefix = toShell(argv(...this.config.commandPrefix));
    return prefix ? `${prefix} ${cmd}` : cmd;
  }

  private account(remoteCommand: string, display: string, stdin: string | undefined, shown: Parameters<typeof roundTripLines>[3], how: Parameters<typeof roundTripLines>[2]): string[] {
    this.roundTrips++;
    this.log.push(display);
    for (const line of this.opts.debug ? roundTripLines(this.host, this.roundTrips, how, shown) : []) this.opts.debug!(line);
    // For the secrets test: every remote command exactly as sent (there is nothing secret in them).
    if (process.env.BACKPLANE_AUDIT_ARGV) appendFileSync(process.env.BACKPLANE_AUDIT_ARGV, `${this.host}\t${remoteCommand}\t${stdin ?? ""}\n`);
    return [...this.base, this.remote(remoteCommand)];
  }

  get commandTimeoutMs(): number {
    return this.timeoutMs();
  }

  private timeoutMs(perCall?: number): number {
    return perCall ?? this.opts.commandTimeoutMs ?? (this.config.commandTimeout ?? 600) * 1000;
  }

  private async exec(remoteCommand: string, display: string, stdin: string | undefined, shown: Parameters<typeof roundTripLines>[3], timeoutMs?: number, onStderr?: (chunk: string) => void): Promise<RunResult> {
    const args = this.account(remoteCommand, display, stdin, shown, "command" in shown ? "run" : "script");
    const n = this.roundTrips;
    const t0 = Date.now();
    try {
      const r = await this.execOnce(args, stdin, timeoutMs, onStderr);
      this.opts.debug?.(roundTripEnd(this.host, n, Date.now() - t0, r));
      return r;
    } catch (e) {
      this.opts.debug?.(roundTripEnd(this.host, n, Date.now() - t0, { failed: (e as Error).message }));
      throw e;
    }
  }

  private async execOnce(args: string[], stdin: string | undefined, timeoutMs?: number, onStderr?: (chunk: string) => void): Promise<RunResult> {
    const t0 = Date.now();
    const limit = this.timeoutMs(timeoutMs);
    const child = execa("ssh", args, {
      input: stdin ?? "",
      reject: false,
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
      // its own process group: a Ctrl-C at the terminal reaches this process (which lets a
      // running batch finish, see cli/on-exit.ts), not ssh, which would cut the batch off
      detached: true,
    });
    runningChildren.add(child);
    if (onStderr) child.stderr?.on("data", (c: Buffer) => onStderr(c.toString("utf8")));
    // Killing ssh is not enough when the host hangs: a multiplexed session's stdio belongs to
    // the ControlMaster too, which keeps the pipes open until its keepalives give up (a
    // minute). Stopping the master closes them, so the caller hears back at the limit.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      void this.close();
    }, limit);
    const r = await child.finally(() => {
      clearTimeout(timer);
      runningChildren.delete(child);
    });
    const stderr = String(r.stderr ?? "");
    const stdout = String(r.stdout ?? "");
    if (timedOut) throw new ConnectError(this.host, `no answer within ${limit / 1000} s (the host's command_timeout)`, "lost", stdout);
    if (r.exitCode === 255) {
      if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
        throw new HostKeyError(this.host, stderr, this.config.hostKey, this.config.hostKeyLearntIn);
      }
      // 255 is also what a remote command may exit with; with output from it, or without
      // ssh's own words for an unreachable host, what ran is unknown
      throw new ConnectError(this.host, stderr || "ssh exited 255", neverConnected(stderr) && stdout === "" ? "connect" : "lost", stdout);
    }
    return { stdout, stderr, exitCode: r.exitCode ?? -1, durationMs: Date.now() - t0 };
  }

  run(cmd: Argv, opts: RunOptions = {}): Promise<RunResult> {
    return this.exec(toShell(cmd), toDisplay(cmd), opts.stdin, { command: cmd }, opts.timeoutMs, opts.onStderr);
  }

  prepare(cmd: Argv): { file: string; args: string[] } {
    return { file: "ssh", args: this.account(toShell(cmd), toDisplay(cmd), undefined, { command: cmd }, "hand-over") };
  }

  script(text: string, opts: ScriptOptions = {}): Promise<RunResult> {
    const display = `sh -s <<script (${text.split("\n").length} lines)>>`;
    return this.exec("sh -s", display, text, opts.commands ? { commands: opts.commands } : { display }, opts.timeoutMs);
  }

  /** Asks the master to exit: the sessions it carries end (a round trip still running has an unknown outcome). */
  async close(): Promise<void> {
    await execa("ssh", [...this.base.slice(0, -2), "-O", "exit", "--", this.config.address], { reject: false, timeout: 10_000 });
  }
}
