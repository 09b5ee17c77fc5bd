/**
 * Staging (backplane_clone of dataset@latest) on the captured host of the ownership issue
 * (test/fixtures/refresh/zfs-2.3-prod-ownership: tank/srv/uploads has @ours, @handmade and the
 * recursive @rec, newest last; tank/srv/preview is a clone of @ours this stack marked).
 */
import { describe, it, expect } from "vitest";
import { makePlan } from "../../provider/engine/plan.js";
import { renderHuman } from "../../provider/engine/render.js";
import { toDisplay } from "../../provider/model/argv.js";
import type { Plan } from "../../provider/model/plan.js";
import type { State } from "../../provider/model/state.js";
import { loadStack, type DesiredGraph } from "../../provider/engine/load.js";
import { latestSnapshot } from "../../provider/resources/snapshot.js";
import { liveFrom, seedDocs, seedState } from "./helpers/seed.js";

const prodLive = () => liveFrom("zfs-2.3-prod-ownership", "prod");

function graph(clones: Record<string, Record<string, unknown>>): DesiredGraph {
  const doc = structuredClone(seedDocs().seed);
  doc.resource.backplane_clone = Object.fromEntries(Object.entries(clones).map(([k, v]) => [k, { provider: "backplane.prod", ...v }]));
  return loadStack(doc);
}

function plan(g: DesiredGraph, state: State = seedState()): Plan {
  const live = new Map([["prod", prodLive()], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
  return makePlan({ stack: "seed", graph: g, state, live, newLineage: "x" });
}

function withClone(id: string, attrs: Record<string, unknown>): State {
  const s = seedState();
  const guid = prodLive().datasets.get(id)!.get("guid")!.value;
  return { ...s, resources: { ...s.resources, "backplane_clone.staging": { type: "backplane_clone", host: "prod", id, attributes: { name: id, origin: "tank/srv/uploads@latest", properties: {}, promote: false, origin_snapshot: "tank/srv/uploads@ours", guid, ...attrs } } } };
}

describe("staging: a clone of dataset@latest", () => {
  it("resolves @latest at plan time to the newest snapshot, says which in the plan, and pins it in state", () => {
    const newest = latestSnapshot(prodLive(), "tank/srv/uploads");
    expect(newest).toBe("tank/srv/uploads@rec");
    const p = plan(graph({ staging: { name: "tank/srv/stage-new", origin: "tank/srv/uploads@latest", ephemeral: true } }));
    expect(p.errors).toEqual([]);
    const c = p.changes.find((x) => x.id === "tank/srv/stage-new")!;
    expect(c.action).toBe("create");
    expect(toDisplay(c.steps[0]!.command)).toBe(`zfs clone -o backplane:managed=${seedState().lineage} tank/srv/uploads@rec tank/srv/stage-new`);
    expect(c.attrs).toContainEqual({ name: "origin", after: "tank/srv/uploads@rec" });
    expect(c.after).toMatchObject({ origin: "tank/srv/uploads@latest", origin_snapshot: "tank/srv/uploads@rec", ephemeral: true });
    expect(renderHuman(p, { color: false })).toContain("tank/srv/uploads@rec");
  });

  it("does not re-clone an existing clone when a newer snapshot appears: origin_snapshot stays what was cloned", () => {
    // tank/srv/preview was cloned from @ours; @rec is newer
    const p = plan(graph({ staging: { name: "tank/srv/preview", origin: "tank/srv/uploads@latest" } }), withClone("tank/srv/preview", {}));
    expect(p.errors).toEqual([]);
    const c = p.changes.find((x) => x.address === "backplane_clone.staging")!;
    expect(c.action).toBe("noop");
    expect(c.steps).toEqual([]);
    expect(c.after).toMatchObject({ origin_snapshot: "tank/srv/uploads@ours" });
  });

  it("removing an ephemeral clone needs no --allow-destroy; removing one that is not ephemeral is destructive, as before", () => {
    const none = graph({});
    const eph = plan(none, withClone("tank/srv/preview", { ephemeral: true })).changes.find((x) => x.address === "backplane_clone.staging")!;
    expect(eph.action).toBe("delete");
    expect(eph.destructive).toBe(false);
    expect(eph.reason).toMatch(/ephemeral/);
    expect(eph.steps.map((s) => toDisplay(s.command))).toEqual(["zfs destroy tank/srv/preview"]);
    for (const attrs of [{ ephemeral: false }, {}]) {
      const kept = plan(none, withClone("tank/srv/preview", attrs)).changes.find((x) => x.address === "backplane_clone.staging")!;
      expect(kept.action).toBe("delete");
      expect(kept.destructive).toBe(true);
    }
  });

  it("an ephemeral clone with something under it is still refused (never destroy -r)", () => {
    // tank/srv/staging has a hand-made child in the capture
    const p = plan(graph({}), withClone("tank/srv/staging", { ephemeral: true, origin_snapshot: "tank/srv/uploads@ours" }));
    expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/tank\/srv\/staging on prod cannot be destroyed: tank\/srv\/staging\/handmade lives under it/));
  });

  it("shows a change of the ephemeral flag on an existing clone as an in-place change with nothing to run, and records it", () => {
    const p = plan(graph({ staging: { name: "tank/srv/preview", origin: "tank/srv/uploads@latest", ephemeral: true } }), withClone("tank/srv/preview", {}));
    const c = p.changes.find((x) => x.address === "backplane_clone.staging")!;
    expect(c.action).toBe("update");
    expect(c.destructive).toBe(false);
    expect(c.steps).toEqual([]);
    expect(c.attrs).toEqual([{ name: "ephemeral", before: "false", after: "true" }]);
    expect(c.after).toMatchObject({ ephemeral: true });
    const text = renderHuman(p, { color: false });
    expect(text).not.toContain("No changes");
    expect(text).toContain('~ ephemeral = "false" -> "true"');
    // and back: true → false is shown the same way
    const back = plan(graph({ staging: { name: "tank/srv/preview", origin: "tank/srv/uploads@latest" } }), withClone("tank/srv/preview", { ephemeral: true })).changes.find((x) => x.address === "backplane_clone.staging")!;
    expect(back.attrs).toEqual([{ name: "ephemeral", before: "true", after: "false" }]);
    // unchanged: nothing to show
    const same = plan(graph({ staging: { name: "tank/srv/preview", origin: "tank/srv/uploads@latest", ephemeral: true } }), withClone("tank/srv/preview", { ephemeral: true })).changes.find((x) => x.address === "backplane_clone.staging")!;
    expect(same.action).toBe("noop");
  });
});
