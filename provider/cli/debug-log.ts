/**
 * Where the debug log goes (model/debug-log.ts has the switch and the lines): stderr, or the
 * file BACKPLANE_LOG_PATH names (appended to, created 0600). Off, there is no sink and nothing
 * is formatted. The composition root hands the sink to the transports it makes.
 */
import { appendFileSync } from "node:fs";
import { debugLine, debugSettings } from "../model/debug-log.js";

let chosen: { sink: ((line: string) => void) | undefined } | undefined;

/** The debug log's sink for this process, or undefined when it is off (decided once, from `env`). */
export function debugLog(env: NodeJS.ProcessEnv = process.env): ((line: string) => void) | undefined {
  if (chosen) return chosen.sink;
  const s = debugSettings(env);
  if (s.unknown !== null) process.stderr.write(`backplane: BACKPLANE_LOG=${JSON.stringify(s.unknown)} is not a level backplane knows (set it to debug); no debug log\n`);
  const path = s.path;
  const sink = !s.on ? undefined : path
    ? (line: string) => appendFileSync(path, `${debugLine(new Date(), line)}\n`, { mode: 0o600 })
    : (line: string) => void process.stderr.write(`${debugLine(new Date(), line)}\n`);
  chosen = { sink };
  return sink;
}
