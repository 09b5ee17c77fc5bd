/** The backplane_host data source: facts from a real refresh, references to them, preconditions. */
import { describe, it, expect } from "vitest";
import { loadStack } from "../../provider/engine/load.js";
import { makePlan } from "../../provider/engine/plan.js";
import { toDisplay } from "../../provider/model/argv.js";
import { hostFacts } from "../../provider/resources/host-facts.js";
import { withHost } from "./helpers/synth.js";
import { liveFrom } from "./helpers/seed.js";
import type { Host } from "../../constructs/index.js";

function planWith(fixture: string, build: (h: Host) => void) {
  const graph = loadStack(withHost((h) => build(h)));
  return makePlan({ stack: "test", graph, state: null, live: new Map([["prod", liveFrom(fixture, "prod")]]), newLineage: "00000000-0000-4000-8000-000000000000" });
}

describe("backplane_host", () => {
  it("reads the facts from the refresh: OpenZFS 2.3 with kernel WireGuard, pool features per pool", () => {
    const f = hostFacts(liveFrom("zfs-2.3-prod-seed", "prod"));
    expect(f.zfs_version).toMatch(/^2\.3\.\d+/);
    expect(f.zfs_kmod).toMatch(/^2\.3\.\d+/);
    expect(f.kernel).toMatch(/^\d+\.\d+\.\d+/);
    expect(f.wireguard).toBe("kernel");
    expect(Object.keys(f.pool_features)).toEqual(["tank"]);
    expect(f.pool_features.tank!.split(",")).toEqual(expect.arrayContaining(["zstd_compress", "large_blocks"]));
  });

  it("reads zfs-fuse as no OpenZFS at all", () => {
    const f = hostFacts(liveFrom("zfs-fuse-0.7-old-pool", "prod"));
    expect(f.zfs_version).toBe("");
    expect(f.wireguard).toBe("wireguard-go");
  });

  it("resolves references to its attributes in other resources at plan", () => {
    const kernel = hostFacts(liveFrom("zfs-2.3-prod-seed", "prod")).kernel;
    const p = planWith("zfs-2.3-prod-seed", (h) => {
      const facts = h.facts();
      h.dataset("x", { name: "tank/x", properties: { "backplane:kernel": facts.kernel } });
    });
    expect(p.errors).toEqual([]);
    const x = p.changes.find((c) => c.id === "tank/x")!;
    expect(toDisplay(x.steps[0]!.command)).toContain(`-o backplane:kernel=${kernel}`);
  });

  it.each([
    ["an old OpenZFS", "zfs-2.3-prod-seed", { minZfsVersion: "2.4" }, /prod must run OpenZFS 2\.4 or newer; it runs OpenZFS 2\.3\.\d+/],
    ["zfs-fuse", "zfs-fuse-0.7-old-pool", { minZfsVersion: "2.0" }, /prod must run OpenZFS 2\.0 or newer; it runs a non-OpenZFS ZFS/],
  ] as const)("refuses the plan on %s when a minimum version is required, naming the data source", (_n, fixture, props, message) => {
    const p = planWith(fixture, (h) => { h.facts(props); });
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]!.address).toMatch(/^data\.backplane_host\.prod_facts_host/);
    expect(p.errors[0]!.message).toMatch(message);
  });

  it("accepts a host that meets the preconditions", () => {
    const p = planWith("zfs-2.3-prod-seed", (h) => { h.facts({ minZfsVersion: "2.2", requireWireguard: true }); });
    expect(p.errors).toEqual([]);
  });

  it("refuses a malformed version at synth with the construct path", () => {
    expect(() => withHost((h) => { h.facts({ minZfsVersion: "latest" }); })).toThrow(/test\/prod\/facts.*min_zfs_version.*must be a version like 2\.2/s);
  });
});
