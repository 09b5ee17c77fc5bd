/**
 * What the process leaves behind however it ends: ssh's runtime folder (ControlMaster
 * sockets, pinned known_hosts files) is removed on a normal exit, after an error (the CLI
 * exits through process.exit) and on SIGINT/SIGTERM/SIGHUP. On a signal a held state lock is
 * first released and the ssh masters are asked to exit (bounded: a hung master must not
 * keep the process alive), then the folder goes (ssh processes still running are ended) and
 * the process exits as a shell reports a signal death (128 + number).
 *
 * Except during work that stops gracefully (an apply's changes and transfers: `stoppable`):
 * there the first SIGINT only asks the work to stop — it starts nothing new, lets what hosts
 * are running finish and be recorded, and its command then ends as usual (lock released,
 * masters closed). A second signal, or a SIGTERM/SIGHUP, abandons it: the work says what it
 * leaves running, and the process exits at once (after at most ABANDON_CLOSE_MS closing the
 * masters and releasing the lock).
 */
import { constants } from "node:os";

export interface ExitCleanup {
  /** on a signal: releases a held state lock, asks the open transports' ssh masters to exit */
  closeOpen: () => Promise<void>;
  /** removes the runtime folder; synchronous, as an 'exit' handler must be */
  removeRuntime: () => void;
}

/** Work a first Ctrl-C stops gracefully. */
export interface GracefulWork {
  /** the first SIGINT: start nothing new (and say so) */
  stop(): void;
  /** a further signal, or a SIGTERM/SIGHUP: say what is left running; the process exits next */
  abandon(signal: NodeJS.Signals): void;
}

/** How long a signal waits for the masters to exit before removing the folder anyway. */
export const CLOSE_ON_SIGNAL_MS = 3_000;

/** The same when work is abandoned: the operator asked to exit now. */
export const ABANDON_CLOSE_MS = 1_000;

let current: { work: GracefulWork; stopAsked: boolean } | null = null;

/** Runs `fn` as work that a first SIGINT stops gracefully (see above); outside it, signals end the process. */
export async function stoppable<T>(work: GracefulWork, fn: () => Promise<T>): Promise<T> {
  const mine = { work, stopAsked: false };
  current = mine;
  try {
    return await fn();
  } finally {
    if (current === mine) current = null;
  }
}

export function installExitCleanup(c: ExitCleanup): void {
  process.once("exit", () => c.removeRuntime());
  let ending = false;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // `on`, not `once`: execa's signal-exit re-raises the signal (killing the process at
    // once) when it finds itself the only listener left; a second signal ends without waiting
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      if (ending) {
        c.removeRuntime();
        process.exit(code);
      }
      const graceful = current;
      if (graceful && signal === "SIGINT" && !graceful.stopAsked) {
        graceful.stopAsked = true;
        graceful.work.stop();
        return;
      }
      if (graceful) graceful.work.abandon(signal);
      ending = true;
      const bounded = new Promise<void>((r) => setTimeout(r, graceful ? ABANDON_CLOSE_MS : CLOSE_ON_SIGNAL_MS).unref());
      void Promise.race([c.closeOpen(), bounded]).finally(() => {
        c.removeRuntime();
        process.exit(code);
      });
    });
  }
}
