/**
 * How messages show values someone else wrote (provider/model/echo.ts): escaped so they
 * cannot change how a message reads, clipped so a huge value costs one short line. Cases
 * found by mutation testing (docs/testing.md).
 */
import { describe, it, expect } from "vitest";
import { echo, echoAny, safeMessage, hostSaid, ECHO_LIMIT } from "../../provider/model/echo.js";

describe("echo", () => {
  it("escapes control, format, separator and combining characters by name, \\xNN below U+0100, \\u{…} above", () => {
    expect(echo("a\nb\rc\td\0e\\f")).toBe("a\\nb\\rc\\td\\0e\\\\f");
    expect(echo("\x7f\u00ad")).toBe("\\x7f\\xad");
    expect(echo("\u200b\u202e\u2028\u0301\ue000")).toBe("\\u{200B}\\u{202E}\\u{2028}\\u{301}\\u{E000}");
    expect(echo("plain ünïcödé ✓")).toBe("plain ünïcödé ✓");
  });
  it("clips at the limit in characters of the original, saying how long it was", () => {
    const exact = "x".repeat(ECHO_LIMIT);
    expect(echo(exact)).toBe(exact);
    expect(echo(`${exact}y`)).toBe(`${exact}…(${ECHO_LIMIT + 1} characters)`);
    expect(echo("😀😀😀", 2)).toBe("😀😀…(3 characters)");
  });
});

describe("echoAny", () => {
  it("strings echoed, scalars as they print, lists and objects described by kind", () => {
    expect(echoAny("a\nb")).toBe("a\\nb");
    expect([echoAny(3), echoAny(true), echoAny(false), echoAny(null), echoAny(undefined)]).toEqual(["3", "true", "false", "null", "undefined"]);
    expect(echoAny([1, 2, 3])).toBe("a list of 3");
    expect(echoAny({ secret: "x" })).toBe("an object");
    expect(echoAny("y".repeat(10), 4)).toBe("yyyy…(10 characters)");
  });
});

describe("safeMessage", () => {
  it("keeps backslashes of parts already escaped, escapes the rest, clips at the limit", () => {
    expect(safeMessage("already \\n escaped\nreal newline\u202e")).toBe("already \\n escaped\\nreal newline\\u{202E}");
    expect(safeMessage("abc", 3)).toBe("abc");
    expect(safeMessage("abcd", 3)).toBe("abc…(message clipped)");
  });
});

describe("hostSaid", () => {
  it("joins the host's lines with ' | ', dropping blank ones and trimming each", () => {
    expect(hostSaid("  one  \r\n\n  two\n\n")).toBe("one | two");
    expect(hostSaid("")).toBe("");
  });
  it("keeps the end within the limit counted in escaped characters, and says how much was left out", () => {
    // each tab is two characters once escaped: "a" + 3 tabs + "end" is 10
    expect(hostSaid("a\t\t\tend", 10)).toBe("a\\t\\t\\tend");
    expect(hostSaid("a\t\t\tend", 9)).toBe("(1 characters before this left out)…\\t\\t\\tend");
    expect(hostSaid("a\t\t\tend", 8)).toBe("(2 characters before this left out)…\\t\\tend");
    expect(hostSaid("abcdef", 6)).toBe("abcdef");
    expect(hostSaid("abcdefg", 6)).toBe("(1 characters before this left out)…bcdefg");
    // a backslash the host wrote stays one character
    expect(hostSaid("a\\b", 3)).toBe("a\\b");
  });
});
