/** Fact parsers on output captured from real hosts (test/fixtures, written by test/lab/capture-fixtures.ts). */
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { zfsVersion, pools, poolProperties, datasetProperties, datasetPropertiesTabs, objectNames, snapshots, parseSource } from "../../provider/zfs/facts.js";
import { ParseError } from "../../provider/model/fact.js";
import { toDisplay } from "../../provider/model/argv.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const read = (fact: string, c: string) => readFileSync(join(fixtures, fact, `${c}.txt`), "utf8");
const cmd = (fact: string, c: string) => readFileSync(join(fixtures, fact, `${c}.cmd`), "utf8").trim();
const cases = (fact: string) => readdirSync(join(fixtures, fact)).filter((f) => f.endsWith(".txt")).map((f) => f.slice(0, -4));

describe("fixtures were captured with the commands the facts run", () => {
  it.each([
    ["zpool-list", pools.command],
    ["zpool-get", poolProperties.command],
    ["zfs-list-snapshots", snapshots.command],
    ["zfs-version", zfsVersion.command],
  ] as const)("%s", (fact, command) => {
    for (const c of cases(fact)) expect(cmd(fact, c)).toBe(toDisplay(command));
  });
  it("zfs-get", () => expect(cmd("zfs-get", "zfs-2.3-mixed-sources")).toBe(toDisplay(datasetPropertiesTabs(["com.example:owner"]).command)));
  it("zfs-get-json", () => expect(cmd("zfs-get-json", "zfs-2.3-mixed-sources")).toBe(toDisplay(datasetProperties(["com.example:owner"]).command)));
  it("zfs-list-names", () => expect(cmd("zfs-list-names", "zfs-2.3-mixed-sources")).toBe(toDisplay(objectNames.command)));
});

describe("zfs version", () => {
  it("reads the userland and kernel module versions of OpenZFS 2.3", () => {
    expect(zfsVersion.parse(read("zfs-version", "zfs-2.3-host"))).toMatchObject({ userland: "2.3.2", kernel: "2.3.2" });
  });
  it("says null for a ZFS that is not OpenZFS", () => {
    expect(zfsVersion.parse("unrecognized command 'version'\n").userland).toBeNull();
  });
});

describe("zpool list", () => {
  it("parses no pools as an empty list", () => expect(pools.parse(read("zpool-list", "zfs-2.3-no-pools"))).toEqual([]));
  it("parses a pool row with exact bytes", () => {
    expect(pools.parse(read("zpool-list", "zfs-2.3-one-pool"))).toEqual([
      { name: "fx", health: "ONLINE", guid: "15119553816418719492", size: "1006632960", allocated: "1286144", free: "1005346816" },
    ]);
  });
  it("refuses a row with a missing column", () => {
    expect(() => pools.parse("fx\tONLINE\t1\t2\t3\n")).toThrow(ParseError);
  });
  it("refuses a pool listed twice", () => {
    const row = read("zpool-list", "zfs-2.3-one-pool");
    expect(() => pools.parse(row + row)).toThrow(/listed twice/);
  });
});

describe("zpool get", () => {
  it("keeps features and sources", () => {
    const t = poolProperties.parse(read("zpool-get", "zfs-2.3-one-pool"));
    const fx = t.get("fx")!;
    expect(fx.get("ashift")).toEqual({ value: "12", source: { kind: "local" } });
    expect(fx.get("feature@zstd_compress")?.value).toMatch(/enabled|active/);
    expect(fx.get("feature@large_blocks")?.value).toMatch(/enabled|active/);
  });
});

describe.each([
  ["zfs get -j (OpenZFS 2.3)", () => datasetProperties(["com.example:owner"]).parse(read("zfs-get-json", "zfs-2.3-mixed-sources"))],
  ["zfs get -Hp, checked as a grid (before 2.3)", () => datasetPropertiesTabs(["com.example:owner"]).parse(read("zfs-get", "zfs-2.3-mixed-sources"), objectNames.parse(read("zfs-list-names", "zfs-2.3-mixed-sources")))],
] as const)("%s with the source column", (_, parse) => {
  const t = parse();
  it.each([
    ["fx/tuned", "recordsize", "1048576", { kind: "local" }],
    ["fx/tuned", "compression", "zstd", { kind: "local" }],
    ["fx/tuned", "quota", "536870912000", { kind: "local" }],
    ["fx/tuned/child", "atime", "off", { kind: "local" }],
    ["fx/tuned/child", "recordsize", "1048576", { kind: "inherited", from: "fx/tuned" }],
    ["fx/tuned/child", "backplane:managed", "fixture-lineage", { kind: "inherited", from: "fx/tuned" }],
    ["fx/plain", "mountpoint", "/fx/plain", { kind: "inherited", from: "fx" }],
    ["fx/plain", "compression", "on", { kind: "default" }],
    ["fx/with space", "com.example:owner", "media team", { kind: "local" }],
    ["fx/vol", "volsize", "67108864", { kind: "local" }],
    // Set with -o at create, yet OpenZFS 2.3 reports its source as "default": create-only
    // properties are compared by value, never by source.
    ["fx/vol", "volblocksize", "16384", { kind: "default" }],
    ["fx/vol", "type", "volume", { kind: "none" }],
  ])("%s %s = %s", (name, prop, value, source) => {
    expect(t.get(name)!.get(prop)).toEqual({ value, source });
  });
  it("reads every requested property of every dataset", () => {
    expect([...t.keys()].filter((n) => !n.includes("@")).sort()).toEqual(["fx", "fx/plain", "fx/tuned", "fx/tuned/child", "fx/vol", "fx/with space"]);
    const requested = datasetProperties(["com.example:owner"]).command.at(-1)!.text.split(",");
    for (const props of t.values()) expect([...props.keys()].sort()).toEqual([...requested].sort());
  });
});

describe("the checked tab grid refuses what it cannot read unambiguously", () => {
  const names = new Set(["fx", "fx/a"]);
  const grid = datasetPropertiesTabs([]);
  const props = grid.command.at(-1)!.text.split(",");
  const rowsOf = (name: string) => props.map((p) => `${name}\t${p}\t-\t-`).join("\n") + "\n";
  it("reads a well-formed grid", () => expect(grid.parse(rowsOf("fx") + rowsOf("fx/a"), names).size).toBe(2));
  it("refuses duplicates, unknown sources, unknown objects and objects missing from the output", () => {
    expect(() => grid.parse(rowsOf("fx") + rowsOf("fx"), names)).toThrow(/listed twice/);
    expect(() => grid.parse(rowsOf("fx").replace("\t-\n", "\tsomewhere\n") + rowsOf("fx/a"), names)).toThrow(/unknown source/);
    expect(() => grid.parse(rowsOf("fx") + rowsOf("fx/b"), names)).toThrow(/"fx\/b" is not an object on the host/);
    expect(() => grid.parse(rowsOf("fx"), names)).toThrow(/objects missing from the output: fx\/a/);
    expect(parseSource("inherited from tank/a b")).toEqual({ kind: "inherited", from: "tank/a b" });
  });
});

describe("zfs list -t snapshot", () => {
  it("splits names with spaces and reads txg as a number", () => {
    expect(snapshots.parse(read("zfs-list-snapshots", "zfs-2.3-two"))).toEqual([
      { name: "fx/tuned@first", dataset: "fx/tuned", snapshot: "first", guid: "2726221487886760768", createtxg: 20n },
      { name: "fx/with space@snap with space", dataset: "fx/with space", snapshot: "snap with space", guid: "6978589624774281500", createtxg: 21n },
    ]);
  });
});
