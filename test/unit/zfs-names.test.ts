import { describe, it, expect } from "vitest";
import { datasetNameProblem, poolNameProblem, snapshotNameProblem } from "../../provider/zfs/names.js";

describe("ZFS names follow OpenZFS's rules", () => {
  it.each([
    "tank", "tank/srv/uploads", "tank/with space", "tank/a-b_c:d.e", "t", `tank/${"a".repeat(250)}`,
  ])("accepts %s", (name) => expect(datasetNameProblem(name)).toBeNull());

  it.each([
    ["tank/x; reboot", "';'"],
    ["tank/$(reboot)", "'$'"],
    ["tank/a\nb", "control character"],
    ["tank/../etc", "'..' component"],
    ["tank/./x", "'.' component"],
    ["tank//x", "empty component"],
    ["tank/x/", "end with '/'"],
    ["/tank/x", "starts with the pool"],
    ["tank/x@snap", "'@'"],
    ["tank/x#bm", "'#'"],
    ["tank/%x", "'%'"],
    ["tank/аpple", "non-ASCII"], // Cyrillic а look-alike
    ["tank/ｘ", "non-ASCII"], // fullwidth x
    [`tank/${"a".repeat(251)}`, "limit is 255"],
    ["1tank/x", "begin with a letter"],
    ["-tank", "begin with a letter"],
    ["mirror/x", "reserved"],
    ["raidz2pool", "reserved"],
    ["c0t0d0", "'c' followed by a digit"],
    ["log", "reserved"],
    ["tank/x`id`", "'`'"],
    ["tank/x'y", "'''"],
  ])("rejects %j (%s)", (name, why) => {
    expect(datasetNameProblem(name)).toContain(why);
  });

  it("accepts a snapshot name with one '@' and rejects two", () => {
    expect(snapshotNameProblem("tank/x@daily-1")).toBeNull();
    expect(snapshotNameProblem("tank/x@a@b")).toContain("more than one '@'");
    expect(snapshotNameProblem("tank/x")).toContain("exactly one '@'");
    expect(snapshotNameProblem("tank/x@")).toContain("empty");
  });

  it("pool names must start with a letter", () => {
    expect(poolNameProblem("backup")).toBeNull();
    expect(poolNameProblem("_x")).toContain("letter");
  });
});
