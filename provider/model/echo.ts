/**
 * How an error message shows a value someone else wrote: never more than ECHO_LIMIT
 * characters, and nothing that can change how the message itself reads — control
 * characters, bidi overrides, zero-width and other format characters, line separators,
 * combining marks and lone surrogates are written as escapes (\n, \t, \u{202E}).
 * A 1 MB value costs a message ~100 characters and a note of its real length.
 */

export const ECHO_LIMIT = 100;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0", "\\": "\\\\" };

// Cc control, Cf format (bidi, zero-width, BOM), Zl/Zp separators, M combining marks, Cs lone surrogates, Co private use
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{M}\p{Cs}\p{Co}]/u;

function escapeChar(ch: string): string {
  if (ch in NAMED) return NAMED[ch]!;
  if (!UNSAFE.test(ch)) return ch;
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, "0")}` : `\\u{${cp.toString(16).toUpperCase()}}`;
}

/** escapeChar for a message whose parts are already escaped: a backslash stays as it is. */
function escapeInMessage(ch: string): string {
  return ch === "\\" ? ch : escapeChar(ch);
}

/** The value, escaped and clipped to ECHO_LIMIT characters (code points) of the original. */
export function echo(value: string, limit = ECHO_LIMIT): string {
  let out = "";
  let n = 0;
  for (const ch of value) {
    if (n === limit) {
      const total = [...value].length;
      return `${out}…(${total} characters)`;
    }
    out += escapeChar(ch);
    n++;
  }
  return out;
}

/** Any value, for messages: strings echoed, the rest described by type. */
export function echoAny(value: unknown, limit = ECHO_LIMIT): string {
  if (typeof value === "string") return echo(value, limit);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? `a list of ${value.length}` : `an object`;
}

/**
 * The safety net for a whole message built from several parts: escapes what echo() escapes
 * except the backslash (already escaped parts stay readable) and clips it to `limit`.
 */
export function safeMessage(message: string, limit = 1000): string {
  let out = "";
  let n = 0;
  for (const ch of message) {
    if (n === limit) return `${out}…(message clipped)`;
    out += escapeInMessage(ch);
    n++;
  }
  return out;
}

/** How many characters of a host's own words (stderr) a message carries: the end, where errors are. */
export const HOST_SAID_LIMIT = 600;

/**
 * What a host wrote on stderr, for a message: trimmed, lines joined with " | " (a host cannot
 * add lines that read as backplane's own), every unsafe character escaped, and at most the
 * last HOST_SAID_LIMIT characters with a note of how much was left out — a command that
 * prints megabytes of errors costs a message one short line.
 */
export function hostSaid(stderr: string, limit = HOST_SAID_LIMIT): string {
  const chars = [...stderr.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join(" | ")];
  // from the end, until the escaped text (not the raw one) reaches the limit
  const parts: string[] = [];
  let length = 0;
  let i = chars.length;
  while (i > 0) {
    const e = escapeInMessage(chars[i - 1]!);
    if (length + e.length > limit) break;
    parts.push(e);
    length += e.length;
    i--;
  }
  const text = parts.reverse().join("");
  return i > 0 ? `(${i} characters before this left out)…${text}` : text;
}
