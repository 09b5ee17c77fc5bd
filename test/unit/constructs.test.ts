import { describe, it, expect } from "vitest";
import { allocateMeshAddresses, PROFILES, Host, WireGuardMesh } from "../../constructs/index.js";
import { loadStack } from "../../provider/engine/load.js";
import { seedDocs } from "./helpers/seed.js";
import { withHost, synth, hostProps } from "./helpers/synth.js";

describe("the seed example", () => {
  it("synthesizes the five service datasets with exactly the seed's properties", () => {
    const doc = seedDocs().seed;
    const byName = Object.fromEntries(Object.values(doc.resource.backplane_dataset as Record<string, any>).map((r) => [r.name, r]));
    expect(byName["tank/srv/uploads"].properties).toEqual({ recordsize: "1M", compression: "zstd", quota: "500G" });
    expect(byName["tank/srv/transcode"].properties).toEqual({ recordsize: "1M", compression: "off", atime: "off" });
    expect(byName["tank/srv/logs"].properties).toEqual({ recordsize: "1M", compression: "zstd-19", atime: "off" });
    expect(byName["tank/srv/ci-workspace"].properties).toEqual({ recordsize: "16K", compression: "lz4", sync: "disabled" });
    expect(byName["tank/srv/ci-workspace"].ephemeral).toBe(true);
    expect(byName["tank/srv/postgres"].properties).toEqual({ recordsize: "8K", logbias: "throughput", compression: "lz4" });
  });

  it("loads into a DAG whose order puts pools before datasets, and keeps the construct path", () => {
    const g = loadStack(seedDocs().seed);
    expect(g.hosts.size).toBe(2);
    const ids = g.order.map((a) => g.resources.get(a)!.config.name);
    expect(ids.indexOf("tank")).toBeLessThan(ids.indexOf("tank/srv"));
    expect(ids.indexOf("tank/srv")).toBeLessThan(ids.indexOf("tank/srv/postgres"));
    expect([...g.resources.values()].find((r) => r.config.name === "tank/srv/logs")!.path).toBe("seed/prod/logs/resource");
    expect(g.backend).toEqual({ type: "local", path: "terraform.seed.tfstate" });
  });

  it("seed-dr wires replication over the mesh with (known after apply) public keys", () => {
    const g = loadStack(seedDocs()["seed-dr"]);
    const peer = [...g.resources.values()].find((r) => r.type === "backplane_wireguard_peer")!;
    expect(peer.config.public_key).toEqual({ unknown: expect.stringMatching(/^backplane_wireguard_interface\..+\.public_key$/) });
    const rep = [...g.resources.values()].filter((r) => r.type === "backplane_replication");
    expect(rep.map((r) => r.config.target_dataset).sort()).toEqual(["backup/prod/postgres", "backup/prod/uploads"]);
  });
});

describe("profiles", () => {
  it("override any property of a profile", () => {
    const doc = withHost((h) => h.dataset("u", { name: "tank/u", profile: "uploads", properties: { quota: "2T" } }));
    expect(Object.values(doc.resource.backplane_dataset as Record<string, any>)[0].properties).toEqual({ ...PROFILES.uploads.properties, quota: "2T" });
  });
});

describe("WireGuardMesh topologies", () => {
  it("hub-and-spoke: spokes peer only with the hub, routing the whole network through it", () => {
    const doc = synth((stack) => {
      const hosts = ["hub", "a", "b"].map((n) => new Host(stack, n, hostProps()));
      new WireGuardMesh(stack, "mesh", { hosts, cidr: "10.201.0.0/24", topology: { hub: hosts[0]! } });
    });
    const peers = Object.values(doc.resource.backplane_wireguard_peer as Record<string, any>);
    const byHost = (h: string) => peers.filter((p) => p.provider === `backplane.${h}`);
    expect(byHost("hub")).toHaveLength(2);
    expect(byHost("a")).toHaveLength(1);
    expect(byHost("a")[0].allowed_ips).toEqual(["10.201.0.0/24"]);
    expect(byHost("hub")[0].allowed_ips[0]).toMatch(/^10\.201\.0\.\d+\/32$/);
  });
  it("full mesh: every host peers with every other", () => {
    const doc = synth((stack) => {
      const hosts = ["a", "b", "c", "d"].map((n) => new Host(stack, n, hostProps()));
      new WireGuardMesh(stack, "mesh", { hosts, cidr: "10.201.0.0/24" });
    });
    expect(Object.keys(doc.resource.backplane_wireguard_peer)).toHaveLength(12);
  });
});

describe("WireGuardMesh addresses", () => {
  it("are deterministic and stay put when a host is added", () => {
    const a = allocateMeshAddresses("10.201.0.0/24", ["prod", "dr"]);
    const b = allocateMeshAddresses("10.201.0.0/24", ["prod", "dr", "edge"]);
    expect(b.get("prod")).toBe(a.get("prod"));
    expect(b.get("dr")).toBe(a.get("dr"));
    expect(new Set(b.values()).size).toBe(3);
    for (const ip of b.values()) expect(ip).toMatch(/^10\.201\.0\.(\d+)$/);
  });
  it("honour pinned host numbers", () => {
    expect(allocateMeshAddresses("10.201.0.0/24", ["prod"], { prod: 1 }).get("prod")).toBe("10.201.0.1");
  });
});
