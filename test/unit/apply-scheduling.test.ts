/**
 * The apply walk's scheduling, run for real on this machine through LocalTransport (the
 * commands are `sleep`/`true`; what is under test is ordering, batching and state writes).
 */
import { describe, it, expect } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply } from "../../provider/engine/apply.js";
import { unitsToStart } from "../../provider/engine/apply-schedule.js";
import { StateWriter } from "../../provider/engine/apply-state.js";
import { BatchRunner } from "../../provider/engine/apply-run.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { LocalStateBackend } from "../../state/local.js";
import { argv } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";
import type { State } from "../../provider/model/state.js";

function change(host: string, name: string, seconds: string, dependsOn: string[] = []): Change {
  return {
    address: `backplane_dataset.${name}`, type: "backplane_dataset", host, id: `tank/${name}`, path: `stack/${name}`,
    action: "create", reason: "does not exist", attrs: [], destructive: false,
    steps: [{ command: argv("sleep", seconds), label: "Creating" }], after: { name: `tank/${name}` }, dependsOn,
  };
}

function plan(changes: Change[]): Plan {
  return { stack: "t", lineage: "l", stateSerial: null, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false };
}

describe("apply scheduling", () => {
  it("records every change when hosts finish at the same moment (state writes never race)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-apply-"));
    const backend = new LocalStateBackend(join(dir, "terraform.tfstate"));
    const hosts = ["a", "b", "c", "d"];
    const transports = new Map(hosts.map((h) => [h, new LocalTransport(h)]));
    const changes = hosts.flatMap((h) => [change(h, `${h}1`, "0.3"), change(h, `${h}2`, "0.3")]);
    const r = await apply({ plan: plan(changes), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8, log: () => {} });
    expect(Object.keys(r.state.resources).sort()).toEqual(changes.map((c) => c.address).sort());
    const stored = await backend.read();
    expect(stored?.serial).toBe(r.state.serial);
    expect(Object.keys(stored!.resources)).toHaveLength(8);
    // one round trip per host: both of a host's changes were ready together
    expect(r.roundTrips).toBe(4);
  });

  it("runs a change only after what it depends on, on another host", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-apply-"));
    const backend = new LocalStateBackend(join(dir, "terraform.tfstate"));
    const transports = new Map(["a", "b"].map((h) => [h, new LocalTransport(h)]));
    const order: string[] = [];
    const first = change("a", "first", "0.2");
    const second = change("b", "second", "0", [first.address]);
    await apply({
      plan: plan([second, first]), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8,
      log: (l) => { if (l.includes("complete")) order.push(l.split(" ")[0]!); },
    });
    expect(order).toEqual(["tank/first", "tank/second"]);
  });
});

describe("the scheduler decides what may start (pure)", () => {
  const pendingOf = (cs: Change[]) => new Map(cs.map((c) => [c.address, c]));
  const del = (host: string, name: string): Change => ({ ...change(host, name, "0"), action: "delete", after: null });

  it("puts the changes ready on one host in one unit, one unit per host", () => {
    const units = unitsToStart(pendingOf([change("a", "x", "0"), change("a", "y", "0"), change("b", "z", "0")]), new Set(), 8);
    expect(units.map((u) => [u.hosts, u.batch.map((c) => c.id)])).toEqual([[["a"], ["tank/x", "tank/y"]], [["b"], ["tank/z"]]]);
  });

  it("holds a change until what it depends on is done", () => {
    const first = change("a", "first", "0");
    const units = unitsToStart(pendingOf([change("b", "second", "0", [first.address]), first]), new Set(), 8);
    expect(units.flatMap((u) => u.batch.map((c) => c.id))).toEqual(["tank/first"]);
  });

  it("runs every deletion before any other change", () => {
    const units = unitsToStart(pendingOf([change("a", "new", "0"), del("b", "old")]), new Set(), 8);
    expect(units.flatMap((u) => u.batch.map((c) => c.id))).toEqual(["tank/old"]);
  });

  it("starts a removal only after the removals that wait on it, across hosts", () => {
    const clone = del("b", "clone");
    const origin: Change = { ...del("a", "origin"), dependsOn: [clone.address] };
    expect(unitsToStart(pendingOf([origin, clone]), new Set(), 8).flatMap((u) => u.batch.map((c) => c.id))).toEqual(["tank/clone"]);
    expect(unitsToStart(pendingOf([origin]), new Set(), 8).flatMap((u) => u.batch.map((c) => c.id))).toEqual(["tank/origin"]);
  });

  it("skips busy hosts and stops at the parallelism bound", () => {
    const cs = [change("a", "x", "0"), change("b", "y", "0"), change("c", "z", "0")];
    expect(unitsToStart(pendingOf(cs), new Set(["a"]), 8).map((u) => u.hosts)).toEqual([["b"], ["c"]]);
    expect(unitsToStart(pendingOf(cs), new Set(["a"]), 2).map((u) => u.hosts)).toEqual([["b"]]);
  });

  it("gives a hand-over a unit of its own with both hosts reserved", () => {
    const psk: Change = { ...change("a", "psk", "0"), alsoUses: ["b"] };
    const units = unitsToStart(pendingOf([psk, change("a", "x", "0"), change("b", "y", "0")]), new Set(), 8);
    expect(units.map((u) => [u.hosts, u.batch.map((c) => c.id)])).toEqual([[["a", "b"], ["tank/psk"]]]);
  });
});

/** counts writes; `nextWrite()` resolves when the next write begins */
class CountingBackend extends LocalStateBackend {
  writes = 0;
  private begun: (() => void)[] = [];
  nextWrite(): Promise<void> {
    return new Promise((r) => this.begun.push(r));
  }
  override async write(state: State, expected: number | null): Promise<void> {
    this.writes++;
    for (const r of this.begun.splice(0)) r();
    return super.write(state, expected);
  }
}

describe("the state writer", () => {
  it("records completed together are written together; one completed during a write gets the next serial", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-writer-"));
    const backend = new CountingBackend(join(dir, "terraform.tfstate"));
    const w = new StateWriter(backend, null, "lineage-w");
    // three hosts' batches finishing in the same moment: the saves join one write
    await Promise.all(["a", "b", "c"].map((h) => w.record([change(h, h, "0")])));
    expect(backend.writes).toBe(1);
    expect(await backend.read()).toMatchObject({ lineage: "lineage-w", serial: 1 });
    // one record while a write is in progress, two more while that one waits: two more writes
    const begun = backend.nextWrite();
    const first = w.record([change("d", "d", "0")]);
    await begun;
    await Promise.all([first, w.record([change("e", "e", "0")]), w.record([change("f", "f", "0")])]);
    expect(backend.writes).toBe(3);
    const stored = await backend.read();
    expect(stored).toMatchObject({ serial: 3 });
    expect(Object.keys(stored!.resources).sort()).toEqual(["a", "b", "c", "d", "e", "f"].map((x) => `backplane_dataset.${x}`));
  });

  it("an apply writes state once per batch, not once per change (the cost grows linearly, not with the square)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-writer-"));
    const backend = new CountingBackend(join(dir, "terraform.tfstate"));
    const transports = new Map(["a", "b"].map((h) => [h, new LocalTransport(h)]));
    // per host: a parent, then 60 children that depend on it: two batches per host
    const changes = ["a", "b"].flatMap((h) => {
      const parent = { ...change(h, `${h}-p`, "0"), steps: [{ command: argv("true"), label: "Creating" }] };
      return [parent, ...Array.from({ length: 60 }, (_, i) => ({ ...change(h, `${h}-c${i}`, "0", [parent.address]), steps: [{ command: argv("true"), label: "Creating" }] }))];
    });
    const r = await apply({ plan: plan(changes), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8, log: () => {} });
    expect(Object.keys(r.state.resources)).toHaveLength(122);
    // the new stack's first state, then at most one write per batch (hosts finishing together share one)
    expect(backend.writes).toBeGreaterThanOrEqual(3);
    expect(backend.writes).toBeLessThanOrEqual(1 + 4);
    expect((await backend.read())!.serial).toBe(backend.writes);
  });

  it("a batch of many changes costs one write, whatever their number", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-writer-"));
    const backend = new CountingBackend(join(dir, "terraform.tfstate"));
    const w = new StateWriter(backend, null, "l");
    await w.record(Array.from({ length: 200 }, (_, i) => change("a", `d${i}`, "0")));
    expect(backend.writes).toBe(1);
    expect(Object.keys((await backend.read())!.resources)).toHaveLength(200);
  });

  it("records what each resource depends on, so removals keep their order after the code is gone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-writer-"));
    const w = new StateWriter(new LocalStateBackend(join(dir, "terraform.tfstate")), null, "l");
    await w.record([change("a", "child", "0", ["backplane_dataset.parent", "backplane_pool.tank"])]);
    expect(w.state.resources["backplane_dataset.child"]!.dependencies).toEqual(["backplane_dataset.parent", "backplane_pool.tank"]);
  });

  it("records what is already right without writing, and removes what a change deleted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-writer-"));
    const backend = new LocalStateBackend(join(dir, "terraform.tfstate"));
    const w = new StateWriter(backend, null, "l");
    const upToDate: Change = { ...change("a", "kept", "0"), action: "noop", steps: [] };
    expect(w.recordUpToDate([upToDate])).toBe(true);
    expect(w.recordUpToDate([upToDate])).toBe(false);
    expect(await backend.read()).toBeNull();
    await w.record([{ ...upToDate, action: "delete", after: null }]);
    expect((await backend.read())!.resources).toEqual({});
  });
});

describe("the batch runner", () => {
  it("runs several changes in one round trip that stops at the first failing command, and takes captures", async () => {
    const runner = new BatchRunner(new Map([["a", new LocalTransport("a")]]), () => {});
    const ok: Change = { ...change("a", "ok", "0"), steps: [{ command: argv("echo", "AAAA"), label: "Creating", captures: "public_key" }] };
    const bad: Change = { ...change("a", "bad", "0"), steps: [{ command: argv("sh", "-c", "echo no such pool >&2; exit 3"), label: "Creating" }, { command: argv("touch", "/nonexistent/never-run"), label: "Modifying" }] };
    const after: Change = { ...change("a", "after", "0"), steps: [{ command: argv("true"), label: "Creating" }] };
    const done = await runner.runPlain("a", [ok, bad, after]);
    expect(done.map((c) => c.id)).toEqual(["tank/ok"]);
    expect(ok.after).toMatchObject({ public_key: "AAAA" });
    expect(runner.roundTrips).toBe(1);
    expect(runner.failures).toEqual([{ change: bad, command: "sh -c 'echo no such pool >&2; exit 3'", stderr: "no such pool\n" }]);
  });
});
