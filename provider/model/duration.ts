/**
 * Durations as Terraform reads -lock-timeout (Go's time.ParseDuration): a sequence of
 * decimal numbers each with a unit — 30s, 5m, 1h30m, 1.5h, 500ms — or 0. Strict: no sign (a
 * negative wait means nothing), no space, no bare number (is 30 seconds or minutes?).
 * Days and weeks (7d, 2w) are accepted too: probe thresholds are counted in them.
 */
import { echo } from "../model/echo.js";

// d and w beyond Go's units: a scrub age or a snapshot's freshness is counted in days
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
// longer units first where one is the prefix of another (ms before m)
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)/y;

export class DurationError extends Error {
  constructor(readonly flag: string, readonly text: string) {
    super(`${flag}: '${echo(text)}' is not a duration: write a number with a unit, e.g. 30s, 5m, 1h30m or 500ms (units w, d, h, m, s, ms, us, ns; 0 for none)`);
    this.name = "DurationError";
  }
}

/** Milliseconds (fractions kept: 1500us is 1.5). */
export function parseDuration(text: string, flag = "-lock-timeout"): number {
  if (text === "0") return 0;
  if (text === "") throw new DurationError(flag, text);
  let ms = 0;
  for (let at = 0; at < text.length; ) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) throw new DurationError(flag, text);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  if (!Number.isFinite(ms)) throw new DurationError(flag, text);
  return ms;
}
