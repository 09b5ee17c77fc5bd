/**
 * An apply asked to stop (the CLI's first Ctrl-C, an AbortSignal here) starts nothing new and
 * lets what a host is already running finish and be recorded; and what apply tells its
 * progress listener. The batches run for real on this machine (LocalTransport: `sh -s` with
 * the engine's batch script; the commands are sleep/touch).
 */
import { describe, it, expect } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply, ApplyError, ApplyInterruptedError } from "../../provider/engine/apply.js";
import { runSyncs } from "../../provider/engine/replicate.js";
import type { ProgressEvent } from "../../provider/engine/progress.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { ConnectError, type RunResult } from "../../provider/transport/transport.js";
import { LocalStateBackend } from "../../state/local.js";
import { argv, type Argv } from "../../provider/model/argv.js";
import type { Change, Plan, Sync } from "../../provider/model/plan.js";

function change(host: string, name: string, command: Argv, dependsOn: string[] = []): Change {
  return {
    address: `backplane_dataset.${name}`, type: "backplane_dataset", host, id: `tank/${name}`, path: `stack/${name}`,
    action: "create", reason: "does not exist", attrs: [], destructive: false,
    steps: [{ command, label: "Creating" }], after: { name: `tank/${name}` }, dependsOn,
  };
}
const plan = (changes: Change[], syncs?: Sync[]): Plan => ({ stack: "t", lineage: "l", stateSerial: null, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false, ...(syncs ? { syncs } : {}) });
const slowTouch = (file: string, seconds = "0.4") => argv("sh", "-c", `sleep ${seconds} && touch "$1"`, "sh", file);

async function setup(hosts: string[]) {
  const dir = await mkdtemp(join(tmpdir(), "bp-stop-"));
  return { dir, backend: new LocalStateBackend(join(dir, "terraform.tfstate")), transports: new Map(hosts.map((h) => [h, new LocalTransport(h)])) };
}

/** Runs the apply; `stopWhen` sees each progress event and says when to ask for the stop. */
async function applyStopping(p: Plan, hosts: string[], stopWhen: (e: ProgressEvent, stop: () => void) => void) {
  const { dir, backend, transports } = await setup(hosts);
  const controller = new AbortController();
  const events: ProgressEvent[] = [];
  const err = await apply({
    plan: p, state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8, log: () => {}, stop: controller.signal,
    onProgress: (e) => {
      events.push(e);
      stopWhen(e, () => controller.abort());
    },
  }).then(() => null, (e: Error) => e);
  const said = events.map((e) => `${e.phase} ${e.address}${e.phase === "end" ? ` ${e.outcome}` : ""}`);
  return { err, state: await backend.read(), said, dir };
}

describe("an apply asked to stop", () => {
  it("lets the running batch finish and records it; what depends on it is not started", async () => {
    const { dir } = await setup([]);
    const first = change("a", "first", slowTouch(join(dir, "first")));
    const second = change("a", "second", argv("touch", join(dir, "second")), [first.address]);
    const r = await applyStopping(plan([first, second]), ["a"], (e, stop) => { if (e.phase === "start") stop(); });
    expect(r.err).toBeInstanceOf(ApplyInterruptedError);
    const e = r.err as ApplyInterruptedError;
    expect(e.done).toEqual([first.address]);
    expect(e.notDone).toEqual([second.address]);
    expect(e.failed).toEqual([]);
    expect(e.message).toMatch(/^apply interrupted: nothing new was started/);
    expect(e.message).toContain(`completed (recorded in state): ${first.address}`);
    expect(e.message).toContain(`not started: ${second.address}`);
    expect(Object.keys(r.state!.resources)).toEqual([first.address]);
    expect(existsSync(join(dir, "first"))).toBe(true);
    expect(existsSync(join(dir, "second"))).toBe(false);
    expect(r.said).toEqual([`start ${first.address}`, `end ${first.address} done`]);
  });

  it("lets every host's running batch finish, and starts no host's next change", async () => {
    const { dir } = await setup([]);
    const changes = ["a", "b"].flatMap((h) => {
      const x = change(h, `${h}x`, slowTouch(join(dir, `${h}x`)));
      return [x, change(h, `${h}y`, argv("touch", join(dir, `${h}y`)), [x.address])];
    });
    let stopping: Promise<void> | null = null;
    // asked a moment after both batches were sent
    const r = await applyStopping(plan(changes), ["a", "b"], (e, stop) => { if (e.phase === "start") stopping ??= new Promise((ok) => setTimeout(ok, 150)).then(stop); });
    const e = r.err as ApplyInterruptedError;
    expect(e).toBeInstanceOf(ApplyInterruptedError);
    expect([...e.done].sort()).toEqual(["backplane_dataset.ax", "backplane_dataset.bx"]);
    expect([...e.notDone].sort()).toEqual(["backplane_dataset.ay", "backplane_dataset.by"]);
    expect(Object.keys(r.state!.resources).sort()).toEqual(["backplane_dataset.ax", "backplane_dataset.bx"]);
    for (const f of ["ay", "by"]) expect(existsSync(join(dir, f))).toBe(false);
  });

  it("does not cut a change of several round trips in the middle (a step on another host it reserved)", async () => {
    const { dir } = await setup([]);
    const twoHosts: Change = {
      ...change("a", "pair", slowTouch(join(dir, "on-a"))), alsoUses: ["b"],
      steps: [{ command: slowTouch(join(dir, "on-a")), label: "Creating" }, { command: argv("touch", join(dir, "on-b")), label: "Authorizing", on: "b" }],
    };
    const later = change("a", "later", argv("touch", join(dir, "later")), [twoHosts.address]);
    const r = await applyStopping(plan([twoHosts, later]), ["a", "b"], (e, stop) => { if (e.phase === "start") stop(); });
    expect(r.err).toBeInstanceOf(ApplyInterruptedError);
    expect(existsSync(join(dir, "on-b"))).toBe(true);
    expect(existsSync(join(dir, "later"))).toBe(false);
    expect(Object.keys(r.state!.resources)).toEqual([twoHosts.address]);
  });

  it("a unit begun but not yet sent to its host (recording a change that needs no command first) sends nothing", async () => {
    const { dir } = await setup([]);
    // a dataset that moves with its ancestor's keep-aside: no steps, recorded without a round trip
    const moved: Change = { ...change("a", "moved", argv("true")), action: "delete", steps: [], after: null };
    const other: Change = { ...change("a", "other", argv("touch", join(dir, "other"))), action: "delete", after: null };
    const r = await applyStopping(plan([moved, other]), ["a"], (e, stop) => { if (e.phase === "start" && e.address === moved.address) stop(); });
    expect(r.err).toBeInstanceOf(ApplyInterruptedError);
    expect((r.err as ApplyInterruptedError).done).toEqual([moved.address]);
    expect((r.err as ApplyInterruptedError).notDone).toEqual([other.address]);
    expect(existsSync(join(dir, "other"))).toBe(false);
  });

  it("a stop asked for after the last change started is no interruption: the apply completes", async () => {
    const { dir } = await setup([]);
    const only = change("a", "only", slowTouch(join(dir, "only"), "0.2"));
    const r = await applyStopping(plan([only]), ["a"], (e, stop) => { if (e.phase === "start") stop(); });
    expect(r.err).toBeNull();
    expect(Object.keys(r.state!.resources)).toEqual([only.address]);
  });

  it("a failure while stopping is reported as a failure (ApplyError), not as an interruption", async () => {
    const { dir } = await setup([]);
    const bad = change("a", "bad", argv("sh", "-c", "sleep 0.2; echo no such pool >&2; exit 1"));
    const after = change("a", "after", argv("touch", join(dir, "after")), [bad.address]);
    const r = await applyStopping(plan([bad, after]), ["a"], (e, stop) => { if (e.phase === "start") stop(); });
    expect(r.err).toBeInstanceOf(ApplyError);
    expect(r.err).not.toBeInstanceOf(ApplyInterruptedError);
    expect(r.err!.message).toMatch(/apply failed:\n.*no such pool/);
  });
});

describe("what apply tells its progress listener", () => {
  it("each change of a batch starts when the batch is sent and ends done, failed or not run", async () => {
    const { dir } = await setup([]);
    const ok = change("a", "ok", argv("true"));
    const bad = change("a", "bad", argv("sh", "-c", "exit 3"));
    const skipped = change("a", "skipped", argv("touch", join(dir, "never")));
    const r = await applyStopping(plan([ok, bad, skipped]), ["a"], () => {});
    expect(r.err).toBeInstanceOf(ApplyError);
    expect(r.said).toEqual([
      "start backplane_dataset.ok", "start backplane_dataset.bad", "start backplane_dataset.skipped",
      "end backplane_dataset.ok done", "end backplane_dataset.bad failed", "end backplane_dataset.skipped not run",
    ]);
  });

  it("a change whose connection was lost ends unknown", async () => {
    class Lost extends LocalTransport {
      override async script(): Promise<RunResult> {
        throw new ConnectError("a", "Connection to 127.0.0.1 closed by remote host.", "lost", "");
      }
    }
    const { backend } = await setup([]);
    const events: ProgressEvent[] = [];
    await apply({ plan: plan([change("a", "x", argv("true"))]), state: null, backend, transports: new Map([["a", new Lost("a")]]), allowDestroy: false, preventDestroy: new Set(), parallelism: 1, log: () => {}, onProgress: (e) => events.push(e) }).catch(() => null);
    expect(events.map((e) => (e.phase === "end" ? e.outcome : e.phase))).toEqual(["start", "unknown"]);
  });

  it("start and end carry the address, action, object and host, and the time", async () => {
    const { backend, transports } = await setup(["a"]);
    const events: ProgressEvent[] = [];
    const t0 = Date.now();
    await apply({ plan: plan([change("a", "x", argv("true"))]), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 1, log: () => {}, onProgress: (e) => events.push(e) });
    expect(events).toMatchObject([
      { phase: "start", address: "backplane_dataset.x", action: "create", id: "tank/x", host: "a" },
      { phase: "end", address: "backplane_dataset.x", action: "create", id: "tank/x", host: "a", outcome: "done" },
    ]);
    expect(events[0]!.at).toBeGreaterThanOrEqual(t0);
    expect(events[1]!.at).toBeGreaterThanOrEqual(events[0]!.at);
  });
});

describe("replication transfers asked to stop", () => {
  const sync = (name: string, seconds: string): Sync => ({
    address: `backplane_replication.${name}`, path: `stack/${name}`, sourceHost: "a", targetHost: "b", source: `tank/${name}`, target: `backup/${name}`,
    status: "behind", behind: 1, lagSeconds: 60, written: 0, send: "incremental", from: `tank/${name}@s0`, rollsBack: null,
    run: { command: argv("sh", "-c", `sleep ${seconds}; printf 'snapshot\\t%s@s1\\t123\\n' "$1"`, "sh", `tank/${name}`), label: "Replicating" }, pruneTarget: null,
  });

  it("the running transfer finishes; the queued ones do not start", async () => {
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const outcomes = await runSyncs({
      syncs: [sync("r1", "0.3"), sync("r2", "0"), sync("r3", "0")], transports: new Map([["a", new LocalTransport("a")], ["b", new LocalTransport("b")]]), parallelism: 1, log: () => {},
      record: async () => {}, stop: controller.signal,
      onProgress: (e) => {
        events.push(e);
        controller.abort();
      },
    });
    expect(outcomes.map((o) => [o.sync.address, o.result?.snapshot])).toEqual([["backplane_replication.r1", "tank/r1@s1"]]);
    expect(events.map((e) => `${e.phase} ${e.address}${e.phase === "end" ? ` ${e.outcome}` : ""}`)).toEqual(["start backplane_replication.r1", "end backplane_replication.r1 done"]);
  });

  it("apply reports the transfers not started as not done", async () => {
    const { backend, transports } = await setup(["a", "b"]);
    const controller = new AbortController();
    const err = await apply({
      plan: plan([], [sync("r1", "0.3"), sync("r2", "0")]), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 1, replicationParallelism: 1, log: () => {},
      stop: controller.signal, onProgress: () => controller.abort(),
    }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(ApplyInterruptedError);
    expect((err as ApplyInterruptedError).done).toEqual(["backplane_replication.r1"]);
    expect((err as ApplyInterruptedError).notDone).toEqual(["backplane_replication.r2"]);
  });
});
