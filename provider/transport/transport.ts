/** What the engine needs from a way of reaching a host. The only place processes run on hosts. */
import type { Argv } from "../model/argv.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

export interface Transport {
  readonly host: string;
  /** one round trip: a command */
  run(cmd: Argv, opts?: { stdin?: string; timeoutMs?: number }): Promise<RunResult>;
  /** one round trip: a POSIX sh script fed on stdin (used to batch many commands) */
  script(text: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /**
   * The local process that runs `cmd` on the host (counted as a round trip and logged like
   * run()), for callers that must wire its stdio themselves: see handOver().
   */
  prepare(cmd: Argv): { file: string; args: string[] };
  /** round trips made so far (refresh must cost one per host) */
  readonly roundTrips: number;
  /** every command shown as toDisplay() renders it, for audit and tests */
  readonly log: readonly string[];
  close(): Promise<void>;
}

export class HostKeyError extends Error {
  constructor(readonly host: string, detail: string) {
    super(`${host}: the host key does not match the pinned key — refusing to connect (${detail.trim().split("\n").find((l) => /host key|REMOTE HOST|No .* host key/i.test(l)) ?? detail.trim()})`);
    this.name = "HostKeyError";
  }
}

export class ConnectError extends Error {
  constructor(readonly host: string, detail: string) {
    super(`${host}: cannot connect over ssh: ${detail.trim().split("\n").slice(-2).join(" | ")}`);
    this.name = "ConnectError";
  }
}
