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
    expect(() => parseSavedPlan(JSON.stringify(smuggle), "x.plan")).toThrow(/options may hold only targets, replace .* and refreshOnly/);
    expect(() => parseSavedPlan(JSON.stringify({ ...saved(), options: { targets: "a" } }), "x.plan")).toThrow(/options may hold only/);
    expect(parseSavedPlan(JSON.stringify({ ...saved(), options: { targets: ["a"], refreshOnly: false } }), "x.plan").options).toEqual({ targets: ["a"], refreshOnly: false });
  });

  it("refuses, without state, a file that names another lineage than its own plan's", () => {
    const s = saved();
    s.lineage = "L-other";
    expect(savedPlanProblems(s, now({ state: null }))).toContain("the plan file's lineage differs from its own plan's");
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
