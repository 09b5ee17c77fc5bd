/**
 * Commands are structured values: a list of words, each either plain or secret. The one
 * quoting function, `shellQuote`, turns words into the text a POSIX shell reads back as
 * exactly those words — the only way a user value reaches a host (ssh always hands the
 * remote side a command *string*). Secret words print as *** in plans and logs.
 */

export interface Word {
  readonly text: string;
  readonly secret?: boolean;
}

export type Argv = readonly Word[];

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * POSIX single-quote quoting: safe for every byte sequence except NUL, which argv cannot
 * hold. A lone UTF-16 surrogate has no UTF-8 form (it would arrive as U+FFFD): refused too.
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new Error("a command word cannot contain a NUL byte");
  if (/\p{Cs}/u.test(word)) throw new Error("a command word cannot contain a lone surrogate (it has no UTF-8 form)");
  if (word !== "" && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function argv(...words: Array<string | Word>): Argv {
  return words.map((w) => (typeof w === "string" ? { text: w } : w));
}

export function secret(text: string): Word {
  return { text, secret: true };
}

/** The command as the remote shell must receive it. */
export function toShell(cmd: Argv): string {
  return cmd.map((w) => shellQuote(w.text)).join(" ");
}

/** The command as logs and plans may show it. */
export function toDisplay(cmd: Argv): string {
  return cmd.map((w) => (w.secret ? "***" : shellQuote(w.text))).join(" ");
}
