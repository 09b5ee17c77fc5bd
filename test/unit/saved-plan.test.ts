/** A saved plan applies only to what it was made from; an edited plan file runs nothing. */
import { describe, it, expect } from "vitest";
import { argv } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";
import { newState } from "../../provider/model/state.js";
import { configHash, parseSavedPlan, savedPlan, savedPlanProblems, StalePlanError, type SavedPlan } from "../../provider/engine/saved-plan.js";

const change: Change = {
  address: "backplane_dataset.logs", type: "backplane_dataset", host: "prod", id: "tank/srv/logs", path: "seed/prod/logs",
  action: "update", reason: "properties differ from the configuration", attrs: [{ name: "compression", before: "gzip", after: "zstd-19" }],
  destructive: false, steps: [{ command: argv("zfs", "set", "compression=zstd-19", "tank/srv/logs"), label: "Modifying" }], after: { name: "tank/srv/logs" }, dependsOn: [],
};
const plan = (changes: Change[] = [change]): Plan => ({ stack: "seed", lineage: "L1", stateSerial: 4, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false });
const live = { prod: { "tank/srv/logs compression": "gzip (local)", "wg wg0": "KEY1 port=51820 fwmark=0 persisted=true" } };
const state = { ...newState("L1"), serial: 4 };
const cfg = configHash('{"resource":{}}');
const saved = (): SavedPlan => JSON.parse(JSON.stringify(savedPlan({ stack: "seed", configHash: cfg, options: {}, plan: plan(), live })));
const now = (o: Partial<Parameters<typeof savedPlanProblems>[1]> = {}) => ({ stack: "seed", state, configHash: cfg, fresh: plan(), live, ...o });

describe("a saved plan", () => {
  it("applies when nothing it was made from changed", () => {
    expect(savedPlanProblems(saved(), now())).toEqual([]);
  });

  const refusals: [what: string, edit: (s: SavedPlan) => void, current: Partial<Parameters<typeof savedPlanProblems>[1]>, says: string][] = [
    ["made for another stack that shares the hosts", () => {}, { stack: "staging" }, "it was made for stack 'seed', not 'staging'"],
    ["the state is another stack's (another lineage)", () => {}, { state: { ...state, lineage: "L2" } }, "the state is lineage L2"],
    ["someone applied since", () => {}, { state: { ...state, serial: 5 } }, "state serial is 5, the plan was made at 4"],
    ["the configuration changed (deferred changes would be re-planned from it)", () => {}, { configHash: configHash('{"resource":{"x":1}}') }, "the configuration (cdk.tf.json) changed"],
    ["a host's WireGuard key changed", () => {}, { live: { prod: { ...live.prod, "wg wg0": "KEY2 port=51820 fwmark=0 persisted=true" } } }, "prod: wg wg0: KEY1 port=51820 fwmark=0 persisted=true -> KEY2"],
    ["a command in the file was edited", (s) => { s.plan.changes[0]!.steps[0]!.command = argv("zfs", "destroy", "-r", "tank"); }, {}, "backplane_dataset.logs: the plan file's change differs"],
    ["a change's destructive flag was edited", (s) => { s.plan.changes[0]!.destructive = true; }, {}, "the plan file's change differs"],
    ["a change was added to the file", (s) => { s.plan.changes.push({ ...change, address: "backplane_dataset.extra" }); }, {}, "backplane_dataset.extra: the plan file's change differs"],
    // every field that decides what runs is part of what was reviewed
    ["a change was marked deferred (resolved only at apply)", (s) => { s.plan.changes[0]!.deferred = true; }, {}, "the plan file's change differs"],
    ["a change gained a resource it also uses", (s) => { s.plan.changes[0]!.alsoUses = ["backplane_pool.tank"]; }, {}, "the plan file's change differs"],
    ["a step gained a capture", (s) => { s.plan.changes[0]!.steps[0]!.captures = "guid"; }, {}, "the plan file's change differs"],
    ["a step gained a hand-over to another host", (s) => { s.plan.changes[0]!.steps[0]!.handOver = { host: "dr", command: argv("sh", "-c", "cat") } as never; }, {}, "the plan file's change differs"],
    ["where a destroyed object is kept aside was edited", (s) => { s.plan.changes[0]!.keptAside = { at: "tank/backplane-pre-9/logs", snapshot: "backplane-pre-9", carries: [] }; }, {}, "the plan file's change differs"],
    ["what moves aside with it was edited", (s) => { s.plan.changes[0]!.movedAsideWith = "backplane_dataset.other"; }, {}, "the plan file's change differs"],
    ["a host appeared that the plan never read", () => {}, { live: { ...live, dr: { "pool backup": "ONLINE" } } }, "dr changed since it was made:\n      dr: pool backup: (absent) -> ONLINE"],
  ];
  it.each(refusals)("is refused when %s", (_what, edit, current, says) => {
    const s = saved();
    edit(s);
    const problems = savedPlanProblems(s, now(current));
    expect(problems.join("\n")).toContain(says);
    expect(new StalePlanError(problems).message).toMatch(/^saved plan is stale: /);
  });

  it("takes from the file's options only the flags a plan is made with (no state, stack or lineage smuggled in)", () => {
    const smuggle = { ...saved(), options: { state: { ...newState("L9"), serial: 4 } } };
    expect(() => parseSavedPlan(JSON.stringify(smuggle), "x.plan")).toThrow(/options may hold only targets, replace .* refreshOnly and destroy/);
    expect(() => parseSavedPlan(JSON.stringify({ ...saved(), options: { targets: "a" } }), "x.plan")).toThrow(/options may hold only/);
    expect(parseSavedPlan(JSON.stringify({ ...saved(), options: { targets: ["a"], refreshOnly: false } }), "x.plan").options).toEqual({ targets: ["a"], refreshOnly: false });
  });

  it("refuses, without state, a file that names another lineage than its own plan's", () => {
    const s = saved();
    s.lineage = "L-other";
    expect(savedPlanProblems(s, now({ state: null }))).toContain("the plan file's lineage differs from its own plan's");
  });

  it("names each reason, and shows at most 20 of a host's differences", () => {
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, "0")}`, `v${i}`]));
    const problems = savedPlanProblems(saved(), now({ state: { ...state, serial: 5 }, stack: "other", live: { prod: many } }));
    expect(problems[0]).toBe("it was made for stack 'seed', not 'other'");
    expect(problems).toContain("state serial is 5, the plan was made at 4");
    const host = problems.find((p) => p.startsWith("prod changed since it was made:"))!;
    expect(host.split("\n").length).toBe(1 + 20 + 1);
    expect(host).toContain("prod: k00: (absent) -> v0");
    expect(host.endsWith("... and 7 more")).toBe(true);
    const e = new StalePlanError(problems);
    expect(e.message).toBe(`saved plan is stale: ${problems.join("\n  and: ")}\nrun plan again`);
    expect(e.name).toBe("StalePlanError");
    expect(savedPlanProblems(saved(), now({ state: null })).join()).toContain("state serial is none, the plan was made at 4");
    // exactly 20 differences: all shown, no "more"
    const twenty = { ...live.prod, ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "x"])) };
    const p20 = savedPlanProblems(saved(), now({ live: { prod: twenty } })).find((p) => p.startsWith("prod changed"))!;
    expect(p20).not.toContain("more");
  });

  it("reads the options: none, nulls skipped, lists of addresses, refreshOnly and destroy true or false; anything else refused", () => {
    const opts = (o: unknown) => parseSavedPlan(JSON.stringify({ ...saved(), options: o }), "x.plan").options;
    const noOptions = JSON.parse(JSON.stringify(saved()));
    delete noOptions.options;
    expect(parseSavedPlan(JSON.stringify(noOptions), "x.plan").options).toEqual({});
    expect(opts({ targets: null, replace: ["a", "b"], refreshOnly: true })).toEqual({ replace: ["a", "b"], refreshOnly: true });
    expect(opts({ destroy: true, targets: ["a"] })).toEqual({ destroy: true, targets: ["a"] });
    for (const bad of [[], "x", 3, { refreshOnly: "yes" }, { targets: ["a", 1] }, { replace: [1] }, { refreshOnly: 1 }, { destroy: "yes" }, { destroyAll: true }]) expect(() => opts(bad), JSON.stringify(bad)).toThrow(/x\.plan: options may hold only/);
  });

  it("refuses a plan that is not one backplane wrote, before anything renders it (show PLANFILE reviews CI artefacts)", () => {
    const mangle: [string, (d: any) => void, RegExp][] = [
      ["plan null", (d) => { d.plan = null; }, /lacks stack|no plan object/],
      ["plan empty", (d) => { d.plan = {}; }, /changes is not a list/],
      ["changes not a list", (d) => { d.plan.changes = {}; }, /changes is not a list/],
      ["a change without an address", (d) => { delete d.plan.changes[0].address; }, /change 0: address is not a string/],
      ["an unknown action", (d) => { d.plan.changes[0].action = "wipe"; }, /change 0: unknown action/],
      ["a step without its command", (d) => { d.plan.changes[0].steps = [{}]; }, /change 0: a step has no command/],
      ["drift of strings", (d) => { d.plan.drift = ["x"]; }, /drift holds something that is not an object/],
    ];
    for (const [what, f, msg] of mangle) {
      const d = JSON.parse(JSON.stringify(saved()));
      f(d);
      expect(() => parseSavedPlan(JSON.stringify(d), "x.plan"), what).toThrow(msg);
    }
  });

  it("refuses a file that lacks a part of a plan, naming the file", () => {
    for (const part of ["stack", "lineage", "configHash", "plan", "live"]) {
      const d = JSON.parse(JSON.stringify(saved()));
      delete d[part];
      expect(() => parseSavedPlan(JSON.stringify(d), "x.plan"), part).toThrow("x.plan lacks stack, lineage, configuration hash, plan or live summary");
      d[part] = 7;
      expect(() => parseSavedPlan(JSON.stringify(d), "x.plan"), part).toThrow(StalePlanError);
    }
    for (const notObject of ["null", "[]", "3", '"plan"']) expect(() => parseSavedPlan(notObject, "x.plan")).toThrow(/not a backplane plan of format/);
  });

  it("refuses a file that is not a plan of this format", () => {
    expect(() => parseSavedPlan("{}", "x.plan")).toThrow(/not a backplane plan of format backplane-plan\/2/);
    expect(() => parseSavedPlan("not json", "x.plan")).toThrow(/x.plan is not JSON/);
    expect(parseSavedPlan(JSON.stringify(saved()), "x.plan").stack).toBe("seed");
  });
});

describe("what a saved plan remembers of a host", () => {
  it("includes WireGuard: interface keys, peers, allowed IPs and preshared-key fingerprints (never a key)", async () => {
    const { liveSummary } = await import("../../provider/engine/plan.js");
    const { liveFrom } = await import("./helpers/seed.js");
    const mesh = liveSummary(liveFrom("zfs-2.3-prod-wg-psk-mesh", "prod"));
    const other = liveSummary(liveFrom("zfs-2.3-prod-wg-psk-different", "prod"));
    const iface = liveFrom("zfs-2.3-prod-wg-psk-mesh", "prod").wg.interfaces.get("wg0")!;
    expect(mesh["wg wg0"]).toMatch(new RegExp(`^${iface.publicKey.replace(/[+/]/g, "\\$&")} port=51820`));
    const changed = Object.keys(mesh).filter((k) => mesh[k] !== other[k]);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^wg wg0 peer /);
    expect(mesh[changed[0]!]).toMatch(/psk=[0-9a-f]{16}$/);
  });
});
