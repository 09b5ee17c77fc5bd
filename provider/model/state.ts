/**
 * State: what backplane last applied. Version, lineage (a stack's identity; also the value
 * of the backplane:managed ownership marker), serial (bumped on every write), resources.
 * Never holds secrets.
 */

import { randomUUID } from "node:crypto";
import { shellQuote } from "./argv.js";
import { echo } from "./echo.js";

export const STATE_VERSION = 1;

export interface ResourceState {
  type: string;
  host: string;
  /** the object's identity on the host: pool name, dataset name, dataset@snap */
  id: string;
  /** the configuration last applied (normalised) and computed attributes (guid ...) */
  attributes: Record<string, unknown>;
  /**
   * the resources it depended on when it was last applied (Terraform keeps the same per
   * instance): once its code is gone, deletes still run dependents first, across hosts too
   */
  dependencies?: string[];
}

export interface State {
  version: number;
  lineage: string;
  serial: number;
  resources: Record<string, ResourceState>;
}

export function newState(lineage: string = randomUUID()): State {
  return { version: STATE_VERSION, lineage, serial: 0, resources: {} };
}

export interface LockInfo {
  id: string;
  operation: string;
  who: string;
  pid: number;
  hostname: string;
  created: string;
}

/** The ID `backplane force-unlock` takes for a lock file that cannot be read: such a file has no ID of its own. */
export const UNREADABLE_LOCK_ID = "unreadable";

/**
 * The command that removes a lock. `scope` is what names this state on the command line
 * (`--dir`, `--stack`), so the message gives a command that works as it is pasted.
 */
export function forceUnlockCommand(id: string, scope: readonly string[] = []): string {
  return ["backplane", "force-unlock", id, ...scope].map(shellQuote).join(" ");
}

/** A duration for people: 750ms, 12s, 3m20s, 2h5m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""}`;
}

/** Where a lock error happened and how the operator reaches it again. */
export interface LockContext {
  /** the lock file (or the store's name for its lock) */
  lockFile?: string;
  /** command-line words naming this state (see forceUnlockCommand) */
  scope?: readonly string[];
  /** how long the caller waited for the lock before giving up (-lock-timeout) */
  waitedMs?: number;
}

export class StateLockedError extends Error {
  constructor(readonly holder: LockInfo, readonly context: LockContext = {}) {
    // the holder's fields were read from a file: shown through echo(), never as they are
    const h = { who: echo(String(holder.who)), host: echo(String(holder.hostname)), op: echo(String(holder.operation)), since: echo(String(holder.created)), id: echo(String(holder.id)) };
    super(
      `${context.waitedMs !== undefined ? `still locked after waiting ${formatDuration(context.waitedMs)}: ` : ""}` +
        `state is locked by ${h.who} (pid ${holder.pid} on ${h.host}) for '${h.op}' since ${h.since}; lock ID ${h.id}${context.lockFile ? ` (${context.lockFile})` : ""}. ` +
        `${context.waitedMs !== undefined ? "Wait longer with -lock-timeout=DURATION (e.g. -lock-timeout=5m), or, i" : "I"}f that process is gone, run: ${forceUnlockCommand(holder.id, context.scope)}`,
    );
    this.name = "StateLockedError";
  }

  /** The same error for a caller that waited `waitedMs` first. */
  after(waitedMs: number): StateLockedError {
    return new StateLockedError(this.holder, { ...this.context, waitedMs });
  }
}

/**
 * A lock file that holds no lock backplane can read: empty (a process killed between creating
 * it and writing it, with an older backplane that wrote in place) or garbage. It is refused,
 * never guessed at: it may be another process's lock. The message names the file and the
 * command that removes it.
 */
export class UnreadableLockError extends Error {
  constructor(
    readonly lockFile: string,
    readonly evidence: { empty: boolean; detail: string; ageMs: number; staleAfterMs: number },
    readonly scope: readonly string[] = [],
  ) {
    const cmd = forceUnlockCommand(UNREADABLE_LOCK_ID, scope);
    super(
      evidence.empty
        ? `${lockFile}: the state lock file is empty (written ${formatDuration(evidence.ageMs)} ago): a backplane process was killed while taking the lock, or is taking it right now. ` +
            `An empty lock file older than ${formatDuration(evidence.staleAfterMs)} is taken over; if no backplane process is running on this state, remove it now with: ${cmd}`
        : `${lockFile}: the state lock file cannot be read (${evidence.detail}); refusing to lock over it, since it may be another process's lock. ` +
            `If no backplane process is running on this state, remove it with: ${cmd}`,
    );
    this.name = "UnreadableLockError";
  }
}

/**
 * Another process holds the claim to take a stale lock over (state/lock-file.ts) and has not
 * finished: it normally takes milliseconds, so the claim is likely left by a killed process.
 */
export class LockClaimedError extends Error {
  constructor(readonly claimFile: string, readonly ageMs: number, readonly staleAfterMs: number, readonly lockId: string, readonly scope: readonly string[] = []) {
    super(
      `${claimFile}: another backplane process is taking over the stale lock (its claim is ${formatDuration(ageMs)} old); try again in a moment. ` +
        `A claim older than ${formatDuration(staleAfterMs)} was left by a killed process and is cleared by the next command; once it is that old, if no backplane process is running on this state, you can also run: ${forceUnlockCommand(lockId, scope)}`,
    );
    this.name = "LockClaimedError";
  }
}

/** A write of one stack's state over another's (lineage differs): never a serial race, always a mistake. */
export class StateLineageError extends Error {
  constructor(readonly writing: string, readonly stored: string, where: string) {
    super(`refusing to write state of lineage ${writing} over ${where}, which holds lineage ${stored} (another stack's state); nothing was written`);
    this.name = "StateLineageError";
  }
}

export class StateConflictError extends Error {
  constructor(readonly expectedSerial: number, readonly foundSerial: number) {
    super(`state changed underneath us: expected serial ${expectedSerial}, found ${foundSerial}`);
    this.name = "StateConflictError";
  }
}
