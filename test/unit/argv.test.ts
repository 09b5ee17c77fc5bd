/** The one quoting function: whatever a user value holds, the remote shell reads back exactly that word. */
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { argv, secret, shellQuote, toDisplay, toShell } from "../../provider/model/argv.js";

const HOSTILE = [
  "tank/x; reboot", "tank/$(reboot)", "tank/`id`", "a'b", "a\"b", "a\\b", "new\nline", "tab\there", "*", "~root", "-rf",
  "$HOME", "${IFS}", "a|b", "a&&b", "a>b", "<x", "#comment", "!x", "", " ", "ünïcødé", "%", "{a,b}", "x=y z",
];

describe("shellQuote", () => {
  it.each(HOSTILE)("round-trips %j through a real POSIX shell", (word) => {
    const out = execFileSync("sh", ["-c", `printf '%s\\0' ${shellQuote(word)} ${shellQuote("end")}`]).toString();
    expect(out).toBe(`${word}\0end\0`);
  });
  it("leaves safe words unquoted for readable plans", () => {
    expect(toShell(argv("zfs", "set", "compression=zstd", "tank/srv/uploads"))).toBe("zfs set compression=zstd tank/srv/uploads");
    expect(toShell(argv("zfs", "create", "tank/x; reboot"))).toBe("zfs create 'tank/x; reboot'");
  });
  it("refuses a NUL byte", () => expect(() => shellQuote("a\0b")).toThrow(/NUL/));
  it("masks secret words in what it displays, never in what it sends", () => {
    const c = argv("wg", "set", "wg0", "private-key", secret("/dev/stdin-secret"));
    expect(toDisplay(c)).toBe("wg set wg0 private-key ***");
    expect(toShell(c)).toContain("/dev/stdin-secret");
  });
});

describe("what mutation testing found unguarded in the quoting function", () => {
  it("an empty word stays a word: '' on the command line (a bare nothing would drop the argument)", () => {
    expect(shellQuote("")).toBe("''");
    expect(toShell(argv("zfs", "set", "acme:note=", ""))).toBe("zfs set acme:note= ''");
    // read back by a real sh: three arguments after the command, the last one empty
    const out = execFileSync("sh", ["-c", `set -- ${toShell(argv("a", "", "b"))}; echo $#`], { encoding: "utf8" });
    expect(out).toBe("3\n");
  });
  it("a lone surrogate cannot be quoted (it has no UTF-8 form) and is refused by the quoting function itself", () => {
    expect(() => shellQuote("tank/\ud800x")).toThrow(/lone surrogate/);
    expect(() => toShell(argv("zfs", "create", "tank/\udfff"))).toThrow(/lone surrogate/);
  });
});
