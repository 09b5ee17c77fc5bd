/**
 * What an apply knows when a batch does not come back whole: every change ends done, failed,
 * not run or unknown, and state records exactly the done ones. The batches run for real on
 * this machine (LocalTransport: `sh -s` with the engine's batch script); what a cut link
 * leaves is modelled the way SshTransport reports it: a ConnectError carrying the output that
 * arrived before the cut (the e2e network-fault suite cuts a real link).
 */
import { describe, it, expect } from "vitest";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply, ApplyError } from "../../provider/engine/apply.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { ConnectError, type RunResult } from "../../provider/transport/transport.js";
import { LocalStateBackend } from "../../state/local.js";
import { argv, type Argv } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";
import type { State } from "../../provider/model/state.js";

function change(name: string, command: Argv, dependsOn: string[] = []): Change {
  return {
    address: `backplane_dataset.${name}`, type: "backplane_dataset", host: "a", id: `tank/${name}`, path: `stack/${name}`,
    action: "create", reason: "does not exist", attrs: [], destructive: false,
    steps: [{ command, label: "Creating" }], after: { name: `tank/${name}` }, dependsOn,
  };
}
const plan = (changes: Change[]): Plan => ({ stack: "t", lineage: "l", stateSerial: null, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false });

/** Runs the batch for real, then loses the link after `keepSections` sections had arrived. */
class CutAfter extends LocalTransport {
  constructor(private readonly keepSections: number, private readonly phase: "connect" | "lost" = "lost") {
    super("a");
  }
  override async script(text: string): Promise<RunResult> {
    if (this.phase === "connect") throw new ConnectError("a", "ssh: connect to host 127.0.0.1 port 22221: Connection refused", "connect");
    const r = await super.script(text);
    const lines = r.stdout.split("\n");
    const ends = lines.flatMap((l, i) => (/^@@bp-\w+:end /.test(l) ? [i] : []));
    const cutAt = this.keepSections < ends.length ? ends[this.keepSections]! - 1 : lines.length;
    throw new ConnectError("a", "Connection to 127.0.0.1 closed by remote host.", "lost", lines.slice(0, cutAt).join("\n"));
  }
}

async function run(transport: LocalTransport, changes: Change[], backend?: LocalStateBackend) {
  const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
  const b = backend ?? new LocalStateBackend(join(dir, "terraform.tfstate"));
  const err = await apply({ plan: plan(changes), state: null, backend: b, transports: new Map([["a", transport]]), allowDestroy: false, preventDestroy: new Set(), parallelism: 1, log: () => {} })
    .then(() => null, (e: Error) => e);
  return { err, state: await b.read(), dir };
}

describe("a batch cut off by a lost connection", () => {
  it("records the changes the host reported done and reports the rest as unknown, not failed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const marks = ["one", "two", "three"].map((n) => join(dir, n));
    const changes = marks.map((m, i) => change(["one", "two", "three"][i]!, argv("touch", m)));
    const { err, state } = await run(new CutAfter(1), changes);
    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.done).toEqual(["backplane_dataset.one"]);
    expect(Object.keys(state!.resources)).toEqual(["backplane_dataset.one"]);
    expect(e.failed.map((f) => [f.change.address, f.unknown])).toEqual([["backplane_dataset.two", true], ["backplane_dataset.three", true]]);
    expect(e.message).toMatch(/outcome unknown \(the connection was lost; the next plan adopts what was made/);
    expect(e.message).not.toMatch(/apply failed/);
    expect(e.message).not.toContain("(connection)");
    // the host did run them: unknown was the honest answer
    for (const m of marks) expect(existsSync(m)).toBe(true);
  });

  it("a connection never made ran nothing: nothing recorded, nothing unknown", async () => {
    const { err, state } = await run(new CutAfter(0, "connect"), [change("one", argv("true")), change("two", argv("true"))]);
    const e = err as ApplyError;
    expect(e.failed.filter((f) => f.unknown)).toEqual([]);
    expect(e.message).toMatch(/Connection refused — nothing ran/);
    expect(e.notDone).toEqual(["backplane_dataset.two"]);
    expect(state === null || Object.keys(state.resources).length === 0).toBe(true);
  });
});

describe("a batch that ends without reporting a command", () => {
  /** The host's shell stops early (exit 0) with no section for the last command. */
  class Truncating extends LocalTransport {
    override async script(text: string): Promise<RunResult> {
      const r = await super.script(text);
      const lines = r.stdout.split("\n");
      const lastBegin = lines.map((l) => /^@@bp-\w+:begin /.test(l)).lastIndexOf(true);
      return { ...r, stdout: lines.slice(0, lastBegin).join("\n") + "\n" };
    }
  }
  it("counts the unreported change as failed and stops (it does not loop)", async () => {
    const { err, state } = await run(new Truncating("a"), [change("one", argv("true")), change("two", argv("true"))]);
    const e = err as ApplyError;
    expect(e.failed.map((f) => [f.change.address, f.unknown ?? false])).toEqual([["backplane_dataset.two", false]]);
    expect(e.message).toMatch(/the batch ended without reporting this command/);
    expect(Object.keys(state!.resources)).toEqual(["backplane_dataset.one"]);
  });
});

describe("a state that cannot be written", () => {
  class FailingWrites extends LocalStateBackend {
    writes = 0;
    override async write(state: State, expected: number | null): Promise<void> {
      // the first write is the new stack's empty state (before any command), the second records "one"
      if (++this.writes > 2) throw new Error("ENOSPC: no space left on device, write");
      return super.write(state, expected);
    }
  }
  it("is reported as a state error naming the changes done on the host but not recorded, and nothing more starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const backend = new FailingWrites(join(dir, "terraform.tfstate"));
    const after = join(dir, "never");
    const first = change("one", argv("true"));
    // three batches, one after another: "one" is recorded, "two"'s write fails, "three" never starts
    const second = change("two", argv("true"), [first.address]);
    const third = change("three", argv("touch", after), [first.address, second.address]);
    const { err, state } = await run(new LocalTransport("a"), [first, second, third], backend);
    const e = err as ApplyError;
    expect(e.stateError).not.toBeNull();
    expect(e.message).toMatch(/apply stopped: writing state failed: ENOSPC.*done on the hosts but not recorded: backplane_dataset\.two/);
    expect(e.message).not.toContain("(connection)");
    expect(Object.keys(state!.resources)).toEqual(["backplane_dataset.one"]);
    expect(e.notDone).toEqual(["backplane_dataset.three"]);
    expect(existsSync(after)).toBe(false);
    await writeFile(join(dir, "ok"), "");
  });
});

describe("review findings (adversarial review of the recovery change)", () => {
  /** the link drops after the host printed "…:end c0s0 " but before the exit code arrived */
  class CutInEndLine extends LocalTransport {
    override async script(text: string): Promise<RunResult> {
      const r = await super.script(text);
      const i = r.stdout.indexOf(":end c0s0 ");
      throw new ConnectError("a", "Timeout, server 10.0.0.2 not responding.", "lost", r.stdout.slice(0, i + ":end c0s0 ".length));
    }
  }
  it("a command whose end line was cut before its exit code is unknown, never done", async () => {
    const { err, state } = await run(new CutInEndLine("a"), [change("one", argv("false"))]);
    expect((err as ApplyError).failed.map((f) => f.unknown)).toEqual([true]);
    expect(Object.keys(state?.resources ?? {})).toEqual([]);
  });

  class FailingSecondWrite extends LocalStateBackend {
    writes = 0;
    override async write(state: State, expected: number | null): Promise<void> {
      if (++this.writes > 1) throw new Error("ENOSPC: no space left on device, write"); // #1 = the new stack's empty state
      return super.write(state, expected);
    }
  }
  it("after a failed state write no command starts, not even one ready in the same unit, and nothing more is written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const after = join(dir, "ran-after-state-write-failed");
    // 'moved' completes without a round trip (a dataset moved aside with its ancestor); 'next' is ready in the same unit
    const moved = { ...change("moved", argv("true")), steps: [] };
    const next = change("next", argv("touch", after));
    const backend = new FailingSecondWrite(join(dir, "t.tfstate"));
    const { err } = await run(new LocalTransport("a"), [moved, next], backend);
    expect((err as ApplyError).stateError).not.toBeNull();
    expect(existsSync(after)).toBe(false);
    expect(backend.writes).toBe(2);
  });
});

describe("a state write that failed is not retried for the changes after it", () => {
  class FailingFromSecond extends LocalStateBackend {
    writes = 0;
    override async write(state: State, expected: number | null): Promise<void> {
      if (++this.writes > 1) throw new Error("EIO: i/o error, write");
      return super.write(state, expected);
    }
  }
  it("every change done after the failure is listed as done but not recorded, with no further write", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const backend = new FailingFromSecond(join(dir, "t.tfstate"));
    const { err } = await run(new LocalTransport("a"), [change("one", argv("true")), change("two", argv("true")), change("three", argv("true"))], backend);
    const e = err as ApplyError;
    expect(e.stateError!.unrecorded.map((c) => c.address)).toEqual(["backplane_dataset.one", "backplane_dataset.two", "backplane_dataset.three"]);
    expect(backend.writes).toBe(2);
  });
});

describe("what depends on a change starts only once that change is recorded (adversarial review)", () => {
  /** a slow backend (a network database): the state is taken when the write starts, stored 400 ms later */
  class SlowWrites extends LocalStateBackend {
    writes = 0;
    constructor(path: string, private readonly failWrite: number | null = null) {
      super(path);
    }
    override async write(state: State, expected: number | null): Promise<void> {
      const n = ++this.writes;
      const doc = structuredClone(state);
      await new Promise((r) => setTimeout(r, 400));
      if (n === this.failWrite) throw new Error(`EIO: write ${n} failed`);
      return super.write(doc, expected);
    }
  }
  const on = (host: string, name: string, command: Argv, dependsOn: string[] = []): Change => ({ ...change(name, command, dependsOn), host });
  const go = (changes: Change[], backend: LocalStateBackend) => apply({
    plan: plan(changes), state: null, backend, transports: new Map([...new Set(changes.map((c) => c.host))].map((h) => [h, new LocalTransport(h)])),
    allowDestroy: false, preventDestroy: new Set(), parallelism: 8, log: () => {},
  }).then(() => null, (e: Error) => e);

  it("a dependent on another host reads a stored state that records what it depends on", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const path = join(dir, "terraform.tfstate");
    const seen = join(dir, "seen-by-c.json");
    // b's write starts first; a's is queued behind it; c (after a) must wait for a's, not b's
    const a = on("a", "a", argv("sleep", "0.25"));
    const c = on("c", "c", argv("cp", path, seen), [a.address]);
    expect(await go([a, on("b", "b", argv("true")), c], new SlowWrites(path))).toBeNull();
    expect(Object.keys((JSON.parse(await readFile(seen, "utf8")) as State).resources)).toContain(a.address);
  });

  it("when that write fails, the dependent never runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    const ran = join(dir, "c-ran");
    // writes: 1 the new stack's empty state, 2 b, 3 a (fails)
    const a = on("a", "a", argv("sleep", "0.25"));
    const err = await go([a, on("b", "b", argv("true")), on("c", "c", argv("touch", ran), [a.address])], new SlowWrites(join(dir, "t.tfstate"), 3));
    expect((err as ApplyError).stateError!.unrecorded.map((c) => c.address)).toEqual([a.address]);
    expect((err as ApplyError).notDone).toEqual(["backplane_dataset.c"]);
    expect(existsSync(ran)).toBe(false);
  });

  it("after a failed write no write follows: what the error calls unrecorded is not in the stored state", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-outcome-"));
    // writes: 1 empty state, 2 x (fails), y's queued behind it
    const backend = new SlowWrites(join(dir, "t.tfstate"), 2);
    const err = (await go([on("x", "x", argv("true")), on("y", "y", argv("sleep", "0.1"))], backend)) as ApplyError;
    const unrecorded = err.stateError!.unrecorded.map((c) => c.address).sort();
    expect(unrecorded).toEqual(["backplane_dataset.x", "backplane_dataset.y"]);
    expect(backend.writes).toBe(2);
    const stored = await backend.read();
    for (const u of unrecorded) expect(Object.keys(stored?.resources ?? {})).not.toContain(u);
  });
});
