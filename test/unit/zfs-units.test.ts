import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSize, formatSize } from "../../provider/zfs/units.js";
import { ROOT } from "./helpers/root.js";

/**
 * How OpenZFS 2.3 itself read each text, set as a dataset's quota on a vm-tier host
 * (test/lab/capture-sizes.mts): the bytes it then held, or its error. Errors other than the
 * parser's three (a quota below what is used, quota=0) come after a successful parse.
 */
const CAPTURED = readFileSync(join(ROOT, "test", "fixtures", "zfs-sizes", "zfs-2.3-quota.txt"), "utf8").split("\n").filter((l) => l !== "").map((l) => l.split("\t") as [string, string, string]);
/** the parse error a message names: libzfs's three, or null for an error of another kind */
const kindOf = (message: string) => {
  if (/numeric value '?.*'? ?is too large/.test(message)) return "too large";
  const suffix = /invalid numeric suffix '([^']*)'/.exec(message);
  if (suffix) return `invalid suffix ${suffix[1]}`;
  if (/bad numeric value/.test(message)) return "bad value";
  return null;
};

describe("sizes parse as OpenZFS 2.3 parsed them on a host", () => {
  it("the capture holds the edges of every rule", () => expect(CAPTURED.length).toBeGreaterThanOrEqual(56));
  it.each(CAPTURED)("%s %j: %s", (answer, text, said) => {
    const r = parseSize(text);
    if (answer === "set") return expect(r).toEqual({ ok: true, value: BigInt(said) });
    const kind = kindOf(said);
    if (kind === null) return expect(r.ok).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.ok === false && kindOf(r.reason)).toBe(kind);
  });
});

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
    expect(formatSize(0n)).toBe("0");
    expect(formatSize(1n << 70n)).toBe("1Z");
    expect(formatSize(3n << 60n)).toBe("3E");
    expect(formatSize(1024n)).toBe("1K");
    expect(formatSize(536870912000n)).toBe("500G");
    expect(formatSize(1536n)).toBe("1536");
    expect(formatSize(1048576n)).toBe("1M");
  });
});
