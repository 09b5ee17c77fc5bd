/**
 * Size parsing exactly as libzfs's zfs_nicestrtonum does it, so `500G` means here what it
 * means on the host: suffixes B K M G T P E Z (powers of 1024, case-insensitive), each
 * optionally followed by `B` or `iB` (`G` = `GB` = `GiB`, but never `BB`/`BiB`); a decimal
 * point switches to floating point; values must fit in 64 bits. Sizes are bigint because
 * ZFS sizes exceed Number.MAX_SAFE_INTEGER.
 */
import { echo } from "../model/echo.js";

export type ParseResult = { ok: true; value: bigint } | { ok: false; reason: string };

const SUFFIXES = "BKMGTPEZ";
const UINT64_MAX = (1n << 64n) - 1n;

function shiftOf(suffix: string): number | null {
  if (suffix === "") return 0;
  const i = SUFFIXES.indexOf(suffix[0]!.toUpperCase());
  if (i < 0) return null;
  const rest = suffix.slice(1).toUpperCase();
  if (rest === "") return 10 * i;
  if (suffix[0]!.toUpperCase() !== "B" && (rest === "B" || rest === "IB")) return 10 * i;
  return null;
}

export function parseSize(text: string): ParseResult {
  if (!/^[0-9.]/.test(text)) {
    return { ok: false, reason: `bad numeric value '${echo(text)}' (sizes are a number with an optional suffix K, M, G, T, P, E or Z)` };
  }
  // leading zeros count for nothing (libzfs reads 70 of them before "1M" as 1M); what is left
  // is no 64-bit size if it is longer than 64 characters (2^64 has 20 digits), and never reaches BigInt
  const digits = text.replace(/^0+(?=[0-9])/, "");
  if (digits.length > 64) return { ok: false, reason: `numeric value '${echo(text)}' is too large (more digits than a 64-bit size has)` };
  const m = /^([0-9]*)(\.[0-9]*)?(.*)$/s.exec(digits)!;
  const [, whole = "", point, rest = ""] = m;
  // a lone "." is no number: libzfs's strtod reads nothing, and the "." starts the suffix
  const [fraction, suffix] = whole === "" && point === "." ? [undefined, `.${rest}`] : [point, rest];
  const shift = shiftOf(suffix);
  if (shift === null) return { ok: false, reason: `invalid numeric suffix '${echo(suffix)}' in '${echo(text)}'` };
  if (fraction !== undefined) {
    // at most 64 characters of digits and one point: always a finite number
    const f = Number(`${whole}${fraction}`);
    const scaled = f * 2 ** shift;
    // UINT64_MAX has no double: the nearest is 2^64, which is already too large (libzfs compares with >= too)
    if (scaled >= 2 ** 64) return { ok: false, reason: `numeric value '${echo(text)}' is too large` };
    return { ok: true, value: BigInt(Math.trunc(scaled)) };
  }
  // whole is never empty here: a text that starts with a point has a fraction, or fails as a suffix above
  const n = BigInt(whole);
  if (n > UINT64_MAX) return { ok: false, reason: `numeric value '${echo(text)}' is too large` };
  const v = n << BigInt(shift);
  if (shift >= 64 || v > UINT64_MAX) return { ok: false, reason: `numeric value '${echo(text)}' is too large` };
  return { ok: true, value: v };
}

/** Human form for plan output: the largest exact binary unit (536870912000 → "500G"). */
export function formatSize(bytes: bigint): string {
  if (bytes === 0n) return "0";
  for (let i = SUFFIXES.length - 1; i >= 1; i--) {
    const unit = 1n << BigInt(10 * i);
    if (bytes % unit === 0n) return `${bytes / unit}${SUFFIXES[i]}`;
  }
  return bytes.toString();
}
