/**
 * Hostile and valid inputs for the property-based bad-input tests: hand-written cases (shell
 * metacharacters, quotes, newlines, NUL, leading '-', '..', unicode that looks or reads
 * differently, 255/256-byte boundaries, 1 MB) and fast-check arbitraries around them.
 */
import fc from "fast-check";

const MB = 1 << 20;

export const HAND_WRITTEN: readonly string[] = [
  "; reboot", "x; reboot", "&& id", "a && b", "| cat /etc/shadow", "a|b", "`id`", "$(id)", "${IFS}", "$HOME", "'", "a'b", "\"", "a\"b",
  "a\\b", "a\nb", "\n", "a\rb", "a\tb", "a\0b", "\0", "-rf", "--help", "-o", "-", "..", "../..", "a/../b", ".", "./x", "/", "//",
  "", " ", "  a", "a ", "*", "?", "~root", "#x", "!x", "%C", "%%", "a=b", "a:b", "a@b", "a#b", "@", "{a,b}", "[a]", "\u00e9", "e\u0301",
  "a\u200bb", "\u200d", "\ufeffa", "\u202eabc", "abc\u202e", "\u2066x\u2069", "\u061c", "\u2028", "\ud800", "\u{1F600}", "ａ", "\u0430pple",
  "x".repeat(255), "x".repeat(256), "x".repeat(239), "x".repeat(240), "a".repeat(8191), "a".repeat(8192), "a".repeat(MB), `${"a".repeat(MB)};reboot`, `/${"a".repeat(MB)}`, "1".repeat(MB), `tank/${"a/".repeat(60)}a`,
  "\u007f", "\u0085", "\u00a0", "tank", "tank/ok", "wg0", "root", "127.0.0.1", "::1", "10.0.0.1/24",
];

const SPICY = [..."abcXYZ019 ;&|`$()'\"\n\t\0-./@#%:=~*\\\u0301\u200b\u202e\u00e9"];

/** Anything: the hand-written cases, random unicode, metacharacter soup, valid-looking prefixes with a sting. */
export function hostile(validPrefix: readonly string[] = ["tank/", "a", "/srv/", "com.example:"]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...HAND_WRITTEN), weight: 4 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 300 }), weight: 2 },
    { arbitrary: fc.string({ unit: fc.constantFrom(...SPICY), maxLength: 40 }), weight: 3 },
    { arbitrary: fc.tuple(fc.constantFrom(...validPrefix), fc.constantFrom(...HAND_WRITTEN.filter((s) => s.length < 300))).map(([a, b]) => a + b), weight: 3 },
  );
}

/** A string of 1..max characters drawn from `chars`. */
export function from(chars: string, min: number, max: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max });
}

export const LOWER = "abcdefghijklmnopqrstuvwxyz";
export const ALNUM = `${LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789`;
