/**
 * -lock-timeout: take the state lock, waiting for a held one to be released up to a timeout
 * (Terraform's default is 0: do not wait). Works on any backend's StateLocker.
 */
import type { StateLocker } from "./backend.js";
import { echo } from "../provider/model/echo.js";
import { LockClaimedError, StateLockedError, formatDuration, type LockInfo } from "../provider/model/state.js";

export interface WaitHooks {
  /** told once, when it starts waiting: who holds the lock and for how long it will wait */
  onWait?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** First retry after this; each wait is longer, up to MAX_PAUSE_MS (a lock is held for seconds to minutes). */
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 2_000;

export async function lockWithin(locker: StateLocker, operation: string, timeoutMs: number, hooks: WaitHooks = {}): Promise<LockInfo> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = now();
  let pause = FIRST_PAUSE_MS;
  let told = false;
  for (;;) {
    try {
      return await locker.lock(operation);
    } catch (e) {
      // only a lock someone holds is waited for; an unreadable lock or an I/O error is not going away
      if (!(e instanceof StateLockedError || e instanceof LockClaimedError)) throw e;
      const waited = now() - start;
      if (waited >= timeoutMs) throw e instanceof StateLockedError && timeoutMs > 0 ? e.after(waited) : e;
      if (!told) {
        const who = e instanceof StateLockedError ? `state is locked by ${echo(e.holder.who)} (pid ${e.holder.pid} on ${echo(e.holder.hostname)}) for '${echo(e.holder.operation)}'` : "another process is taking over a stale lock";
        hooks.onWait?.(`${who}; waiting up to ${formatDuration(timeoutMs)} (-lock-timeout)`);
        told = true;
      }
      await sleep(Math.min(pause, timeoutMs - waited));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}
