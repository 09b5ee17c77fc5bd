import { describe, it, expect } from "vitest";
import { datasetNameProblem, poolNameProblem, snapshotNameProblem, snapshotComponentProblem } from "../../provider/zfs/names.js";

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

describe("each ZFS naming rule says which rule a name breaks", () => {
  const cases: [what: string, problem: (s: string) => string | null, name: string, says: string | null][] = [
    ["an empty pool name", poolNameProblem, "", "pool name is empty"],
    ["a pool name of 239 bytes (the longest)", poolNameProblem, `p${"x".repeat(238)}`, null],
    ["a pool name of 240 bytes", poolNameProblem, `p${"x".repeat(239)}`, "pool name is 240 bytes; the limit is 239 (OpenZFS keeps room for '<pool>/$ORIGIN@$ORIGIN')"],
    ["a pool name with a slash", poolNameProblem, "tank/a", "pool name contains the character '/'; allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["a pool name with a digit first", poolNameProblem, "1tank", "pool name must begin with a letter"],
    ["a pool name that reads as a vdev type", poolNameProblem, "raidz-pool", "pool name may not begin with 'raidz' (reserved for vdev types)"],
    ["a pool named log", poolNameProblem, "log", "pool name may not begin with 'log' (reserved for vdev types)"],
    ["a pool named logs (only 'log' itself is reserved)", poolNameProblem, "logs", null],
    ["a pool name with 'mirror' inside (only the start is reserved)", poolNameProblem, "amirror", null],
    ["a pool name of c and a digit", poolNameProblem, "c0t0", "pool name may not begin with 'c' followed by a digit (reserved)"],
    ["a pool name of c and a letter", poolNameProblem, "cache1", null],
    ["a control character, named by its code point", datasetNameProblem, "tank/a\u001fb", "dataset name contains a control character (U+001F); allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["DEL", datasetNameProblem, "tank/a\u007f", "dataset name contains a control character (U+007F); allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["a space is allowed", datasetNameProblem, "tank/my data", null],
    ["'~' is ASCII but not allowed", datasetNameProblem, "tank/a~", "dataset name contains the character '~'; allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["non-ASCII", datasetNameProblem, "tank/é", "dataset name contains the non-ASCII character 'é' (U+00E9); allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["'@' in a dataset name", datasetNameProblem, "tank/a@b", "a dataset name may not contain '@' (that marks a snapshot)"],
    ["'#' in a dataset name", datasetNameProblem, "tank/a#b", "a dataset name may not contain '#' (that marks a bookmark)"],
    ["'%' in a dataset name", datasetNameProblem, "tank/a%b", "the character '%' is reserved for ZFS internal names"],
    ["a dataset name too long", datasetNameProblem, `tank/${"x".repeat(251)}`, "name is 256 bytes; the limit is 255"],
    ["an empty component", datasetNameProblem, "tank//a", "dataset name has an empty component"],
    ["a '..' component", datasetNameProblem, "tank/../a", "dataset name has a '..' component"],
    ["a bad pool part", datasetNameProblem, "1tank/a", "pool name must begin with a letter"],
    ["a snapshot component with '/'", snapshotComponentProblem, "a/b", "a snapshot name may not contain '@', '#' or '/'"],
    ["a snapshot component with '#'", snapshotComponentProblem, "a#b", "a snapshot name may not contain '@', '#' or '/'"],
    ["a snapshot component with '@'", snapshotComponentProblem, "a@b", "a snapshot name may not contain '@', '#' or '/'"],
    ["a snapshot component with '%'", snapshotComponentProblem, "a%b", "the character '%' is reserved for ZFS internal names"],
    ["a snapshot component too long", snapshotComponentProblem, "s".repeat(256), "snapshot name is 256 bytes; the limit is 255"],
    ["a snapshot component with a bad character", snapshotComponentProblem, "a!", "snapshot name contains the character '!'; allowed are letters, digits, '_', '-', ':', '.' and space"],
    ["a full snapshot name without '@'", snapshotNameProblem, "tank/a", "a snapshot name needs exactly one '@'"],
    ["'@' first", snapshotNameProblem, "@s", "pool name is empty"],
    ["two '@'", snapshotNameProblem, "tank@a@b", "a snapshot name has more than one '@'"],
    ["a full snapshot name too long", snapshotNameProblem, `tank/${"x".repeat(240)}@${"s".repeat(10)}`, "full snapshot name (dataset@snapshot) is 256 bytes; the limit is 255"],
  ];
  it.each(cases)("%s", (_what, problem, name, says) => {
    expect(problem(name)).toBe(says);
  });
});
