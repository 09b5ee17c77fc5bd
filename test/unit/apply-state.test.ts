/**
 * When apply writes state: not at all when nothing was recorded (a saved plan stays fresh),
 * and for a new stack before the first command reaches a host (a kill mid-way leaves a state
 * whose lineage is the marker the created objects carry).
 */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply } from "../../provider/engine/apply.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { LocalStateBackend } from "../../state/local.js";
import { argv } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";
import type { State } from "../../provider/model/state.js";

function change(name: string, over: Partial<Change> = {}): Change {
  return {
    address: `backplane_dataset.${name}`, type: "backplane_dataset", host: "a", id: `tank/${name}`, path: `stack/${name}`,
    action: "create", reason: "does not exist", attrs: [], destructive: false,
    steps: [{ command: argv("true"), label: "Creating" }], after: { name: `tank/${name}` }, dependsOn: [], ...over,
  };
}

function plan(lineage: string, changes: Change[], stateSerial: number | null): Plan {
  return { stack: "t", lineage, stateSerial, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false };
}

const run = (p: Plan, state: State | null, backend: LocalStateBackend) =>
  apply({ plan: p, state, backend, transports: new Map([["a", new LocalTransport("a")]]), allowDestroy: false, preventDestroy: new Set(), parallelism: 4, log: () => {} });

async function storedAt(serial: number, records: Record<string, unknown>): Promise<{ backend: LocalStateBackend; state: State; path: string }> {
  const path = join(mkdtempSync(join(tmpdir(), "bp-apply-state-")), "t.tfstate");
  const backend = new LocalStateBackend(path);
  const state = { version: 1, lineage: "L", serial, resources: records } as State;
  await backend.write(state, null);
  return { backend, state: (await backend.read())!, path };
}

describe("an apply with no changes", () => {
  it("writes no state when everything is already recorded as it is (the serial stays, a saved plan stays fresh)", async () => {
    const kept = change("kept", { action: "noop", steps: [] });
    const { backend, state, path } = await storedAt(3, {
      [kept.address]: { type: kept.type, host: "a", id: kept.id, attributes: kept.after, dependencies: [] },
    });
    await run(plan("L", [kept], 3), state, backend);
    expect((await backend.read())!.serial).toBe(3);
    expect(existsSync(`${path}.backup`)).toBe(false);
  });

  it("writes no state for a plan without any change", async () => {
    const { backend, state } = await storedAt(7, {});
    await run(plan("L", [], 7), state, backend);
    expect((await backend.read())!.serial).toBe(7);
  });

  it("still writes once when it records something already right on the host", async () => {
    const found = change("found", { action: "noop", steps: [] });
    const { backend, state } = await storedAt(3, {});
    await run(plan("L", [found], 3), state, backend);
    const after = (await backend.read())!;
    expect(after.serial).toBe(4);
    expect(Object.keys(after.resources)).toEqual([found.address]);
  });
});

describe("the first change of a new stack", () => {
  it("finds the state, with the plan's lineage, on disk when its first command runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bp-apply-state-"));
    const path = join(dir, "t.tfstate");
    const seen = join(dir, "seen-by-first-command.json");
    // the command copies the state file as it is when the command reaches the host
    const first = change("first", { steps: [{ command: argv("cp", path, seen), label: "Creating" }] });
    await run(plan("lineage-new", [first], null), null, new LocalStateBackend(path));
    expect(JSON.parse(readFileSync(seen, "utf8"))).toMatchObject({ lineage: "lineage-new", serial: 1, resources: {} });
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ lineage: "lineage-new", serial: 2 });
  });

  it("an existing stack gets no extra write before its changes (one serial per change)", async () => {
    const { backend, state } = await storedAt(2, {});
    await run(plan("L", [change("x")], 2), state, backend);
    expect((await backend.read())!.serial).toBe(3);
  });
});
