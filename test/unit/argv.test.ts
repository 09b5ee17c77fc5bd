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
