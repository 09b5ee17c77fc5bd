/**
 * A user property value may hold tabs and newlines (ZFS allows it, and anyone with
 * `zfs allow userprop` can set one). Captured on OpenZFS 2.3.2 (test/lab/capture-fixtures.ts):
 * fx/tuned/child's com.example:owner holds rows that claim fx/plain and fx/tuned@first carry
 * this stack's marker. No read may believe them: JSON keeps the value whole; the tab grid
 * refuses, naming where it broke; refresh takes no marker from the unchecked tab read.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { datasetProperties, datasetPropertiesTabs, localProperties, localPropertiesTabs, objectNames } from "../../provider/zfs/facts.js";
import { ParseError } from "../../provider/model/fact.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const read = (fact: string, c: string) => readFileSync(join(fixtures, fact, `zfs-2.3-${c}.txt`), "utf8");
const names = objectNames.parse(read("zfs-list-names", "forged-rows"));
const FORGED = "ops\tlocal\nfx/plain\tbackplane:managed\tfixture-lineage\tlocal\nfx/tuned@first\tbackplane:managed\tfixture-lineage";

describe("a property value holding rows cannot forge an ownership marker", () => {
  it("JSON (2.3) keeps the value whole and every object's own marker", () => {
    const t = datasetProperties(["com.example:owner"]).parse(read("zfs-get-json", "forged-rows"));
    expect(t.get("fx/tuned/child")!.get("com.example:owner")).toEqual({ value: FORGED, source: { kind: "local" } });
    expect(t.get("fx/plain")!.get("backplane:managed")).toEqual({ value: "-", source: { kind: "none" } });
    const local = localProperties.parse(read("zfs-get-json", "forged-rows-local"));
    expect(local.get("fx/tuned@first")).toBeUndefined();
    expect(local.get("fx/plain")).toBeUndefined();
  });

  it("the tab grid (before 2.3) refuses the read, naming the dataset whose value broke it", () => {
    const parse = () => datasetPropertiesTabs(["com.example:owner"]).parse(read("zfs-get", "forged-rows"), names);
    expect(parse).toThrow(ParseError);
    expect(parse).toThrow(/ambiguous output near "fx\/tuned\/child".*holds a tab or a newline/);
  });

  it("the unchecked tab read of local properties does let forged rows through: that is why no marker is taken from it", () => {
    // documents the residual ambiguity the refresh works around (live.ts: markers only from JSON or the grid)
    const t = localPropertiesTabs.parse(read("zfs-get", "forged-rows-local"), names);
    expect(t.get("fx/tuned@first")!.get("backplane:managed")!.value).toBe("fixture-lineage");
  });
});

describe("refresh of a host without JSON output (before 2.3) takes markers only from the checked grid", () => {
  const ok = (stdout: string) => ({ stdout, stderr: "", exitCode: 0, elapsedMs: 1 });
  const noJson = { stdout: "", stderr: "invalid option 'j'\n", exitCode: 2, elapsedMs: 1 };
  const sections = (datasetsTabs: string) => new Map([
    ["version", ok("zfs-2.3.2-1~bpo12+1\nzfs-kmod-2.3.2-1~bpo12+1\n")], ["kernel", ok("6.12.0\n")],
    ["pools", ok(read("zpool-list", "one-pool"))], ["pool-properties", ok("")],
    ["names", ok(read("zfs-list-names", "forged-rows"))],
    ["datasets", noJson], ["datasets.tabs", ok(datasetsTabs)],
    ["snapshots", ok(read("zfs-list-snapshots", "two"))],
    ["local-properties", noJson], ["local-properties.tabs", ok(read("zfs-get", "forged-rows-local"))],
    ["wg", ok("")], ["wg-host", ok("impl none\n")], ["ip-addr", ok("")], ["ip-link", ok("")],
  ]);

  it("a snapshot whose only marker is a forged row in the local read is not ours", async () => {
    const { parseRefresh } = await import("../../provider/engine/live.js");
    const live = parseRefresh("prod", sections(read("zfs-get", "mixed-sources")), ["com.example:owner"]);
    expect(live.snapshots.get("fx/tuned@first")!.marker).toBeNull();
    expect(live.datasets.get("fx/plain")!.get("backplane:managed")!.source.kind).toBe("none");
  });

  it("the forged grid itself fails the refresh with the dataset's name", async () => {
    const { parseRefresh } = await import("../../provider/engine/live.js");
    expect(() => parseRefresh("prod", sections(read("zfs-get", "forged-rows")), ["com.example:owner"])).toThrow(/fx\/tuned\/child/);
  });
});

describe("the JSON read is strict too", () => {
  it("refuses a dataset that lacks a requested property (the captured output with one property taken out)", () => {
    const doc = JSON.parse(read("zfs-get-json", "mixed-sources"));
    delete doc.datasets["fx/plain"].properties.quota;
    expect(() => datasetProperties(["com.example:owner"]).parse(JSON.stringify(doc))).toThrow(/fx\/plain: expected exactly the requested properties \(missing: quota\)/);
  });
});
