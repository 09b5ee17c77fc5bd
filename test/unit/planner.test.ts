/**
 * The planner on real captured host states (test/fixtures/refresh) and the synthesized seed
 * stack: a data table of scenarios, and golden files for the three renderings.
 */
import { describe, it, expect } from "vitest";
import { makePlan } from "../../provider/engine/plan.js";
import { renderHuman, renderJson, renderMarkdown } from "../../provider/engine/render.js";
import { summary, type Plan } from "../../provider/model/plan.js";
import { toDisplay } from "../../provider/model/argv.js";
import type { DesiredGraph } from "../../provider/engine/load.js";
import { liveFrom, seedGraph, seedState } from "./helpers/seed.js";
import { golden } from "./helpers/golden.js";


const byId = (g: DesiredGraph, id: string) => [...g.resources.values()].find((r) => r.config.name === id)!;

function plan(opts: { graph?: DesiredGraph; prod: string; dr: string; state: boolean; lineage?: string }): Plan {
  const live = new Map([["prod", liveFrom(opts.prod, "prod")], ["dr", liveFrom(opts.dr, "dr")]]);
  return makePlan({ stack: "seed", graph: opts.graph ?? seedGraph(), state: opts.state ? seedState() : null, live, newLineage: opts.lineage ?? "00000000-0000-4000-8000-000000000000" });
}

describe("planning the seed stack", () => {
  it("on empty hosts: creates pools first, then datasets, with normalised sizes", () => {
    const p = plan({ prod: "zfs-2.3-prod-empty", dr: "zfs-2.3-prod-empty", state: false });
    expect(p.errors).toEqual([]);
    expect(summary(p)).toEqual({ add: 9, change: 0, destroy: 0 });
    const order = p.changes.map((c) => c.id);
    expect(order.indexOf("tank")).toBeLessThan(order.indexOf("tank/srv"));
    expect(order.indexOf("tank/srv")).toBeLessThan(order.indexOf("tank/srv/uploads"));
    const uploads = p.changes.find((c) => c.id === "tank/srv/uploads")!;
    expect(toDisplay(uploads.steps[0]!.command)).toBe(
      "zfs create -o compression=zstd -o quota=536870912000 -o recordsize=1048576 -o backplane:managed=00000000-0000-4000-8000-000000000000 tank/srv/uploads",
    );
    golden("seed-create.txt", renderHuman(p, { color: false }));
    golden("seed-create.md", renderMarkdown(p));
    golden("seed-create.json", renderJson(p));
  });

  it("plan -destroy: every recorded object leaves, datasets kept aside, a pool still holding data left in place and said so, nothing created", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const p = makePlan({ stack: "seed", graph: seedGraph(), state: seedState(), live, newLineage: "unused", destroy: true });
    expect(p.errors).toEqual([]);
    const acting = p.changes.filter((c) => c.action !== "noop");
    expect(acting.map((c) => c.action)).toEqual(acting.map(() => "delete"));
    const pools = Object.entries(seedState().resources).filter(([, r]) => r.type === "backplane_pool").map(([a]) => a);
    expect(new Set(acting.map((c) => c.address))).toEqual(new Set(Object.keys(seedState().resources).filter((a) => !pools.includes(a))));
    // the service datasets go with tank/srv's keep-aside (one rename), not one by one
    const srv = acting.find((c) => c.id === "tank/srv")!;
    expect(srv.keptAside?.at).toMatch(/^tank\/backplane-pre-\d+\/srv$/);
    expect(acting.filter((c) => c.id.startsWith("tank/srv/")).every((c) => c.movedAsideWith === "tank/srv")).toBe(true);
    expect(acting.every((c) => c.destructive || c.keptAside || c.movedAsideWith)).toBe(true);
    // a pool keeps what its datasets held (kept aside inside it): it stays, recorded, and the plan says why
    const left = p.changes.filter((c) => c.action === "noop");
    expect(left.map((c) => c.address).sort()).toEqual(pools.sort());
    expect(left.every((c) => c.note?.startsWith("left in place: pool ") && !c.removeFromState)).toBe(true);
    expect(renderHuman(p, { color: false })).toMatch(/Left in place:\n  = backplane_pool\.\S+ on (prod|dr): left in place: pool (tank|backup) is not empty/);
    // without -destroy the same pool removal is an error (it would take the kept-aside data with it)
    const noPools = makePlan({ stack: "seed", graph: { ...seedGraph(), resources: new Map(), order: [] }, state: seedState(), live, newLineage: "unused" });
    expect(noPools.errors.map((e) => e.address).sort()).toEqual(pools.sort());
    // the same inputs without -destroy change nothing: the flag alone makes the removals
    expect(makePlan({ stack: "seed", graph: seedGraph(), state: seedState(), live, newLineage: "unused" }).changes.every((c) => c.action === "noop")).toBe(true);
  });

  it("plan -destroy -target: only the target and what depends on it leave; a child dataset alone is kept aside alone, its parent and siblings stay", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const uploads = byId(seedGraph(), "tank/srv/uploads").address;
    const p = makePlan({ stack: "seed", graph: seedGraph(), state: seedState(), live, newLineage: "unused", destroy: true, targets: [uploads] });
    expect(p.errors).toEqual([]);
    const acting = p.changes.filter((c) => c.action !== "noop");
    expect(acting.map((c) => [c.id, c.action])).toEqual([["tank/srv/uploads", "delete"]]);
    expect(acting[0]!.keptAside?.at).toMatch(/^tank\/backplane-pre-\d+\/srv\/uploads$/);
    // a pool targeted takes its datasets along (they depend on it), and stays itself while it holds what they kept aside
    const tank = byId(seedGraph(), "tank").address;
    const q = makePlan({ stack: "seed", graph: seedGraph(), state: seedState(), live, newLineage: "unused", destroy: true, targets: [tank] });
    expect(q.errors).toEqual([]);
    expect(q.changes.filter((c) => c.action === "delete").map((c) => c.id).sort()).toEqual(["tank/srv", "tank/srv/ci-workspace", "tank/srv/logs", "tank/srv/postgres", "tank/srv/transcode", "tank/srv/uploads"]);
    expect(q.changes.find((c) => c.id === "tank")).toMatchObject({ action: "noop", note: expect.stringContaining("left in place") });
    expect(q.changes.some((c) => c.host === "dr")).toBe(false);
  });

  it("plan -destroy refuses, at plan, to remove what the code marks prevent_destroy; an adopted pool is left on its host and forgotten", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const g = seedGraph();
    const uploads = byId(g, "tank/srv/uploads");
    uploads.preventDestroy = true;
    const p = makePlan({ stack: "seed", graph: g, state: seedState(), live, newLineage: "unused", destroy: true });
    expect(p.errors).toEqual([{ address: uploads.address, host: "prod", message: "lifecycle.prevent_destroy is set: a destroy may not remove it (remove the flag from the code first)" }]);
    // what was never applied has nothing to protect: a destroy plans around it
    const unapplied = seedState();
    delete unapplied.resources[uploads.address];
    expect(makePlan({ stack: "seed", graph: g, state: unapplied, live, newLineage: "unused", destroy: true }).errors).toEqual([]);
    const state = seedState();
    for (const r of Object.values(state.resources)) if (r.type === "backplane_pool") r.attributes.adopt = true;
    const q = makePlan({ stack: "seed", graph: seedGraph(), state, live, newLineage: "unused", destroy: true });
    expect(q.errors).toEqual([]);
    const pools = q.changes.filter((c) => c.type === "backplane_pool");
    expect(pools.map((c) => [c.id, c.action, c.removeFromState])).toEqual(expect.arrayContaining([["tank", "noop", true], ["backup", "noop", true]]));
    expect(pools.every((c) => /^left in place: pool \S+ was adopted, backplane never destroys it; its record is dropped$/.test(c.note ?? ""))).toBe(true);
  });

  it("after apply: no changes and no drift", () => {
    const p = plan({ prod: "zfs-2.3-prod-seed", dr: "zfs-2.3-dr-seed", state: true });
    expect(p.errors).toEqual([]);
    expect(p.drift).toEqual([]);
    expect(p.changes.every((c) => c.action === "noop")).toBe(true);
    expect(renderHuman(p, { color: false })).toContain("No changes.");
  });

  it("after a hand edit: drift names the property, the plan repairs it, an unmanaged dataset is reported and left alone", () => {
    const p = plan({ prod: "zfs-2.3-prod-seed-drifted", dr: "zfs-2.3-dr-seed", state: true });
    expect(p.drift).toEqual([expect.objectContaining({ host: "prod", id: "tank/srv/logs", property: "compression", recorded: "zstd-19", live: "gzip" })]);
    const logs = p.changes.find((c) => c.id === "tank/srv/logs")!;
    expect(logs.action).toBe("update");
    expect(toDisplay(logs.steps[0]!.command)).toBe("zfs set compression=zstd-19 tank/srv/logs");
    expect(p.notManaged).toEqual([{ host: "prod", kind: "dataset", id: "tank/srv/handmade" }]);
    expect(p.changes.some((c) => c.id === "tank/srv/handmade")).toBe(false);
    golden("seed-drift.txt", renderHuman(p, { color: false }));
    golden("seed-drift.md", renderMarkdown(p));
  });

  it("without state, objects carrying another lineage's marker are refused, never taken over", () => {
    const p = plan({ prod: "zfs-2.3-prod-seed", dr: "zfs-2.3-dr-seed", state: false });
    expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/^tank\/srv\/uploads on prod belongs to another stack \(backplane:managed=/));
  });

  it.each([
    ["a bigger quota updates in place", (g: DesiredGraph) => { (byId(g, "tank/srv/uploads").config.properties as Record<string, string>).quota = "1T"; },
      "tank/srv/uploads", "update", "zfs set quota=1099511627776 tank/srv/uploads"],
    ["a create-only property forces replacement", (g: DesiredGraph) => { (byId(g, "tank/srv/postgres").config.properties as Record<string, string>).casesensitivity = "insensitive"; },
      "tank/srv/postgres", "replace", `zfs snapshot -r tank/srv/postgres@backplane-pre-${seedState().serial + 1}`],
    ["a removed property is inherited again", (g: DesiredGraph) => { delete (byId(g, "tank/srv/transcode").config.properties as Record<string, string>).atime; },
      "tank/srv/transcode", "update", "zfs inherit atime tank/srv/transcode"],
    ["a dataset removed from the code is destroyed (destructive)", (g: DesiredGraph) => { g.resources.delete(byId(g, "tank/srv/ci-workspace").address); g.order = g.order.filter((a) => g.resources.has(a)); },
      "tank/srv/ci-workspace", "delete", `zfs snapshot -r tank/srv/ci-workspace@backplane-pre-${seedState().serial + 1}`],
  ] as const)("%s", (_name, mutate, id, action, firstCommand) => {
    const g = seedGraph();
    mutate(g);
    const p = plan({ graph: g, prod: "zfs-2.3-prod-seed", dr: "zfs-2.3-dr-seed", state: true });
    expect(p.errors).toEqual([]);
    const c = p.changes.find((x) => x.id === id)!;
    expect(c.action).toBe(action);
    expect(c.destructive).toBe(action === "replace" || action === "delete");
    expect(toDisplay(c.steps[0]!.command)).toBe(firstCommand);
    if (action === "replace") expect(renderHuman(p, { color: false })).toContain("# forces replacement");
    if (action === "replace" || action === "delete") {
      // the data is kept: moved aside under <pool>/backplane-pre-<serial>, never destroyed on the spot
      expect(toDisplay(c.steps[1]!.command)).toBe(`zfs rename -p ${id} tank/backplane-pre-${seedState().serial + 1}/${id.slice("tank/".length)}`);
      expect(c.steps.some((s) => s.command.some((w) => w.text === "destroy"))).toBe(false);
    }
  });

  it("a replication is not planned from hosts read without the replication facts, and says so", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")], ["dr", liveFrom("zfs-2.3-prod-empty", "dr")]]);
    const p = makePlan({ stack: "seed-dr", graph: seedGraph("seed-dr"), state: null, live, newLineage: "x" });
    const refused = new Set(p.errors.map((e) => e.address.split(".")[0]));
    expect(refused).toEqual(new Set(["backplane_replication"]));
    expect(p.errors[0]!.message).toBe("target host dr was read without its replication facts");
  });

  it("plans a WireGuard mesh with keys known after apply: peers wait for the interfaces they name", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")], ["dr", liveFrom("zfs-2.3-prod-empty", "dr")]]);
    const g = seedGraph("seed-dr");
    for (const [a, r] of g.resources) if (r.type === "backplane_replication") { g.resources.delete(a); g.order = g.order.filter((x) => x !== a); }
    const p = makePlan({ stack: "seed-dr", graph: g, state: null, live, newLineage: "x" });
    expect(p.errors).toEqual([]);
    const ifaces = p.changes.filter((c) => c.type === "backplane_wireguard_interface");
    const peers = p.changes.filter((c) => c.type === "backplane_wireguard_peer");
    expect(ifaces.map((c) => c.action)).toEqual(["create", "create"]);
    expect(ifaces[0]!.steps[0]!.captures).toBe("public_key");
    expect(peers).toHaveLength(2);
    for (const peer of peers) {
      expect(peer.deferred).toBe(true);
      expect(peer.steps).toEqual([]);
      expect(peer.dependsOn.some((d) => d.startsWith("backplane_wireguard_interface."))).toBe(true);
    }
    const text = renderHuman(p, { color: false });
    expect(text).toContain('public_key  = "(known after apply)"');
  });

  it("--replace of a dataset: a safety snapshot, the dataset moved aside, a new one created — destructive", () => {
    const g = seedGraph();
    const logs = [...g.resources.values()].find((r) => r.config.name === "tank/srv/logs")!;
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const p = makePlan({ stack: "seed", graph: g, state: seedState(), live, newLineage: "x", replace: [logs.address] });
    expect(p.errors).toEqual([]);
    const work = p.changes.filter((c) => c.action !== "noop");
    expect(work).toHaveLength(1);
    expect(work[0]).toMatchObject({ id: "tank/srv/logs", action: "replace", destructive: true, reason: "replacement requested (--replace)" });
    expect(work[0]!.steps.map((s) => toDisplay(s.command))).toEqual([
      expect.stringMatching(/^zfs snapshot -r tank\/srv\/logs@backplane-pre-\d+$/),
      expect.stringMatching(/^zfs rename -p tank\/srv\/logs tank\/backplane-pre-\d+\/srv\/logs$/),
      expect.stringMatching(/^zfs create .* tank\/srv\/logs$/),
      "zfs get -Hp -o value guid tank/srv/logs",
    ]);
  });

  it("renders colour only when asked", () => {
    const p = plan({ prod: "zfs-2.3-prod-empty", dr: "zfs-2.3-prod-empty", state: false });
    expect(renderHuman(p, { color: true })).toContain("\x1b[32m+\x1b[0m");
    expect(renderHuman(p, { color: false })).not.toContain("\x1b[");
  });
});

describe("creating a volume with refreservation=auto", () => {
  it("sets it right after zfs create -V (OpenZFS 2.3.2 refuses it at create: see the differential table)", async () => {
    const { createSteps } = await import("../../provider/resources/dataset.js");
    const steps = createSteps({ name: "tank/vol", type: "volume", properties: { volsize: "33554432", refreservation: "auto" }, user_properties: {} }, "L", false);
    expect(steps.map((s) => toDisplay(s.command))).toEqual([
      "zfs create -V 33554432 -o backplane:managed=L tank/vol",
      "zfs set refreservation=auto tank/vol",
      "zfs get -Hp -o value guid tank/vol",
    ]);
  });
});
