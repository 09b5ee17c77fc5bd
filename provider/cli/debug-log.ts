/**
 * Where the debug log goes (model/debug-log.ts has the switch and the lines): stderr, or the
 * file BACKPLANE_LOG_PATH names (appended to, created 0600). Off, there is no sink and nothing
 * is formatted. The composition root hands the sink to the transports it makes.
 */
import { constants, openSync, writeSync } from "node:fs";
import { debugLine, debugSettings } from "../model/debug-log.js";

let chosen: { sink: ((line: string) => void) | undefined } | undefined;

/** The debug log's sink for this process, or undefined when it is off (decided once, from `env`). */
export function debugLog(env: NodeJS.ProcessEnv = process.env): ((line: string) => void) | undefined {
  if (chosen) return chosen.sink;
  const s = debugSettings(env);
  if (s.unknown !== null) process.stderr.write(`backplane: BACKPLANE_LOG=${JSON.stringify(s.unknown)} is not a level backplane knows (set it to debug); no debug log\n`);
  const path = s.path;
  const write = !s.on ? undefined : path ? fileWriter(path) : (text: string) => void process.stderr.write(text);
  // the log must never change what a run does: a log that cannot be written is said once and dropped
  let broken = false;
  const sink = write && ((line: string) => {
    if (broken) return;
    try {
      write(`${debugLine(new Date(), line)}\n`);
    } catch (e) {
      broken = true;
      try {
        process.stderr.write(`backplane: the debug log cannot be written (${(e as Error).message}); no more debug lines\n`);
      } catch {
        // stderr is gone too: nothing more to say
      }
    }
  });
  chosen = { sink };
  return sink;
}

/**
 * Appends to the file, opened once: created 0600, never through a symlink (a predictable
 * path in /tmp must not let another user aim root's log at a file of their choosing).
 */
function fileWriter(path: string): (text: string) => void {
  let fd: number | undefined;
  return (text) => {
    fd ??= openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    writeSync(fd, text);
  };
}
