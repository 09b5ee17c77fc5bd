/**
 * The one quoting function, end to end: words a stack may carry to a host — hostile shell
 * syntax, quotes, newlines, unicode (combining marks, zero-width, bidi overrides), long
 * words — reach a real host over ssh as exactly the argv elements they were, checked by a
 * command on the host that echoes its argv back (printf '%s\0'), all in one round trip.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { transport } from "./helpers.js";
import { argv } from "../../provider/model/argv.js";

const HOSTILE = [
  "tank/x; reboot", "a && b", "a || b", "a | b", "`id`", "$(id)", "${HOME}", "$HOME", "'", "\"", "'\"'\"'", "\\", "\\'",
  "-rf", "--", "-", "..", "../../etc/passwd", "a\nb", "a\tb", "a\rb", " leading", "trailing ", "",
  "e\u0301", "zero\u200bwidth", "bidi\u202eevil", "\u{1f600}", "日本語/データ", "*", "?", "[a-z]", "~", "~root", "#comment", "a;#", "!", "!!", "%s%n", "x".repeat(4096),
];

describe("argv reaches the host intact", () => {
  it("every word, hand-written and generated, arrives as exactly one argv element equal to it", async () => {
    const generated = fc.sample(fc.string({ unit: "binary", maxLength: 64 }).filter((s) => !s.includes("\0") && Buffer.from(s, "utf8").toString("utf8") === s), { numRuns: 400, seed: 20261126 });
    const words = [...HOSTILE, ...generated];
    const t = transport("prod");
    const before = t.roundTrips;
    const r = await t.run(argv("printf", "%s\\0", ...words));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(t.roundTrips - before).toBe(1);
    const back = r.stdout.split("\0").slice(0, -1);
    expect(back).toHaveLength(words.length);
    const mangled = words.map((w, i) => [w, back[i]] as const).filter(([w, b]) => w !== b);
    console.log(`argv delivery: ${words.length} words (${HOSTILE.length} hand-written, ${generated.length} generated) sent to prod in one round trip, ${mangled.length} mangled`);
    expect(mangled).toEqual([]);
  });
});
