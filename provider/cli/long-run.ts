/**
 * An apply's (or replicate's) long run as the operator sees it: a line when each change
 * starts and ends, reminders while it runs (engine/progress.ts decides them; a timer here asks
 * every second), and Ctrl-C: the first asks the apply to stop (`stop`, an AbortSignal the
 * engine checks before starting anything), a second abandons what hosts are still running and
 * names it (cli/on-exit.ts exits then).
 */
import { ProgressBoard, runningLine, type ProgressEvent, type StartEvent } from "../engine/progress.js";
import { stoppable } from "./on-exit.js";
import { ApplyInterruptedError } from "../engine/apply.js";

export const INTERRUPT_RECEIVED = "Interrupt received. Stopping after the changes already running; state is saved. Press Ctrl-C again to abandon them.";

/** The exit code of a command stopped by Ctrl-C, as a shell reports a SIGINT death (128 + 2). */
export const INTERRUPTED_EXIT = 130;

/** What a second Ctrl-C (or a SIGTERM/SIGHUP during the run) says before the process exits. */
export function abandonMessage(running: readonly StartEvent[], now: number, signal: NodeJS.Signals): string {
  const head = signal === "SIGINT" ? "Second interrupt: exiting now" : `${signal} received: exiting now`;
  if (running.length === 0) return `${head}; no change was running on a host. State holds every change that completed.`;
  return [
    `${head}, abandoning what is still running on hosts:`,
    ...running.map((e) => `  - ${runningLine(e, now)}`),
    "Its outcome is unknown: state holds every change that completed, and the next plan finds out what these did (what they made carries its ownership marker and is adopted; an interrupted transfer resumes).",
  ].join("\n");
}

export interface LongRunIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** stdout is a terminal: a reminder per change every 10 s (else at most one line per 30 s) */
  tty: boolean;
  now?: () => number;
}

export class LongRun {
  private readonly board: ProgressBoard;
  private readonly controller = new AbortController();
  private readonly now: () => number;

  constructor(private readonly io: LongRunIo) {
    this.board = new ProgressBoard({ style: io.tty ? "tty" : "ci" });
    this.now = io.now ?? Date.now;
  }

  /** The engine's own log lines (each step, each transfer's progress), indented under the per-resource lines. */
  readonly detail = (line: string): void => this.io.out(`  ${line}`);

  /** Runs the engine call `fn` with the stop signal and progress listener to hand to apply(). */
  async run<T>(fn: (watch: { stop: AbortSignal; onProgress: (e: ProgressEvent) => void }) => Promise<T>): Promise<T> {
    const ticker = setInterval(() => {
      for (const line of this.board.tick(this.now())) this.io.out(line);
    }, 1_000);
    ticker.unref();
    try {
      return await stoppable({
        stop: () => {
          this.io.err(`\n${INTERRUPT_RECEIVED}`);
          this.controller.abort();
        },
        abandon: (signal) => this.io.err(`\n${abandonMessage(this.board.runningNow(), this.now(), signal)}`),
      }, () => fn({ stop: this.controller.signal, onProgress: (e) => { for (const line of this.board.event(e)) this.io.out(line); } }));
    } finally {
      clearInterval(ticker);
    }
  }
}

/** The apply stopped because it was asked to, with nothing failed (exit INTERRUPTED_EXIT, not 1). */
export function interruption(e: unknown): e is ApplyInterruptedError {
  return e instanceof ApplyInterruptedError;
}
