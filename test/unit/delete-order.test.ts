/** The order of removals: dependents first (recorded or implied by names), subtrees moved once. */
import { describe, it, expect } from "vitest";
import { deletionOrder, type Gone } from "../../provider/engine/delete-order.js";
import { CycleError } from "../../provider/engine/load.js";

const gone = (address: string, type: string, id: string, extra: { host?: string; dependencies?: string[]; attributes?: Record<string, unknown> } = {}): Gone => ({
  address, state: { type, host: extra.host ?? "prod", id, attributes: extra.attributes ?? {}, ...(extra.dependencies ? { dependencies: extra.dependencies } : {}) },
});

describe("removal order", () => {
  const cases: [what: string, items: Gone[], order: string[], waitFor: Record<string, string[]>][] = [
    ["a clone before its origin snapshot (old state: implied by origin_snapshot)",
      [gone("snap", "backplane_snapshot", "tank/data@s1"), gone("clone", "backplane_clone", "tank/staging", { attributes: { origin_snapshot: "tank/data@s1" } })],
      ["clone", "snap"], { snap: ["clone"], clone: [] }],
    ["a snapshot before its dataset, the dataset before its pool",
      [gone("pool", "backplane_pool", "tank"), gone("ds", "backplane_dataset", "tank/data"), gone("snap", "backplane_snapshot", "tank/data@s1")],
      ["snap", "ds", "pool"], { snap: [], ds: ["snap"], pool: ["ds", "snap"] }],
    ["recorded dependencies across hosts: a peer before the interface it names",
      [gone("iface", "backplane_wireguard_interface", "wg0", { host: "dr" }), gone("peer", "backplane_wireguard_peer", "wg0:KEY", { dependencies: ["iface"] })],
      ["peer", "iface"], { iface: ["peer"], peer: [] }],
    ["a removed child dataset moves with its removed parent: one keep-aside, the child after it",
      [gone("a", "backplane_dataset", "tank/a"), gone("b", "backplane_dataset", "tank/a/b"), gone("c", "backplane_dataset", "tank/a/b/c")],
      ["a", "c", "b"], { a: [], b: ["a"], c: ["a"] }],
    ["the subtree's move waits for what depends on anything in it (a snapshot of the child)",
      [gone("a", "backplane_dataset", "tank/a"), gone("b", "backplane_dataset", "tank/a/b"), gone("snap", "backplane_snapshot", "tank/a/b@s")],
      ["snap", "a", "b"], { snap: [], a: ["snap"], b: ["a"] }],
    ["a clone under a removed dataset is destroyed before the dataset moves",
      [gone("a", "backplane_dataset", "tank/a"), gone("clone", "backplane_clone", "tank/a/clone")],
      ["clone", "a"], { clone: [], a: ["clone"] }],
    ["same names on two hosts are unrelated",
      [gone("p1", "backplane_dataset", "tank/a", { host: "prod" }), gone("d1", "backplane_dataset", "tank/a/b", { host: "dr" })],
      ["d1", "p1"], { p1: [], d1: [] }],
    // found by mutation testing: the topmost removed ancestor carries, whatever order state lists them in
    ["the topmost removed ancestor carries a deep child even when state lists a nearer ancestor first",
      [gone("b", "backplane_dataset", "tank/a/b"), gone("c", "backplane_dataset", "tank/a/b/c"), gone("a", "backplane_dataset", "tank/a")],
      ["a", "c", "b"], { a: [], b: ["a"], c: ["a"] }],
    ["pools go last among unrelated removals (another host's dataset first)",
      [gone("pool", "backplane_pool", "backup", { host: "dr" }), gone("ds", "backplane_dataset", "tank/x", { host: "prod" })],
      ["ds", "pool"], { pool: [], ds: [] }],
    ["a dataset named like a prefix is not a parent (tank/ab is not under tank/a)",
      [gone("a", "backplane_dataset", "tank/a"), gone("ab", "backplane_dataset", "tank/ab")],
      ["ab", "a"], { a: [], ab: [] }],
  ];
  it.each(cases)("%s", (_what, items, order, waitFor) => {
    const o = deletionOrder(items);
    expect(o.order).toEqual(order);
    expect(Object.fromEntries(o.waitFor)).toEqual(waitFor);
  });

  it("says which ancestor carries a moved dataset", () => {
    const o = deletionOrder([gone("a", "backplane_dataset", "tank/a"), gone("b", "backplane_dataset", "tank/a/b"), gone("snap", "backplane_snapshot", "tank/a@s")]);
    expect(Object.fromEntries(o.carriedBy)).toEqual({ b: "a" });
  });

  it("reports a cycle of recorded dependencies instead of guessing", () => {
    expect(() => deletionOrder([
      gone("x", "backplane_wireguard_peer", "wg0:A", { dependencies: ["y"] }),
      gone("y", "backplane_wireguard_peer", "wg0:B", { dependencies: ["x"] }),
    ])).toThrow(CycleError);
  });
});
