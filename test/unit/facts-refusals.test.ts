/**
 * The ZFS facts' strict parsers (provider/zfs/facts.ts) refuse what they cannot vouch for, and
 * say which fact and which line: each case is output captured from OpenZFS 2.3 (test/fixtures,
 * test/lab/capture-fixtures.ts) broken in one way a host, a hand edit or a forged value could
 * break it. A read that guesses is how a foreign dataset would pass for backplane's.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { datasetProperties, datasetPropertiesTabs, localProperties, localPropertiesTabs, objectNames, parseSource, poolProperties, pools, snapshots, zfsGetJson } from "../../provider/zfs/facts.js";
import { ROOT } from "./helpers/root.js";
import { breakLine, expectRefused, outputLines as rows, withColumn as col } from "./helpers/refusals.js";

const read = (fact: string, c: string) => readFileSync(join(ROOT, "test", "fixtures", fact, `zfs-2.3-${c}.txt`), "utf8");
/** the captured `zfs get -j` document, edited */
const json = (c: string, edit: (doc: any) => void) => {
  const doc = JSON.parse(read("zfs-get-json", c));
  edit(doc);
  return JSON.stringify(doc);
};

const POOL = read("zpool-list", "one-pool");
const POOL2 = POOL + col(rows(POOL)[0]!, 0, "fy") + "\n";
const POOL_PROPS = read("zpool-get", "one-pool");
const SNAPS = read("zfs-list-snapshots", "two");
const NAMES_TEXT = read("zfs-list-names", "mixed-sources");
const NAMES = objectNames.parse(NAMES_TEXT);
const LOCAL_TABS = read("zfs-get", "forged-rows-local");
const LOCAL_NAMES = objectNames.parse(read("zfs-list-names", "forged-rows"));
const GRID = read("zfs-get", "mixed-sources");
const grid = datasetPropertiesTabs(["com.example:owner"]);
const PER_OBJECT = grid.command.at(-1)!.text.split(",").length;

describe("the ZFS parsers refuse a line they cannot vouch for, naming the fact and the line", () => {
  const refused: Array<[string, () => unknown, RegExp]> = [
    ["a pool row short of a column", () => pools.parse(breakLine(POOL2, 2, (l) => l.split("\t").slice(0, 5).join("\t"))), /^zpool list: line 2: expected 6 tab-separated columns, got 5: "fy\\t/],
    ["a pool listed twice", () => pools.parse(POOL + POOL), /^zpool list: line 2: pool fx listed twice$/],
    ["a pool GUID that is not a number", () => pools.parse(breakLine(POOL2, 2, (l) => col(l, 2, "15119553816418719492x"))), /^zpool list: line 2: guid '15119553816418719492x' is not a number$/],
    ["a pool GUID after text", () => pools.parse(breakLine(POOL2, 2, (l) => col(l, 2, "x15119553816418719492"))), /^zpool list: line 2: guid 'x15119553816418719492' is not a number$/],
    ["a pool property of no known source", () => poolProperties.parse(breakLine(POOL_PROPS, 3, (l) => col(l, 3, "defaults"))), /^zpool get: line 3: unknown source 'defaults'$/],
    ["a pool property listed twice", () => poolProperties.parse(breakLine(POOL_PROPS, 3, (_, previous) => previous)), /^zpool get: line 3: fx capacity listed twice$/],
    ["a dataset name among the snapshots", () => snapshots.parse(breakLine(SNAPS, 2, (l) => col(l, 0, "fx/with space"))), /^zfs list -t snapshot: line 2: 'fx\/with space' is not a snapshot name$/],
    ["a snapshot listed twice", () => snapshots.parse(breakLine(SNAPS, 2, (_, previous) => previous)), /^zfs list -t snapshot: line 2: fx\/tuned@first listed twice$/],
    ["a createtxg that is not a number", () => snapshots.parse(breakLine(SNAPS, 2, (l) => col(l, 2, "2l"))), /^zfs list -t snapshot: line 2: createtxg '2l' is not a number$/],
    ["a createtxg after text", () => snapshots.parse(breakLine(SNAPS, 2, (l) => col(l, 2, "t21"))), /^zfs list -t snapshot: line 2: createtxg 't21' is not a number$/],
    ["an empty name", () => objectNames.parse(breakLine(NAMES_TEXT, 3, () => "")), /^zfs list -o name: line 3: not a name: ""$/],
    ["a name holding a tab", () => objectNames.parse(breakLine(NAMES_TEXT, 3, (l) => `${l}\tx`)), /^zfs list -o name: line 3: not a name: "fx\/tuned\\tx"$/],
    ["a name listed twice", () => objectNames.parse(breakLine(NAMES_TEXT, 3, (_, previous) => previous)), /^zfs list -o name: line 3: fx\/plain listed twice$/],
    ["a local read naming no object of the host", () => localPropertiesTabs.parse(breakLine(LOCAL_TABS, 2, (l) => col(l, 0, "fx/gone")), LOCAL_NAMES), /^zfs get -s local: line 2: ambiguous output near "fx": "fx\/gone" is not an object on the host/],
    ["a local read whose source is not local", () => localPropertiesTabs.parse(breakLine(LOCAL_TABS, 2, (l) => col(l, 3, "received")), LOCAL_NAMES), /^zfs get -s local: line 2: ambiguous output near "fx\/tuned": source 'received' in a read of local properties$/],
    ["a local read whose object's rows are split", () => localPropertiesTabs.parse(`${rows(LOCAL_TABS)[1]}\n${rows(LOCAL_TABS)[0]}\n${rows(LOCAL_TABS)[2]}\n`, LOCAL_NAMES), /^zfs get -s local: line 3: ambiguous output: the rows of fx\/tuned are not one block/],
    ["a local property listed twice", () => localPropertiesTabs.parse(breakLine(LOCAL_TABS, 3, (_, previous) => previous), LOCAL_NAMES), /^zfs get -s local: line 3: fx\/tuned quota listed twice$/],
    ["a grid row out of the requested order", () => grid.parse(breakLine(GRID, 2, (l) => col(l, 1, "recordsize")), NAMES), /^zfs get -Hp: line 2: ambiguous output near "fx": expected fx guid, got fx recordsize/],
    ["a grid row short of a column", () => grid.parse(breakLine(GRID, 2, (l) => l.split("\t").slice(0, 3).join("\t")), NAMES), /^zfs get -Hp: line 2: ambiguous output near "fx": expected 4 tab-separated columns, got 3/],
    ["a grid cut short inside an object", () => grid.parse(rows(GRID).slice(0, PER_OBJECT + 1).join("\n") + "\n", NAMES), new RegExp(`^zfs get -Hp: line ${PER_OBJECT + 1}: ambiguous output: ${PER_OBJECT + 1} rows is not ${PER_OBJECT} per object$`)],
    ["JSON cut short", () => zfsGetJson("zfs get -j", read("zfs-get-json", "mixed-sources").slice(0, 500)), /^zfs get -j: line 1: not JSON: /],
    ["the JSON of another command", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.output_version.command = "zfs list"))), /^zfs get -j: line 1: not the JSON of zfs get$/],
    ["JSON with no version", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => delete d.output_version)), /^zfs get -j: line 1: not the JSON of zfs get$/],
    ["JSON that is a list", () => zfsGetJson("zfs get -j", "[]"), /^zfs get -j: line 1: not the JSON of zfs get$/],
    ["datasets that are a list", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets = []))), /^zfs get -j: line 1: 'datasets' is not an object$/],
    ["a dataset filed under another name", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets.fx.name = "fx/plain"))), /^zfs get -j: line 1: "fx": not a dataset entry named as its key$/],
    ["properties that are a list", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets.fx.properties = []))), /^zfs get -j: line 1: "fx": not a dataset entry named as its key$/],
    ["a value that is an object", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets.fx.properties.atime.value = { on: true }))), /^zfs get -j: line 1: fx atime: not a value with a source$/],
    ["a value with no source", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => delete d.datasets.fx.properties.atime.source)), /^zfs get -j: line 1: fx atime: not a value with a source$/],
    ["a source type ZFS does not print", () => zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets.fx.properties.atime.source.type = "LOCALLY"))), /^zfs get -j: line 1: fx atime: unknown source type "LOCALLY"$/],
    ["a dataset with a property more than requested", () => datasetProperties(["com.example:owner"]).parse(json("mixed-sources", (d) => (d.datasets.fx.properties["com.example:other"] = { value: "x", source: { type: "LOCAL", data: "-" } }))), /^zfs get -j: line 1: fx: expected exactly the requested properties \(missing: none\)$/],
  ];
  it.each(refused)("%s", (_, parse, message) => expectRefused(parse, message));
});

describe("what the parsers read from the captured output", () => {
  it.each([
    ["local", { kind: "local" }],
    ["default", { kind: "default" }],
    ["received", { kind: "received" }],
    ["temporary", { kind: "temporary" }],
    ["-", { kind: "none" }],
    ["inherited from fx/tuned", { kind: "inherited", from: "fx/tuned" }],
    ["inherited from ", null],
    ["inherited fromfx", null],
    ["Local", null],
  ])("source %j", (text, source) => expect(parseSource(text)).toEqual(source));

  it("the JSON read keeps each source, the dataset an inherited value comes from, and numbers as text", () => {
    const t = zfsGetJson("zfs get -j", json("mixed-sources", (d) => (d.datasets.fx.properties.recordsize.value = 131072)));
    expect(t.get("fx")!.get("recordsize")).toEqual({ value: "131072", source: { kind: "default" } });
    expect(t.get("fx/tuned/child")!.get("recordsize")).toEqual({ value: "1048576", source: { kind: "inherited", from: "fx/tuned" } });
    expect(t.get("fx")!.get("type")).toEqual({ value: "filesystem", source: { kind: "none" } });
    // a document of no datasets (a host with no pool) is an empty table, not an error
    expect(zfsGetJson("zfs get -j", json("mixed-sources", (d) => delete d.datasets)).size).toBe(0);
  });

  it("the local JSON read holds only what is set locally", () => {
    const t = localProperties.parse(read("zfs-get-json", "forged-rows-local"));
    for (const row of t.values()) for (const v of row.values()) expect(v.source.kind).toBe("local");
    expect(t.get("fx/tuned")!.get("backplane:managed")).toEqual({ value: "fixture-lineage", source: { kind: "local" } });
  });

  it("the local tab read groups each object's rows and marks them local", () => {
    const t = localPropertiesTabs.parse(LOCAL_TABS, LOCAL_NAMES);
    expect(t.get("fx/tuned")!.get("quota")).toEqual({ value: "536870912000", source: { kind: "local" } });
    expect(t.get("fx")!.get("mountpoint")).toEqual({ value: "/fx", source: { kind: "local" } });
  });
});
