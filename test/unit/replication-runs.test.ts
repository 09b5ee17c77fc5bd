/**
 * The replication transfers after the changes: one that fails does not stop the others, at
 * most N run at once per source host, each success is recorded in state as it completes, a
 * target is pruned only after its transfer succeeded, and the apply says which failed.
 * Transports here answer like the source host's sync script does (its report format).
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makePlan } from "../../provider/engine/plan.js";
import { apply } from "../../provider/engine/apply.js";
import { loadStack } from "../../provider/engine/load.js";
import { ReplicationError } from "../../provider/engine/replicate.js";
import { ConnectError, type RunResult, type Transport } from "../../provider/transport/transport.js";
import type { Argv } from "../../provider/model/argv.js";
import type { State } from "../../provider/model/state.js";
import type { StateBackend } from "../../state/backend.js";
import { liveFrom, ROOT } from "./helpers/seed.js";

const fx = (f: string) => join(ROOT, "test", "fixtures", "refresh", f);
const recorded = (): State => JSON.parse(readFileSync(fx("zfs-2.3-repl.state.json"), "utf8")) as State;

/** prod behind on all three replications: every one has a transfer to run */
function planAllBehind() {
  const graph = loadStack(JSON.parse(readFileSync(fx("zfs-2.3-repl.cdk.tf.json"), "utf8")));
  const prod = liveFrom("zfs-2.3-prod-repl-synced", "prod", { replication: true });
  for (const d of prod.replication!.datasets.values()) d.written = 4096;
  for (const r of graph.resources.values()) if (r.type === "backplane_replication") r.config.retain_target = 1;
  const plan = makePlan({ stack: "replication-capture", graph, state: recorded(), live: new Map([["prod", prod], ["dr", liveFrom("zfs-2.3-dr-repl-synced", "dr", { replication: true })]]), newLineage: "x", now: 0 });
  expect(plan.errors).toEqual([]);
  expect(plan.syncs!.filter((s) => s.run)).toHaveLength(3);
  return plan;
}

class ScriptedTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  running = 0;
  maxRunning = 0;
  readonly ran: string[] = [];
  constructor(readonly host: string, private readonly answer: (dataset: string) => RunResult | "lost") {}
  async run(cmd: Argv): Promise<RunResult> {
    this.roundTrips++;
    const words = cmd.map((w) => w.text);
    // the sync script's first argument is the source dataset; the prune's are the target's snapshots
    const subject = words[0] === "sh" && words[2]!.includes("zfs send") ? words[4]! : `prune ${words.slice(4).join(" ")}`;
    this.ran.push(subject);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 20));
    this.running--;
    const a = this.answer(subject);
    if (a === "lost") throw new ConnectError(this.host, "ssh: Connection reset by peer", "lost", "");
    return a;
  }
  async script(): Promise<RunResult> {
    throw new Error("not used");
  }
  prepare(): { file: string; args: string[] } {
    throw new Error("not used");
  }
  async close() {}
}

const ok = (dataset: string): RunResult => ({ stdout: `bytes\t1048576\nsnapshot\t${dataset}@backplane-repl-20261126T090000Z\t${dataset.length}123\n`, stderr: "", exitCode: 0, durationMs: 5 });

class MemoryBackend implements Pick<StateBackend, "read" | "write"> {
  writes: State[] = [];
  constructor(private state: State | null) {}
  async read() {
    return this.state ? structuredClone(this.state) : null;
  }
  async write(s: State, expectedSerial: number | null) {
    if ((this.state?.serial ?? null) !== expectedSerial) throw new Error(`stale write: ${expectedSerial} vs ${this.state?.serial}`);
    this.state = structuredClone(s);
    this.writes.push(structuredClone(s));
  }
}

async function run(prod: ScriptedTransport, dr: ScriptedTransport, parallelism: number) {
  const plan = planAllBehind();
  const backend = new MemoryBackend(recorded());
  const lines: string[] = [];
  const result = await apply({ plan, state: recorded(), backend: backend as unknown as StateBackend, transports: new Map<string, Transport>([["prod", prod], ["dr", dr]]), allowDestroy: false, preventDestroy: new Set(), parallelism: 1, replicationParallelism: parallelism, log: (l) => lines.push(l) }).catch((e: Error) => e);
  return { result, backend, lines };
}

describe("replication transfers", () => {
  it("one that fails does not stop the others; the error names it; the others are recorded in state", async () => {
    const prod = new ScriptedTransport("prod", (d) => (d === "tank/srv/postgres" ? { stdout: "", stderr: "zfs recv on 10.201.0.2 failed (exit 1)", exitCode: 1, durationMs: 5 } : ok(d)));
    const dr = new ScriptedTransport("dr", () => ({ stdout: "", stderr: "", exitCode: 0, durationMs: 1 }));
    const { result, backend, lines } = await run(prod, dr, 2);
    expect(result).toBeInstanceOf(ReplicationError);
    const e = result as ReplicationError;
    expect(e.message).toContain("replication failed for 1 of 3:");
    expect(e.message).toMatch(/postgres-dr[^\n]*: zfs recv on 10\.201\.0\.2 failed \(exit 1\)/);
    expect(e.message).toMatch(/replicated: .*uploads-dr.*secret-dr|replicated: .*secret-dr.*uploads-dr/);
    expect(prod.ran.sort()).toEqual(["tank/srv/postgres", "tank/srv/secret", "tank/srv/uploads"]);
    const last = backend.writes.at(-1)!;
    const bySource = (d: string) => Object.values(last.resources).find((r) => r.attributes.source_dataset === d)!.attributes;
    expect(bySource("tank/srv/uploads").last_snapshot).toBe("tank/srv/uploads@backplane-repl-20261126T090000Z");
    expect(bySource("tank/srv/postgres").last_snapshot).toBe(recorded().resources[Object.keys(recorded().resources).find((a) => recorded().resources[a]!.attributes.source_dataset === "tank/srv/postgres")!]!.attributes.last_snapshot);
    // the failed one's target is not pruned; the others' are, after their transfer
    expect(dr.ran.some((x) => x.includes("backup/prod/postgres"))).toBe(false);
    expect(dr.ran.filter((x) => x.startsWith("prune backup/prod/uploads"))).toHaveLength(1);
    expect(lines.some((l) => /postgres → dr:backup\/prod\/postgres: FAILED/.test(l))).toBe(true);
  });

  it("at most N transfers run at once on one source host", async () => {
    for (const n of [1, 2, 3]) {
      const prod = new ScriptedTransport("prod", ok);
      const dr = new ScriptedTransport("dr", () => ({ stdout: "", stderr: "", exitCode: 0, durationMs: 1 }));
      const { result } = await run(prod, dr, n);
      expect(result).not.toBeInstanceOf(Error);
      expect(prod.maxRunning, `parallelism ${n}`).toBe(n);
    }
  });

  it("a connection lost mid-transfer is an unknown outcome: not recorded, not pruned, reported", async () => {
    const prod = new ScriptedTransport("prod", (d) => (d === "tank/srv/uploads" ? "lost" : ok(d)));
    const dr = new ScriptedTransport("dr", () => ({ stdout: "", stderr: "", exitCode: 0, durationMs: 1 }));
    const { result } = await run(prod, dr, 3);
    expect((result as Error).message).toMatch(/uploads-dr[^\n]*\[outcome unknown\]/);
    expect(dr.ran.some((x) => x.includes("backup/prod/uploads"))).toBe(false);
  });
});

describe("a transfer that rolls its target back", () => {
  it("needs --allow-destroy, whatever the stack allows, and never runs for a replication marked preventDestroy", async () => {
    const graph = loadStack(JSON.parse(readFileSync(fx("zfs-2.3-repl.cdk.tf.json"), "utf8")));
    for (const r of graph.resources.values()) if (r.type === "backplane_replication" && r.config.source_dataset === "tank/srv/postgres") r.config.allow_rollback_target = true;
    const plan = makePlan({ stack: "replication-capture", graph, state: recorded(), live: new Map([["prod", liveFrom("zfs-2.3-prod-repl-synced", "prod", { replication: true })], ["dr", liveFrom("zfs-2.3-dr-repl-diverged", "dr", { replication: true })]]), newLineage: "x", now: 0 });
    const rolling = plan.syncs!.find((s) => s.rollsBack)!;
    expect(rolling.rollsBack).toEqual(["backup/prod/postgres@handmade"]);
    const prod = new ScriptedTransport("prod", ok);
    // (the authorisation with -F is a change of its own, run by the hand-over: left out here)
    const transfersOnly = { ...plan, changes: plan.changes.filter((c) => c.action === "noop") };
    const go = (allowDestroy: boolean, preventDestroy: string[] = []) => apply({ plan: transfersOnly, state: recorded(), backend: new MemoryBackend(recorded()) as unknown as StateBackend, transports: new Map<string, Transport>([["prod", prod], ["dr", new ScriptedTransport("dr", ok)]]), allowDestroy, preventDestroy: new Set(preventDestroy), parallelism: 1, log: () => {} });
    await expect(go(false)).rejects.toThrow(/rolls backup\/prod\/postgres on dr back, losing backup\/prod\/postgres@handmade: run again with --allow-destroy/);
    await expect(go(true, [rolling.address])).rejects.toThrow(/rolls/);
    expect(prod.ran).toEqual([]);
    await go(true);
    expect(prod.ran).toContain("tank/srv/postgres");
  });
});
