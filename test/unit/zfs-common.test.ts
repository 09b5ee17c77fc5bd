/**
 * The ZFS rules every kind shares (provider/resources/zfs-common.ts), on captured refreshes:
 * what counts as backplane's marker, how sizes are shown, what a host's version or pool
 * lacks (and how the message names the host), the property diff's treatment of received
 * values, and GUID identity. Cases found by mutation testing (docs/testing.md).
 */
import { describe, it, expect } from "vitest";
import { markerOf, ownedBy, show, capabilityProblem, diffProperties, guidMismatch, captureGuid } from "../../provider/resources/zfs-common.js";
import { toDisplay } from "../../provider/model/argv.js";
import { liveFrom } from "./helpers/seed.js";
import type { PropertyValue } from "../../provider/model/live.js";

const local = (value: string): PropertyValue => ({ value, source: { kind: "local" } });

describe("the ownership marker", () => {
  it("is a local backplane:managed value; '-' (unset) and an inherited or received one are no marker", () => {
    expect(markerOf(new Map([["backplane:managed", local("L1")]]))).toBe("L1");
    expect(markerOf(new Map([["backplane:managed", local("-")]]))).toBeNull();
    expect(markerOf(new Map([["backplane:managed", { value: "L1", source: { kind: "inherited", from: "tank" } }]]))).toBeNull();
    expect(markerOf(new Map([["backplane:managed", { value: "L1", source: { kind: "received" } }]]))).toBeNull();
    expect(markerOf(undefined)).toBeNull();
    expect(ownedBy(new Map([["backplane:managed", local("L1")]]), "L2")).toBe(false);
  });
});

describe("sizes shown to people", () => {
  it("a byte count of a size property gets its short form from 1K; others and smaller values stay as they are", () => {
    expect(show("quota", "536870912000")).toBe("536870912000 (500G)");
    for (const p of ["recordsize", "refquota", "reservation", "refreservation", "volsize", "volblocksize", "special_small_blocks"]) expect(show(p, "1024")).toBe("1024 (1K)");
    expect(show("quota", "1023")).toBe("1023");
    expect(show("copies", "2048")).toBe("2048");
    expect(show("quota", "none")).toBe("none");
    expect(show("quota", undefined)).toBeUndefined();
  });
});

describe("capabilities, by the host's own facts", () => {
  it("a value newer than the host's OpenZFS names the version the host runs", () => {
    const v21 = liveFrom("zfs-2.1-prod-pool", "prod");
    expect(capabilityProblem(v21, "tank", "redundant_metadata", "some")).toBe("redundant_metadata=some needs OpenZFS 2.2; host runs OpenZFS 2.1.11");
    expect(capabilityProblem(v21, "tank", "redundant_metadata", "most")).toBeNull();
  });
  it("on a ZFS that is not OpenZFS, the message quotes the first line it answered, and a pool feature cannot be there", () => {
    const fuse = liveFrom("zfs-fuse-0.7-old-pool", "prod");
    expect(fuse.zfs.userland).toBeNull();
    expect(capabilityProblem(fuse, "tank", "relatime", "on")).toBe(`relatime needs OpenZFS 0.7; host runs a non-OpenZFS ZFS (${fuse.zfs.raw.split("\n")[0]})`);
    expect(capabilityProblem({ ...fuse, zfs: { ...fuse.zfs, raw: "" } }, "tank", "relatime", "on")).toBe("relatime needs OpenZFS 0.7; host runs a non-OpenZFS ZFS (unknown)");
    // a pool not on the host yet (created by this plan) on a host without feature flags
    expect(capabilityProblem({ ...fuse, pools: new Map() }, "newpool", "dnodesize", "auto")).toBe("dnodesize=auto needs the large_dnode pool feature; the host's ZFS has no pool features");
  });
  it("a pool without the feature is named; a pool to be created on OpenZFS gets every feature", () => {
    const v21 = liveFrom("zfs-2.1-prod-pool", "prod");
    const pool = [...v21.pools.values()][0]!;
    const without = { ...v21, pools: new Map([[pool.row.name, { ...pool, features: new Set<string>() }]]) };
    expect(capabilityProblem(without, pool.row.name, "dnodesize", "auto")).toBe(`dnodesize=auto needs the large_dnode pool feature; pool ${pool.row.name} does not have feature large_dnode enabled`);
    expect(capabilityProblem(v21, "not-yet", "dnodesize", "auto")).toBeNull();
    expect(capabilityProblem(v21, pool.row.name, "dnodesize", "legacy")).toBeNull();
  });
});

describe("the property diff", () => {
  const never = () => false;
  it("a received value equal to the wish is kept (a replication target's properties came with the stream)", () => {
    const d = diffProperties({ compression: "zstd" }, new Map([["compression", { value: "zstd", source: { kind: "received" } }]]), {}, never);
    expect(d.sets).toEqual({});
    expect(d.attrs).toEqual([]);
  });
  it("an equal value that is only a default or inherited is set locally, saying where it came from", () => {
    const d = diffProperties({ compression: "lz4", atime: "off" }, new Map<string, PropertyValue>([["compression", { value: "lz4", source: { kind: "default" } }], ["atime", { value: "off", source: { kind: "inherited", from: "tank" } }]]), {}, never);
    expect(d.sets).toEqual({ compression: "lz4", atime: "off" });
    expect(d.attrs.map((a) => a.before)).toEqual(["lz4 (default)", "off (inherited from tank)"]);
  });
});

describe("GUID identity", () => {
  it("an empty recorded GUID is none (nothing to compare), a different live one is a different object", () => {
    const rec = (guid: unknown) => ({ type: "backplane_dataset", host: "prod", id: "tank/a", attributes: { guid } });
    expect(guidMismatch(rec(""), "123")).toBeNull();
    expect(guidMismatch(rec(42), "123")).toBeNull();
    expect(guidMismatch(rec("123"), "123")).toBeNull();
    expect(guidMismatch(rec("123"), "456")).toMatch(/^tank\/a on prod is not the object backplane recorded \(guid 456, recorded 123\)/);
  });
  it("is read in the creating batch: zpool list for a pool (old hosts answer it too), zfs get -Hp for the rest", () => {
    expect(toDisplay(captureGuid("tank", true).command)).toBe("zpool list -H -o guid tank");
    expect(toDisplay(captureGuid("tank/a").command)).toBe("zfs get -Hp -o value guid tank/a");
    expect(captureGuid("tank/a").captures).toBe("guid");
  });
});
