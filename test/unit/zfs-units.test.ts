import { describe, it, expect } from "vitest";
import { parseSize, formatSize } from "../../provider/zfs/units.js";

describe("sizes parse exactly as libzfs's zfs_nicestrtonum does", () => {
  it.each([
    ["500G", 536870912000n],
    ["500g", 536870912000n],
    ["500GB", 536870912000n],
    ["500GiB", 536870912000n],
    ["1M", 1048576n],
    ["16K", 16384n],
    ["512", 512n],
    ["512B", 512n],
    ["1.5K", 1536n],
    ["0", 0n],
    ["16E", 18446744073709551616n - 0n > 0n ? -1n : -1n],
  ])("%s", (text, bytes) => {
    const r = parseSize(text);
    if (bytes === -1n) expect(r.ok).toBe(false);
    else expect(r).toEqual({ ok: true, value: bytes });
  });

  it.each(["5Q", "-1", "1BB", "1BiB", "G", "", "1KK", "abc", "20000000000000000000"])("rejects %j", (text) => {
    expect(parseSize(text).ok).toBe(false);
  });

  it("formats bytes with the largest exact unit", () => {
    expect(formatSize(536870912000n)).toBe("500G");
    expect(formatSize(1536n)).toBe("1536");
    expect(formatSize(1048576n)).toBe("1M");
  });
});
