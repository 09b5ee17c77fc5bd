/**
 * The debug log's switch and lines (docs/cli.md, "Long runs"). `BACKPLANE_LOG=debug` turns it
 * on; it goes to stderr, or is appended to the file `BACKPLANE_LOG_PATH` names. Every command
 * a host runs is one line, shown as toDisplay() shows it — quoted by the one quoting function,
 * secret words as *** — with the round trip it belongs to and, when it ends, how and how fast.
 * Pure: the environment is given; where lines go is the caller's (provider/cli/debug-log.ts).
 */
import { toDisplay, type Argv } from "./argv.js";

export interface DebugSettings {
  /** the debug log is on */
  on: boolean;
  /** append to this file instead of writing to stderr */
  path: string | null;
  /** BACKPLANE_LOG holds a value that means neither on nor off (said once, then ignored) */
  unknown: string | null;
}

const OFF = new Set(["", "off", "0", "false", "no", "none"]);

export function debugSettings(env: Readonly<Record<string, string | undefined>>): DebugSettings {
  const v = (env.BACKPLANE_LOG ?? "").trim();
  const on = /^(debug|trace)$/i.test(v);
  return { on, path: on && env.BACKPLANE_LOG_PATH ? env.BACKPLANE_LOG_PATH : null, unknown: on || OFF.has(v.toLowerCase()) ? null : v };
}

/** A line as the log writes it: an ISO time, the level, the text on one line (a newline in it is shown as \n). */
export function debugLine(at: Date, text: string): string {
  return `${at.toISOString()} [DEBUG] ${text.replace(/\r?\n/g, "\\n")}`;
}

/**
 * The lines for round trip `n` on `host` as it starts: its one command, or each command of a
 * batch script (`commands`) as `[i/N]`, or — a script whose commands are not given — how it is
 * displayed (`sh -s <<script (12 lines)>>`, never its text: a script is not masked).
 */
export function roundTripLines(host: string, n: number, how: "run" | "script" | "hand-over", shown: { command: Argv } | { commands: readonly Argv[] } | { display: string }): string[] {
  const head = `${host} #${n} ${how}`;
  if ("command" in shown) return [`${head}: ${toDisplay(shown.command)}`];
  if ("display" in shown) return [`${head}: ${shown.display}`];
  return shown.commands.map((c, i) => `${head} [${i + 1}/${shown.commands.length}]: ${toDisplay(c)}`);
}

/** How round trip `n` ended: its exit code and output sizes, or why it did not. */
export function roundTripEnd(host: string, n: number, ms: number, r: { exitCode: number; stdout: string; stderr: string } | { failed: string }): string {
  const took = `${(ms / 1000).toFixed(2)}s`;
  return "failed" in r
    ? `${host} #${n} failed after ${took}: ${r.failed}`
    : `${host} #${n} exit ${r.exitCode} after ${took} (stdout ${r.stdout.length} chars, stderr ${r.stderr.length} chars)`;
}
