/**
 * Ownership on captured hosts (test/fixtures/refresh/zfs-2.3-prod-ownership: the seed applied,
 * then snapshots and clones this stack marked, one made by hand, one of another stack, a
 * recursive snapshot, a clone with a hand-made child, a user property the code does not name,
 * and the safety snapshot of an interrupted removal). Each case is a defect of the ownership
 * issue: the planner never destroys what it does not own.
 */
import { describe, it, expect } from "vitest";
import { makePlan } from "../../provider/engine/plan.js";
import { renderHuman, renderJson } from "../../provider/engine/render.js";
import { planImport, ImportRefusedError } from "../../provider/engine/import.js";
import { keepAside } from "../../provider/resources/dataset.js";
import { toDisplay } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";
import type { ResourceState, State } from "../../provider/model/state.js";
import { loadStack, type DesiredGraph } from "../../provider/engine/load.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, liveFrom, seedDocs, seedState } from "./helpers/seed.js";
import { golden } from "./helpers/golden.js";


const OTHER = "00000000-0000-4000-8000-0000000000aa";
const prodLive = () => liveFrom("zfs-2.3-prod-ownership", "prod");
const lineage = () => seedState().lineage;

/** The seed stack plus raw blocks (as a hand-written cdk.tf.json would have them), minus some. */
function graph(add: Record<string, Record<string, Record<string, unknown>>> = {}, drop: (r: { type: string; config: Record<string, unknown> }) => boolean = () => false): DesiredGraph {
  const doc = structuredClone(seedDocs().seed);
  for (const [type, byName] of Object.entries(add)) {
    doc.resource[type] = { ...(doc.resource[type] ?? {}) };
    for (const [name, body] of Object.entries(byName)) doc.resource[type][name] = { provider: "backplane.prod", ...body };
  }
  const dropped: string[] = [];
  for (const [type, byName] of Object.entries(doc.resource as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [name, body] of Object.entries(byName)) if (drop({ type, config: body })) { delete byName[name]; dropped.push(`${type}.${name}`); }
  }
  // what depended on a dropped resource no longer says so (as after an edit of the code)
  for (const byName of Object.values(doc.resource as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const body of Object.values(byName)) if (Array.isArray(body.depends_on)) body.depends_on = (body.depends_on as string[]).filter((d) => !dropped.includes(d));
  }
  return loadStack(doc);
}

function plan(o: { graph?: DesiredGraph; state?: State | null; newLineage?: string } = {}): Plan {
  const live = new Map([["prod", prodLive()], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
  return makePlan({ stack: "seed", graph: o.graph ?? graph(), state: o.state === undefined ? seedState() : o.state, live, newLineage: o.newLineage ?? "x" });
}

function withRecords(records: Record<string, ResourceState>): State {
  const s = seedState();
  return { ...s, resources: { ...s.resources, ...records } };
}

const snapState = (id: string, extra: Record<string, unknown> = {}): ResourceState => ({
  type: "backplane_snapshot", host: "prod", id, attributes: { dataset: id.split("@")[0], name: id.split("@")[1], recursive: false, guid: prodLive().snapshots.get(id)!.guid, ...extra },
});
const cloneState = (id: string, origin: string, deps: string[] = []): ResourceState => ({
  type: "backplane_clone", host: "prod", id, attributes: { name: id, origin, properties: {}, promote: false, origin_snapshot: origin, guid: prodLive().datasets.get(id)!.get("guid")!.value }, dependencies: deps,
});
const commands = (c: Change | undefined) => c!.steps.map((s) => toDisplay(s.command));
const messages = (p: Plan) => p.errors.map((e) => e.message);

describe("the captured host", () => {
  it("carries local markers on the snapshots that were made with one, and none on the hand-made one", () => {
    const l = prodLive();
    expect(l.snapshots.get("tank/srv/uploads@ours")!.marker).toBe(lineage());
    expect(l.snapshots.get("tank/srv/uploads@handmade")!.marker).toBeNull();
    expect(l.snapshots.get("tank/srv/logs@foreign")!.marker).toBe(OTHER);
    // a user property the configuration does not name is read (it is set locally)
    expect(l.datasets.get("tank/srv/logs")!.get("acme:owner")).toEqual({ value: "ops", source: { kind: "local" } });
  });
});

describe("datasets are owned by a marker set on themselves", () => {
  it("a hand-made child of a managed dataset (which inherits the marker) is refused, not adopted", () => {
    const l = prodLive();
    expect(l.datasets.get("tank/srv/staging/handmade")!.get("backplane:managed")!.source).toEqual({ kind: "inherited", from: "tank/srv/staging" });
    const p = plan({ graph: graph({ backplane_dataset: { handmade: { name: "tank/srv/staging/handmade" } } }) });
    expect(messages(p)).toContainEqual("tank/srv/staging/handmade already exists on prod and is not managed by backplane; adopt it with: backplane import backplane_dataset.handmade tank/srv/staging/handmade");
    expect(p.changes.find((c) => c.address === "backplane_dataset.handmade")!.after).toBeNull();
  });
});

describe("an inherited or received marker never makes an object ours, whatever its kind", () => {
  // the ownership rule (zfs-common.ts ownedBy/markerOf): only a marker set on the object itself counts
  it("a clone declared where a hand-made dataset inherits the marker is refused, not adopted", () => {
    const p = plan({ graph: graph({ backplane_clone: { handmade: { name: "tank/srv/staging/handmade", origin: "tank/srv/uploads@ours" } } }) });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^tank\/srv\/staging\/handmade already exists on prod and is not managed by backplane/));
    expect(p.changes.find((c) => c.address === "backplane_clone.handmade")!.after).toBeNull();
  });

  it("a hand-made snapshot of a managed dataset inherits the marker on the host, but is read without it (zfs get -s local)", () => {
    // the captured host: tank/srv/uploads carries the marker, its hand-made snapshot only inherits it
    expect(prodLive().datasets.get("tank/srv/uploads")!.get("backplane:managed")!.source.kind).toBe("local");
    expect(prodLive().snapshots.get("tank/srv/uploads@handmade")!.marker).toBeNull();
  });

  it("a pool whose root holds the marker only as a received value (a replica of a managed pool) is not this stack's to take over", () => {
    // derived from the captured host: the same pool, with the root's marker received instead of set
    const live = prodLive();
    const root = live.datasets.get("tank")!;
    const marker = root.get("backplane:managed")!;
    root.set("backplane:managed", { ...marker, source: { kind: "received" } });
    const p = makePlan({ stack: "seed", graph: graph(), state: null, live: new Map([["prod", live], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: lineage() });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^pool tank already exists on prod and is not managed: set adopt = true/));
    expect(p.changes.find((c) => c.address.startsWith("backplane_pool.prod_tank"))!.after).toBeNull();
  });

  it("a dataset whose marker was received is reported as not managed, never adopted with the lineage it carries", () => {
    const live = prodLive();
    const ds = live.datasets.get("tank/srv/logs")!;
    ds.set("backplane:managed", { ...ds.get("backplane:managed")!, source: { kind: "received" } });
    const p = makePlan({ stack: "seed", graph: graph(), state: null, live: new Map([["prod", live], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: lineage() });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^tank\/srv\/logs already exists on prod and is not managed by backplane/));
  });
});

describe("snapshots are owned by their own marker", () => {
  it.each([
    ["one this stack marked (a lost batch made it) is adopted, with its GUID", "ours", null],
    ["one made by hand is refused and not recorded", "handmade", /tank\/srv\/uploads@handmade already exists on prod and is not managed by backplane; adopt it with: backplane import backplane_snapshot\.handmade tank\/srv\/uploads@handmade/],
    ["one of another stack is refused", "foreign", new RegExp(`tank/srv/logs@foreign on prod belongs to another stack \\(backplane:managed=${OTHER}\\)`)],
  ] as const)("%s", (_what, name, error) => {
    const dataset = name === "foreign" ? "tank/srv/logs" : "tank/srv/uploads";
    const p = plan({ graph: graph({ backplane_snapshot: { [name]: { dataset, name } } }) });
    const c = p.changes.find((x) => x.address === `backplane_snapshot.${name}`)!;
    expect(c.action).toBe("noop");
    if (error) {
      expect(messages(p)).toContainEqual(expect.stringMatching(error));
      expect(c.after).toBeNull();
    } else {
      expect(p.errors).toEqual([]);
      expect(c.after).toMatchObject({ guid: prodLive().snapshots.get(`${dataset}@${name}`)!.guid });
    }
  });

  it("a new snapshot is created with the marker and its GUID read in the same batch", () => {
    const p = plan({ graph: graph({ backplane_snapshot: { fresh: { dataset: "tank/srv/uploads", name: "fresh" } } }) });
    expect(commands(p.changes.find((c) => c.address === "backplane_snapshot.fresh"))).toEqual([
      `zfs snapshot -o backplane:managed=${lineage()} tank/srv/uploads@fresh`,
      "zfs get -Hp -o value guid tank/srv/uploads@fresh",
    ]);
  });

  it("a recorded snapshot whose GUID differs (made again by hand) is neither adopted nor destroyed", () => {
    const p = plan({ state: withRecords({ "backplane_snapshot.ours": snapState("tank/srv/uploads@ours", { guid: "42" }) }) });
    expect(messages(p)).toContainEqual(expect.stringContaining("tank/srv/uploads@ours on prod is not the object backplane recorded"));
    expect(p.changes.find((c) => c.address === "backplane_snapshot.ours")!.action).toBe("noop");
  });

  it("a recursive snapshot is destroyed name by name, only where this stack's marker is, never with -r", () => {
    const p = plan({ state: withRecords({ "backplane_snapshot.rec": snapState("tank/srv@rec", { recursive: true }) }) });
    expect(p.errors).toEqual([]);
    const cmds = commands(p.changes.find((c) => c.address === "backplane_snapshot.rec"));
    expect(cmds.at(-1)).toBe("zfs destroy tank/srv@rec");
    expect(cmds.every((c) => /^zfs destroy tank\/srv[^ ]*@rec$/.test(c))).toBe(true);
    const children = [...prodLive().snapshots.values()].filter((s) => s.snapshot === "rec" && s.dataset.startsWith("tank/srv/"));
    expect(cmds.length - 1).toBe(children.filter((s) => s.marker === lineage()).length);
  });

  it("a snapshot a kept clone still uses is refused at plan time", () => {
    const p = plan({ state: withRecords({ "backplane_snapshot.ours": snapState("tank/srv/uploads@ours") }) });
    expect(messages(p)).toContainEqual(expect.stringMatching(/tank\/srv\/uploads@ours on prod cannot be destroyed: tank\/srv\/(preview, tank\/srv\/staging|staging, tank\/srv\/preview) are clones of it/));
  });
});

describe("clones and removal order", () => {
  it("removing a clone and its origin snapshot together: the clone first, then the snapshot, without -r", () => {
    const state = withRecords({
      "backplane_snapshot.ours": snapState("tank/srv/uploads@ours"),
      "backplane_clone.preview": cloneState("tank/srv/preview", "tank/srv/uploads@ours", ["backplane_snapshot.ours"]),
      "backplane_clone.staging": cloneState("tank/srv/staging", "tank/srv/uploads@ours", ["backplane_snapshot.ours"]),
    });
    const p = plan({ state });
    const clone = p.changes.find((c) => c.address === "backplane_clone.preview")!;
    const snap = p.changes.find((c) => c.address === "backplane_snapshot.ours")!;
    expect(commands(clone)).toEqual(["zfs destroy tank/srv/preview"]);
    expect(snap.dependsOn).toEqual(["backplane_clone.preview", "backplane_clone.staging"]);
    expect(p.changes.indexOf(clone)).toBeLessThan(p.changes.indexOf(snap));
    // the staging clone has a child backplane did not make: refused, and nothing is destroyed with -r
    expect(messages(p)).toContainEqual("tank/srv/staging on prod cannot be destroyed: tank/srv/staging/handmade lives under it and is not removed by this plan; backplane destroys only what it owns");
    expect(p.changes.flatMap(commands).some((c) => / -r /.test(c) && c.includes("destroy"))).toBe(false);
  });

  it("a hand-made dataset under a managed clone is reported as not managed, even when the stack does not declare the pool", () => {
    const p = plan({
      graph: graph({ backplane_clone: { staging: { name: "tank/srv/staging", origin: "tank/srv/uploads@ours" } } }, (r) => r.type === "backplane_pool"),
      state: null, newLineage: lineage(),
    });
    expect(p.notManaged).toContainEqual({ host: "prod", kind: "dataset", id: "tank/srv/staging/handmade" });
  });

  it("a clone another stack marked is refused as that stack's, naming its lineage (as datasets are)", () => {
    const p = plan({ graph: graph({ backplane_clone: { staging: { name: "tank/srv/staging", origin: "tank/srv/uploads@ours" } } }, (r) => r.type === "backplane_pool"), state: null, newLineage: "00000000-0000-4000-8000-0000000000bb" });
    expect(messages(p)).toContainEqual(`tank/srv/staging on prod belongs to another stack (backplane:managed=${lineage()}); backplane never takes over what it does not own`);
  });
});

describe("keep-aside", () => {
  const noSrv = (r: { type: string; config: Record<string, unknown> }) => r.type === "backplane_dataset" && String(r.config.name).startsWith("tank/srv");

  it("removing a parent with its children is one move of the subtree; the children go with it", () => {
    const p = plan({ graph: graph({}, noSrv), state: seedState() });
    // the move would carry another stack's snapshot: refused, naming it (never moved silently)
    expect(messages(p)).toEqual([`moving tank/srv aside would move what other stacks own: tank/srv/logs@foreign (backplane:managed=${OTHER}); backplane does not move another stack's objects`]);
    const srv = p.changes.find((c) => c.id === "tank/srv")!;
    expect(commands(srv)).toEqual([`zfs snapshot -r tank/srv@backplane-pre-${seedState().serial + 1}`, `zfs rename -p tank/srv tank/backplane-pre-${seedState().serial + 1}/srv`]);
    for (const child of p.changes.filter((c) => c.id.startsWith("tank/srv/"))) {
      expect(child).toMatchObject({ action: "delete", steps: [], movedAsideWith: "tank/srv", dependsOn: [srv.address] });
    }
    expect(srv.dependsOn).toEqual([]);
    // what moves along that the stack does not manage is said, not hidden
    expect(srv.keptAside!.carries).toEqual(expect.arrayContaining(["tank/srv/preview", "tank/srv/staging", "tank/srv/staging/handmade", "tank/srv/uploads@handmade"]));
    const text = renderHuman(p, { color: false });
    expect(text).toContain(`will be kept aside at tank/backplane-pre-${seedState().serial + 1}/srv (not destroyed, carrying along what this stack does not manage: `);
    expect(text).toContain("will be moved aside with tank/srv (not destroyed)");
    expect(text).toContain(`# restore: zfs rename tank/backplane-pre-${seedState().serial + 1}/srv tank/srv`);
    expect(JSON.parse(renderJson(p)).changes.find((c: { id: string }) => c.id === "tank/srv").kept_aside.at).toBe(`tank/backplane-pre-${seedState().serial + 1}/srv`);
    golden("ownership-keep-aside.txt", text);
  });

  it("refuses to move a parent aside while the configuration still declares a child", () => {
    const p = plan({ graph: graph({}, (r) => r.type === "backplane_dataset" && r.config.name === "tank/srv"), state: seedState() });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^moving tank\/srv aside would move .*tank\/srv\/uploads.* with it, which the configuration still declares/));
  });

  it("a retry at the same serial does not take the safety snapshot again", () => {
    const p = plan({ graph: graph({}, (r) => r.config.name === "tank/srv/ci-workspace"), state: seedState() });
    expect(commands(p.changes.find((c) => c.id === "tank/srv/ci-workspace"))).toEqual([`zfs rename -p tank/srv/ci-workspace tank/backplane-pre-${seedState().serial + 1}/srv/ci-workspace`]);
  });

  it("refuses the root dataset of a pool and aside names longer than ZFS allows", () => {
    const l = prodLive();
    expect(keepAside("tank", l, 3).problems).toEqual(["tank is the root dataset of pool tank: it cannot be moved aside (remove the pool instead)"]);
    const deep = `tank/${"d".repeat(240)}`;
    expect(keepAside(deep, l, 3).problems[0]).toMatch(/cannot be kept aside at tank\/backplane-pre-3\/d+: /);
  });

  it("refuses to destroy a pool whose root holds nothing but a snapshot made by hand", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-root-snapshot", "dr")]]);
    const state: State = { ...seedState(), resources: { "backplane_pool.solo": { type: "backplane_pool", host: "dr", id: "solo", attributes: { name: "solo", vdevs: [], adopt: false, properties: {}, filesystem_properties: {} } } } };
    const p = makePlan({ stack: "seed", graph: graph({}, () => true), state, live, newLineage: "x" });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^pool solo on dr is not empty \(solo@handmade\)/));
  });

  it("refuses to destroy a pool that is not empty", () => {
    const p = plan({ graph: graph({}, (r) => String(r.config.name).startsWith("tank")), state: { ...seedState(), resources: Object.fromEntries(Object.entries(seedState().resources).filter(([, r]) => r.id === "tank" || r.host === "dr")) } });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^pool tank on prod is not empty \(tank\/srv, /));
  });
});

describe("what the planner reads and compares", () => {
  it("a user property removed from the code is inherited again (it is read although the code no longer names it)", () => {
    const s = seedState();
    const logs = Object.values(s.resources).find((r) => r.id === "tank/srv/logs")!;
    logs.attributes.user_properties = { "acme:owner": "ops" };
    const p = plan({ state: s });
    expect(p.drift).toEqual([]);
    expect(commands(p.changes.find((c) => c.id === "tank/srv/logs"))).toEqual(["zfs inherit acme:owner tank/srv/logs"]);
  });

  it("create-only properties, which ZFS reports with source '-', are compared by value (no drift for ever)", () => {
    const s = seedState();
    const uploads = Object.values(s.resources).find((r) => r.id === "tank/srv/uploads")!;
    (uploads.attributes.properties as Record<string, string>).casesensitivity = "sensitive";
    expect(prodLive().datasets.get("tank/srv/uploads")!.get("casesensitivity")).toEqual({ value: "sensitive", source: { kind: "none" } });
    expect(plan({ state: s }).drift).toEqual([]);
    (uploads.attributes.properties as Record<string, string>).casesensitivity = "insensitive";
    expect(plan({ state: s }).drift).toContainEqual(expect.objectContaining({ id: "tank/srv/uploads", property: "casesensitivity", recorded: "insensitive", live: "sensitive (none)" }));
  });

  it("a recorded dataset whose GUID differs is refused, not changed", () => {
    const s = seedState();
    Object.values(s.resources).find((r) => r.id === "tank/srv/uploads")!.attributes.guid = "42";
    expect(messages(plan({ state: s }))).toContainEqual(expect.stringContaining("tank/srv/uploads on prod is not the object backplane recorded"));
  });
});

describe("import", () => {
  const imp = (type: string, id: string, force = false) => planImport({ type, id, host: "prod", lineage: lineage(), live: prodLive(), forceTakeover: force });

  it("refuses another stack's object, naming the owner, and takes it only when forced", () => {
    expect(() => imp("backplane_snapshot", "tank/srv/logs@foreign")).toThrow(ImportRefusedError);
    expect(() => imp("backplane_snapshot", "tank/srv/logs@foreign")).toThrow(`tank/srv/logs@foreign on prod belongs to another stack (backplane:managed=${OTHER})`);
    const forced = imp("backplane_snapshot", "tank/srv/logs@foreign", true);
    expect(forced.takesOverFrom).toBe(OTHER);
    expect(toDisplay(forced.marker!)).toBe(`zfs set backplane:managed=${lineage()} tank/srv/logs@foreign`);
  });

  it("marks a hand-made snapshot and records its GUID; leaves an object already ours as it is", () => {
    const hand = imp("backplane_snapshot", "tank/srv/uploads@handmade");
    expect(hand.attributes).toMatchObject({ guid: prodLive().snapshots.get("tank/srv/uploads@handmade")!.guid });
    expect(toDisplay(hand.marker!)).toBe(`zfs set backplane:managed=${lineage()} tank/srv/uploads@handmade`);
    expect(imp("backplane_dataset", "tank/srv/logs").marker).toBeNull();
  });

  it("refuses kinds it cannot adopt and objects that do not exist", () => {
    expect(() => imp("backplane_wireguard_peer", "wg0 peer x")).toThrow(/cannot be imported/);
    expect(() => imp("backplane_dataset", "tank/nope")).toThrow("tank/nope does not exist on prod");
  });
});

describe("review findings: what else must never be taken", () => {
  const read = (f: string) => readFileSync(join(ROOT, "test", "fixtures", "zfs-get-json", f), "utf8");

  it("a user property value with a tab and a newline cannot forge a snapshot's marker (JSON on 2.3; the tab form is ambiguous)", async () => {
    const { zfsGetJson, localPropertiesTabs } = await import("../../provider/zfs/facts.js");
    const json = zfsGetJson("zfs get -j", read("zfs-2.3-forged-line.txt"));
    expect(json.get("tank/x")!.get("acme:v")!.value).toBe("ops\tlocal\ntank/x@s\tbackplane:managed\tLINEAGE");
    expect(json.has("tank/x@s")).toBe(false);
    // the same host, read tab-separated: the forged line is indistinguishable from a real one
    // (tank/x@s has no local property of its own), which is why no marker is taken from it
    expect(localPropertiesTabs.parse(read("zfs-2.3-forged-line.tabs.txt"), new Set(["tank", "tank/x", "tank/x@s"])).get("tank/x@s")!.get("backplane:managed")!.value).toBe("LINEAGE");
  });

  it("removing an address whose object is declared again under another address is refused (a renamed resource)", () => {
    const s = seedState();
    const [addr, rec] = Object.entries(s.resources).find(([, r]) => r.id === "tank/srv/logs")!;
    delete s.resources[addr];
    s.resources["backplane_dataset.old_logs"] = rec;
    const p = plan({ state: s });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^tank\/srv\/logs on prod is declared again as backplane_dataset\.prod_logs_resource_\w+: backplane does not remove an object the configuration still holds/));
    expect(p.changes.some((c) => c.address === "backplane_dataset.old_logs")).toBe(false);
  });

  it("a recursive snapshot's removal leaves a child snapshot the configuration declares", () => {
    const p = plan({
      graph: graph({ backplane_snapshot: { logs_rec: { dataset: "tank/srv/logs", name: "rec" } } }),
      state: withRecords({ "backplane_snapshot.rec": snapSt("tank/srv@rec", true), "backplane_snapshot.logs_rec": snapSt("tank/srv/logs@rec") }),
    });
    const cmds = commands(p.changes.find((c) => c.address === "backplane_snapshot.rec"));
    expect(cmds).toContain("zfs destroy tank/srv/uploads@rec");
    expect(cmds).not.toContain("zfs destroy tank/srv/logs@rec");
  });

  it("--target on a dataset moved with its ancestor takes the ancestor's move (and its other descendants) along", () => {
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const g = graph({}, (r) => r.type === "backplane_dataset" && String(r.config.name).startsWith("tank/srv"));
    const child = Object.entries(seedState().resources).find(([, r]) => r.id === "tank/srv/logs")![0];
    const p = makePlan({ stack: "seed", graph: g, state: seedState(), live, newLineage: "x", targets: [child] });
    expect(p.errors).toEqual([]);
    expect(p.changes.map((c) => c.id).sort()).toEqual(["tank/srv", "tank/srv/ci-workspace", "tank/srv/logs", "tank/srv/postgres", "tank/srv/transcode", "tank/srv/uploads"]);
  });

  it("removing a dataset whose ancestor is replaced in the same plan is refused (both would be moved to one place)", () => {
    const s = withRecords({ "backplane_dataset.child": { type: "backplane_dataset", host: "prod", id: "tank/srv/uploads/child", attributes: { name: "tank/srv/uploads/child", type: "filesystem", properties: {}, user_properties: {} } } });
    const uploads = [...graph().resources.values()].find((r) => r.config.name === "tank/srv/uploads")!.address;
    const live = new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]);
    const p = makePlan({ stack: "seed", graph: graph(), state: s, live, newLineage: "x", replace: [uploads] });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^tank\/srv\/uploads\/child on prod is removed while its ancestor tank\/srv\/uploads is replaced/));
  });

  it("import records a clone's GUID, and only the properties the configuration names", () => {
    const imp = (type: string, id: string, config: Record<string, unknown>) => planImport({ type, id, host: "prod", lineage: OTHER, live: prodLive(), forceTakeover: true, config });
    expect(imp("backplane_clone", "tank/srv/preview", {}).attributes.guid).toBe(prodLive().datasets.get("tank/srv/preview")!.get("guid")!.value);
    const logs = imp("backplane_dataset", "tank/srv/logs", { properties: { compression: "zstd-19" } }).attributes;
    expect(logs.user_properties).toEqual({});
    expect(Object.keys(logs.properties as object)).toEqual(["compression"]);
  });

  it("snapshots of managed datasets that nothing manages are reported", () => {
    expect(plan().notManaged).toContainEqual({ host: "prod", kind: "snapshot", id: "tank/srv/uploads@handmade" });
  });
});

function snapSt(id: string, recursive = false): ResourceState {
  return { type: "backplane_snapshot", host: "prod", id, attributes: { dataset: id.split("@")[0], name: id.split("@")[1], recursive, guid: prodLive().snapshots.get(id)!.guid } };
}

describe("what mutation testing found unguarded in zfs-common (the seed applied on a captured host)", () => {
  const seedPlan = (edit: (prod: ReturnType<typeof liveFrom>) => void, graphDoc?: DesiredGraph) => {
    const prod = liveFrom("zfs-2.3-prod-seed", "prod");
    edit(prod);
    return makePlan({ stack: "seed", graph: graphDoc ?? loadStack(structuredClone(seedDocs().seed)), state: seedState(), live: new Map([["prod", prod], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: "x" });
  };

  it("a desired value the dataset only inherits (equal, from its parent) is set on the dataset itself, so a change of the parent cannot change it", () => {
    const p = seedPlan((prod) => {
      const up = prod.datasets.get("tank/srv/uploads")!;
      up.set("compression", { value: "zstd", source: { kind: "inherited", from: "tank/srv" } });
    });
    const c = p.changes.find((x) => x.id === "tank/srv/uploads")!;
    expect(c.action).toBe("update");
    expect(commands(c)).toContain("zfs set compression=zstd tank/srv/uploads");
    expect(renderHuman(p, { color: false })).toContain("zstd (inherited from tank/srv)");
  });

  it("the seed as applied, read back from the host, plans nothing: a value set locally and equal is left alone", () => {
    const p = seedPlan(() => {});
    expect(p.errors).toEqual([]);
    expect(p.changes.filter((c) => c.host === "prod" && c.action !== "noop").map((c) => `${c.action} ${c.id}`)).toEqual([]);
  });

  it("a property removed from the code that the dataset already inherits is not inherited again (nothing to run)", () => {
    const state = seedState();
    const up = Object.values(state.resources).find((r) => r.id === "tank/srv/uploads")!;
    (up.attributes.properties as Record<string, string>).atime = "off";
    const p = makePlan({ stack: "seed", graph: loadStack(structuredClone(seedDocs().seed)), state, live: new Map([["prod", liveFrom("zfs-2.3-prod-seed", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: "x" });
    expect(liveFrom("zfs-2.3-prod-seed", "prod").datasets.get("tank/srv/uploads")!.get("atime")!.source.kind).not.toBe("local");
    expect(p.changes.find((c) => c.id === "tank/srv/uploads")!.action).toBe("noop");
  });

  it("a value the pool lacks the feature for is refused at plan time, naming the pool and the feature", () => {
    const p = seedPlan((prod) => { prod.pools.get("tank")!.features.delete("zstd_compress"); });
    expect(messages(p)).toContainEqual(expect.stringMatching(/^compression=zstd cannot be set on prod \(tank\/srv\/uploads\): compression=zstd needs OpenZFS 2\.0 and the zstd_compress pool feature; pool tank does not have feature zstd_compress enabled$/));
  });

  it("every object made reads its GUID back in the same batch: zfs get for datasets, zpool list for pools", () => {
    const p = plan({ state: null, newLineage: "00000000-0000-4000-8000-0000000000cc", graph: graph({ backplane_dataset: { fresh: { name: "tank/srv/fresh" } } }) });
    const fresh = p.changes.find((c) => c.id === "tank/srv/fresh")!;
    expect(commands(fresh)).toContain("zfs get -Hp -o value guid tank/srv/fresh");
    expect(fresh.steps.find((s) => s.captures === "guid")).toBeDefined();
    // a host with no pool yet (captured empty): the seed's pool is created, and its GUID read by zpool list
    const empty = makePlan({ stack: "seed", graph: graph(), state: null, live: new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: "y" });
    const pool = empty.changes.find((c) => c.type === "backplane_pool" && c.host === "prod")!;
    expect(pool.action).toBe("create");
    expect(commands(pool)).toContain("zpool list -H -o guid tank");
  });
});
