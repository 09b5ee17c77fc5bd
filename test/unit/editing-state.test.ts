/** Editing state by hand, decided purely: `state mv` after a refactor and the rules of `state push`. */
import { describe, it, expect } from "vitest";
import { moveInState, pushRefusal, stateDocumentProblems } from "../../provider/engine/state-edit.js";
import type { State } from "../../provider/model/state.js";

const STATE: State = { version: 1, lineage: "L-1", serial: 7, resources: {
  "backplane_pool.prod_tank": { type: "backplane_pool", host: "prod", id: "tank", attributes: {} },
  "backplane_dataset.old_name": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: {}, dependencies: ["backplane_pool.prod_tank"] },
  "backplane_dataset.child": { type: "backplane_dataset", host: "prod", id: "tank/a/b", attributes: {}, dependencies: ["backplane_dataset.old_name"] },
} };



describe("state mv, push rules (pure)", () => {
  it("renames the record and every dependency on it, serial + 1", () => {
    const s = moveInState(STATE, "backplane_dataset.old_name", "backplane_dataset.new_name");
    expect(Object.keys(s.resources).sort()).toEqual(["backplane_dataset.child", "backplane_dataset.new_name", "backplane_pool.prod_tank"]);
    expect(s.resources["backplane_dataset.child"]!.dependencies).toEqual(["backplane_dataset.new_name"]);
    expect(s.serial).toBe(8);
    expect(STATE.resources["backplane_dataset.old_name"]).toBeDefined();
  });
  it("refuses a move onto an existing record, to another type, of what is not there, to a non-address", () => {
    expect(() => moveInState(STATE, "backplane_dataset.old_name", "backplane_dataset.child")).toThrow(/already in state/);
    expect(() => moveInState(STATE, "backplane_dataset.old_name", "backplane_pool.x")).toThrow(/cannot become a backplane_pool/);
    expect(() => moveInState(STATE, "backplane_dataset.nope", "backplane_dataset.x")).toThrow(/not in state/);
    expect(() => moveInState(STATE, "backplane_dataset.old_name", "x; rm -rf /")).toThrow(/not a resource address/);
    expect(() => moveInState(STATE, "backplane_dataset.old_name", "backplane_dataset.dr_backup", "dr")).toThrow(/declared on host dr, but backplane_dataset.old_name is tank\/a on prod/);
    expect(moveInState(STATE, "backplane_dataset.old_name", "backplane_dataset.prod_a", "prod").resources["backplane_dataset.prod_a"]).toBeDefined();
  });
  it("push: same lineage and a higher serial, unless forced", () => {
    expect(pushRefusal(STATE, { ...STATE, serial: 8 }, false)).toBeNull();
    expect(pushRefusal(STATE, { ...STATE, serial: 7 }, false)).toMatch(/not higher than the stored serial 7/);
    expect(pushRefusal(STATE, { ...STATE, lineage: "other", serial: 99 }, false)).toMatch(/lineage other is not the stored state's L-1/);
    expect(pushRefusal(STATE, { ...STATE, lineage: "other", serial: 1 }, true)).toBeNull();
    expect(pushRefusal(null, STATE, false)).toBeNull();
  });
  it("a pushed file must be a state", () => {
    expect(stateDocumentProblems(STATE)).toEqual([]);
    expect(stateDocumentProblems([])).toEqual(["is not a JSON object"]);
    expect(stateDocumentProblems({ version: 2, serial: -1, resources: { "x y": {} } })).toEqual(["version 2 is not 1", "has no lineage", "has no serial (a whole number)", "resource x y is not a resource record (type, host, id, attributes)"]);
    // what would crash the planner or state mv later
    const bad = (r: Record<string, unknown>) => stateDocumentProblems({ ...STATE, resources: { "backplane_dataset.a": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: {}, ...r } } });
    expect(bad({ attributes: null })).toEqual(["resource backplane_dataset.a is not a resource record (type, host, id, attributes)"]);
    expect(bad({ attributes: [] })).toHaveLength(1);
    expect(bad({ dependencies: "backplane_pool.x" })).toEqual(["resource backplane_dataset.a: dependencies must be a list of resource addresses"]);
    expect(bad({ dependencies: [42] })).toHaveLength(1);
    expect(bad({ type: "backplane_pool" })).toEqual(["resource backplane_dataset.a says it is a backplane_pool"]);
  });
});

