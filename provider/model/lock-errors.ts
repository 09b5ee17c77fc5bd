/**
 * Why `force-unlock` removed nothing. Each error carries its evidence (the lock file, what was
 * found there, the claim) and its message ends with what to run next. A lock's fields were
 * read from a file: they are shown through echo(), never as they are.
 */
import { echo } from "./echo.js";
import { UNREADABLE_LOCK_ID, forceUnlockCommand, formatDuration, type LockInfo } from "./state.js";

const holderOf = (l: LockInfo) => `${echo(String(l.who))} (pid ${l.pid} on ${echo(String(l.hostname))}) for '${echo(String(l.operation))}' since ${echo(String(l.created))}`;

/** What is at the lock file's name now: a lock, nothing, or a file that holds no readable lock. */
export type LockFound = LockInfo | "absent" | "unreadable";

/**
 * Another process holds the takeover claim and it is young: a takeover is in progress. The
 * taker has judged the lock stale and is about to replace it; force-unlock waits for it rather
 * than remove a lock that may be the taker's a moment later.
 */
export class TakeoverInProgressError extends Error {
  constructor(
    readonly claimFile: string,
    readonly evidence: { ageMs: number; staleAfterMs: number; holder?: { pid: number; hostname: string } },
    readonly lockId: string,
    readonly scope: readonly string[] = [],
  ) {
    const by = evidence.holder ? ` by pid ${evidence.holder.pid} on ${echo(String(evidence.holder.hostname))}` : "";
    super(
      `${claimFile}: another backplane process${by} is taking the lock over (or removing it) right now (its claim is ${formatDuration(evidence.ageMs)} old); ` +
        `nothing was removed, so as not to remove the lock it is about to take. Run again in a few seconds: ${forceUnlockCommand(lockId, scope)} ` +
        `(a claim older than ${formatDuration(evidence.staleAfterMs)} was left by a killed process, and is cleared)`,
    );
    this.name = "TakeoverInProgressError";
  }
}

/**
 * The lock file is not the lock force-unlock was asked to remove: another ID, or it changed
 * (released, taken over) between its judgment and its removal. `movedAside`: it was moved aside
 * for a moment to be checked, and put back, the same file.
 */
export class LockMismatchError extends Error {
  constructor(
    readonly lockFile: string,
    readonly askedId: string,
    readonly found: LockFound,
    readonly evidence: { movedAside: boolean },
    readonly scope: readonly string[] = [],
  ) {
    const asked = echo(askedId);
    const put = evidence.movedAside ? " (it was moved aside for an instant to be checked, and put back as it was)" : "";
    super(
      found === "absent"
        ? `lock ${asked} is no longer there: ${lockFile} does not exist, the state is not locked; nothing was removed`
        : found === "unreadable"
          ? `lock ${asked} is no longer there: ${lockFile} now holds no readable lock${put}; nothing was removed. ` +
              `If no backplane process is running on this state, run: ${forceUnlockCommand(UNREADABLE_LOCK_ID, scope)}`
          : `lock ID ${asked} does not match the current lock ${echo(found.id)}, held by ${holderOf(found)} (${lockFile})${put}; nothing was removed. ` +
              `If that process is gone, run: ${forceUnlockCommand(found.id, scope)}`,
    );
    this.name = "LockMismatchError";
  }
}

/**
 * force-unlock was stopped (SIGSTOP, a suspended laptop) for longer than a claim lives, and
 * another process cleared its claim as a killed process's: what it judged may be stale.
 */
export class ClaimLostError extends Error {
  constructor(readonly claimFile: string, readonly lockFile: string, readonly lockId: string, readonly scope: readonly string[] = []) {
    super(
      `${claimFile}: force-unlock was held up so long that another process cleared its claim; nothing was removed from ${lockFile}. ` +
        `Run it again: ${forceUnlockCommand(lockId, scope)}`,
    );
    this.name = "ClaimLostError";
  }
}

/**
 * The remaining window, reported rather than hidden: force-unlock moved a lock aside to check
 * it, it was not the one judged (another process took the lock while force-unlock was held up
 * past its claim), and in the instant it was aside a third process created a new lock, so it
 * could not be put back. Its holder may still believe it holds the state.
 */
export class LockDisplacedError extends Error {
  constructor(readonly lockFile: string, readonly displaced: LockFound, readonly current: LockFound, readonly scope: readonly string[] = []) {
    const was = typeof displaced === "string" ? "a lock file that holds no readable lock" : `lock ${echo(displaced.id)}, held by ${holderOf(displaced)}`;
    const now = typeof current === "string" ? (current === "absent" ? "no lock" : "a lock file that holds no readable lock") : `lock ${echo(current.id)}, held by ${holderOf(current)}`;
    super(
      `${lockFile}: force-unlock found ${was} instead of the lock it judged, and could not put it back: another process took the lock in that instant (now: ${now}). ` +
        `Both holders may believe they hold the state: stop the process of the displaced lock (or let it finish) before anything else runs on this state. Nothing more needs removing` +
        (typeof current === "string" ? "." : `; if the current holder is gone, run: ${forceUnlockCommand(current.id, scope)}`),
    );
    this.name = "LockDisplacedError";
  }
}
