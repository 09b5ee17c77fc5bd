/**
 * What the process leaves behind however it ends: ssh's runtime folder (ControlMaster
 * sockets, pinned known_hosts files) is removed on a normal exit, after an error (the CLI
 * exits through process.exit) and on SIGINT/SIGTERM/SIGHUP. On a signal the ssh masters are
 * first asked to exit and a held state lock is released (bounded: a hung master must not
 * keep the process alive), then the folder goes and the process exits as a shell reports a
 * signal death (128 + number).
 */
import { constants } from "node:os";

export interface ExitCleanup {
  /** on a signal: asks the open transports' ssh masters to exit, releases a held state lock */
  closeOpen: () => Promise<void>;
  /** removes the runtime folder; synchronous, as an 'exit' handler must be */
  removeRuntime: () => void;
}

/** How long a signal waits for the masters to exit before removing the folder anyway. */
export const CLOSE_ON_SIGNAL_MS = 3_000;

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
      ending = true;
      const bounded = new Promise<void>((r) => setTimeout(r, CLOSE_ON_SIGNAL_MS).unref());
      void Promise.race([c.closeOpen(), bounded]).finally(() => {
        c.removeRuntime();
        process.exit(code);
      });
    });
  }
}
