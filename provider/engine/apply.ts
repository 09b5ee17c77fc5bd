/**
 * Apply: walk the plan's changes in dependency order. Hosts run in parallel (bounded);
 * the changes that are ready on one host at the same time go in ONE round trip (a batch
 * that stops at the first failing command). State is written atomically after every
 * completed change. On failure no new work is scheduled, running batches finish, state is
 * saved, and the error says what was and was not done. A stop asked for (`stop`, the CLI's
 * first Ctrl-C) does the same without a failure: nothing new starts — no batch, no round trip
 * of a change not yet begun, no replication transfer — while what was sent to a host runs to
 * its end (a change whose first round trip was sent finishes all of its round trips), is
 * recorded, and ApplyInterruptedError lists what was done and what was not started.
 *
 * Progress: `onProgress` hears when each change (and transfer) starts and how it ended
 * (engine/progress.ts formats the lines); the engine itself prints nothing but `log`.
 *
 * The parts: apply-schedule.ts decides what may start (pure), apply-run.ts runs a batch on
 * a host, apply-state.ts writes state; this module walks the plan with them.
 */
import type { Transport } from "../transport/transport.js";
import type { StateBackend } from "../../state/backend.js";
import type { State } from "../model/state.js";
import type { Change, Plan } from "../model/plan.js";
import { StateWriter } from "./apply-state.js";
import { unitsToStart, type Unit } from "./apply-schedule.js";
import { BatchRunner, type Failure } from "./apply-run.js";
import { ReplicationError, runSyncs, type SyncOutcome } from "./replicate.js";
import { hostSaid } from "../model/echo.js";
import type { ProgressAction, ProgressEvent, ProgressOutcome } from "./progress.js";

export class DestroyNotAllowedError extends Error {
  constructor(readonly changes: Change[], readonly prevented: Change[], readonly rollbacks: string[] = []) {
    super(
      prevented.length > 0
        ? `these changes would destroy resources marked preventDestroy: ${prevented.map((c) => `${c.address} (${c.id})`).join(", ")}`
        : rollbacks.length > 0
          ? `the plan rolls replication targets back: ${rollbacks.join("; ")}: run again with --allow-destroy to proceed (a replication marked preventDestroy never does)`
          : `the plan destroys or replaces ${changes.map((c) => `${c.address} (${c.id} on ${c.host})`).join(", ")}: run again with --allow-destroy to proceed`,
    );
    this.name = "DestroyNotAllowedError";
  }
}

/**
 * What an apply that stopped did and did not do, change by change: completed (recorded in
 * state), failed (the host said so), unknown (the connection was lost before the host
 * reported: the object may exist; it carries its marker, so the next plan adopts it), and
 * not done. `stateError` is set when the state could not be written: the host work it names
 * is done but not recorded.
 */
export class ApplyError extends Error {
  constructor(readonly failed: Failure[], readonly done: string[], readonly notDone: string[], readonly stateError: StateWriteError | null = null) {
    const line = (f: Failure) => `  - ${f.change.address} (${f.change.id} on ${f.change.host}): \`${f.command}\`: ${hostSaid(f.stderr)}`;
    const failed_ = failed.filter((f) => !f.unknown);
    const unknown = failed.filter((f) => f.unknown);
    super(
      [
        ...(stateError ? [`apply stopped: ${stateError.message}; done on the hosts but not recorded: ${stateError.unrecorded.map((c) => `${c.address} (${c.id} on ${c.host})`).join(", ")} — the next plan adopts them by their ownership markers`] : []),
        ...(failed_.length ? [`apply failed:\n${failed_.map(line).join("\n")}`] : []),
        ...(unknown.length ? [`outcome unknown (the connection was lost; the next plan adopts what was made, by its ownership marker):\n${unknown.map(line).join("\n")}`] : []),
        `completed: ${done.length ? done.join(", ") : "nothing"}`,
        `not done: ${notDone.length ? notDone.join(", ") : "nothing"}`,
      ].join("\n"),
    );
    this.name = "ApplyError";
  }
}

/**
 * The apply stopped because it was asked to (`ApplyOptions.stop`), with nothing failed: the
 * changes that were running finished and are recorded; `notDone` were never started.
 */
export class ApplyInterruptedError extends ApplyError {
  constructor(done: string[], notDone: string[]) {
    super([], done, notDone);
    this.message = [
      "apply interrupted: nothing new was started after the interrupt, and the changes already running on hosts finished",
      `completed (recorded in state): ${done.length ? done.join(", ") : "nothing"}`,
      `not started: ${notDone.length ? notDone.join(", ") : "nothing"}`,
      "Run the command again to go on: the next plan starts from what was done.",
    ].join("\n");
    this.name = "ApplyInterruptedError";
  }
}

/** Writing state failed after changes completed on their hosts: they are done, not recorded. */
export class StateWriteError extends Error {
  /** completed on the host, not in state: the first are those whose write failed */
  readonly unrecorded: Change[];
  constructor(changes: readonly Change[], readonly cause: Error) {
    super(`writing state failed: ${cause.message}`);
    this.name = "StateWriteError";
    this.unrecorded = [...changes];
  }
}

export interface ApplyOptions {
  plan: Plan;
  state: State | null;
  backend: StateBackend;
  transports: ReadonlyMap<string, Transport>;
  allowDestroy: boolean;
  preventDestroy: ReadonlySet<string>;
  parallelism: number;
  log: (line: string) => void;
  /** makes the steps of a deferred change once the values it waited for are in state */
  replan?: (address: string, state: State) => { change: Change; errors: string[] };
  /**
   * Test-only fault injection: called at each step boundary (before a batch is sent, after
   * the host answered and before state is written). The CLI wires it from
   * BACKPLANE_FAULT_INJECT for the crash suites; unset, nothing happens.
   */
  fault?: (point: "before-batch" | "after-batch" | "before-state-write") => void;
  /** replication transfers at once per source host (default 2) */
  replicationParallelism?: number;
  /**
   * Asked to stop (the CLI's first Ctrl-C): checked before each unit is scheduled, before each
   * change of a unit sends its first round trip, and before each replication transfer.
   */
  stop?: AbortSignal;
  /** hears each change (and transfer) start and end; see engine/progress.ts */
  onProgress?: (e: ProgressEvent) => void;
}

export async function apply(o: ApplyOptions): Promise<{ state: State; roundTrips: number; replicated: SyncOutcome[] }> {
  refuseDestruction(o);
  const writer = new StateWriter(o.backend, o.state, o.plan.lineage);
  const work = o.plan.changes.filter((c) => c.action !== "noop");
  await writer.beforeFirstCommand(o.plan.changes, work.length > 0);

  const runner = new BatchRunner(o.transports, o.log, o.fault);
  const stopped = () => o.stop?.aborted === true;
  const progress = (c: Change, end?: ProgressOutcome) => {
    if (!o.onProgress || c.action === "noop") return;
    const base = { address: c.address, action: c.action as ProgressAction, id: c.id, host: c.host, at: Date.now() };
    o.onProgress(end ? { ...base, phase: "end", outcome: end } : { ...base, phase: "start" });
  };
  /** how a change the runner was given ended: done, or what its failure says, or not run */
  const outcome = (c: Change, ok: boolean): ProgressOutcome => {
    if (ok) return "done";
    const f = runner.failures.find((x) => x.change === c);
    return f ? (f.unknown ? "unknown" : "failed") : "not run";
  };
  let stateError: StateWriteError | null = null;
  const pending = new Map(work.map((c) => [c.address, c]));
  const done = new Set<string>();
  // The host work of `cs` is done (one batch, or one change of its own round trips): recorded in
  // one write. A failing state write is reported as what it is, and once one failed nothing
  // more is written (each write compares-and-swaps on the last).
  // The changes stay pending until their write has settled: what depends on them starts only
  // once they are recorded (or the failed write has stopped the apply).
  const complete = async (cs: readonly Change[]) => {
    if (cs.length === 0) return;
    try {
      if (stateError) {
        stateError.unrecorded.push(...cs);
        return;
      }
      try {
        o.fault?.("before-state-write");
        await writer.record(cs);
        for (const c of cs) done.add(c.address);
      } catch (e) {
        // units whose changes joined the same failed write all land here: the first names the cause
        if (stateError) (stateError as StateWriteError).unrecorded.push(...cs);
        else stateError = new StateWriteError(cs, e as Error);
      }
    } finally {
      for (const c of cs) pending.delete(c.address);
    }
  };

  const runUnit = async ({ hosts: [host], batch }: Unit) => {
    const ready: Change[] = [];
    for (const c of batch) {
      const r = c.deferred ? replanDeferred(o, c, writer.state) : { change: c };
      if ("error" in r) runner.failures.push({ change: c, command: "(plan during apply)", stderr: r.error });
      else if (r.change.action === "noop") await complete([r.change]);
      else {
        pending.set(c.address, r.change);
        ready.push(r.change);
      }
    }
    // nothing to run (a dataset moved aside with its ancestor): it completes without a round trip
    const noCommand = ready.filter((x) => x.steps.length === 0);
    for (const c of noCommand) progress(c);
    await complete(noCommand);
    for (const c of noCommand) progress(c, "done");
    const withSteps = ready.filter((x) => x.steps.length > 0);
    // once a state write failed nothing more reaches a host (what ran is reported unrecorded);
    // once a stop was asked for no change sends its first round trip (a begun one finishes)
    for (const c of withSteps.filter((x) => x.steps.some((st) => st.handOver || st.on))) {
      if (stateError || stopped()) return;
      progress(c);
      const ok = await runner.runHandingOver(host!, c);
      if (ok) await complete([c]);
      progress(c, outcome(c, ok));
    }
    if (stateError || stopped()) return;
    const plain = withSteps.filter((x) => !x.steps.some((st) => st.handOver || st.on));
    for (const c of plain) progress(c);
    const ok = new Set(await runner.runPlain(host!, plain));
    await complete(plain.filter((c) => ok.has(c)));
    for (const c of plain) progress(c, outcome(c, ok.has(c)));
  };

  // Start what is ready, wait for one unit to finish, repeat; after a failure only wait.
  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    if (runner.failures.length === 0 && !stateError && !stopped()) {
      for (const u of unitsToStart(pending, busy, o.parallelism)) {
        for (const h of u.hosts) busy.add(h);
        const p: Promise<void> = runUnit(u)
          .catch((e: Error) => {
            runner.failures.push({ change: u.batch[0]!, command: "(internal error)", stderr: e.message });
          })
          .finally(() => {
            for (const h of u.hosts) busy.delete(h);
            inFlight.delete(p);
          });
        inFlight.add(p);
      }
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
  }

  if (runner.failures.length > 0 || pending.size > 0 || stateError) {
    // stopped on request with nothing failed: what was not started is the whole story
    if (stopped() && runner.failures.length === 0 && !stateError) throw new ApplyInterruptedError([...done], [...pending.keys()]);
    if (runner.failures.length === 0 && !stateError) runner.failures.push({ change: pending.values().next().value!, command: "(scheduling)", stderr: "dependencies could not be satisfied" });
    const unsettled = new Set(runner.failures.map((f) => f.change.address));
    throw new ApplyError(runner.failures, [...done], [...pending.keys()].filter((a) => !unsettled.has(a)), stateError);
  }
  const replicated = await replicate(o, writer, [...done]);
  return { state: writer.state, roundTrips: runner.roundTrips, replicated };
}

/**
 * The plan's replication transfers, once every change is done; each success recorded as it
 * completes. Stopped on request, the transfers not started yet are reported (the running ones finish).
 */
async function replicate(o: ApplyOptions, writer: StateWriter, changesDone: string[]): Promise<SyncOutcome[]> {
  const syncs = (o.plan.syncs ?? []).filter((s) => s.run);
  if (syncs.length === 0) return [];
  const outcomes = await runSyncs({
    syncs, transports: o.transports, parallelism: o.replicationParallelism ?? 2, log: o.log, stop: o.stop, onProgress: o.onProgress,
    record: async (s, r) => {
      const rec = writer.state.resources[s.address];
      if (!rec) return;
      rec.attributes = { ...rec.attributes, last_snapshot: r.snapshot, last_guid: r.guid };
      await writer.save();
    },
  });
  if (outcomes.some((x) => x.error)) throw new ReplicationError(outcomes);
  const notStarted = syncs.filter((s) => !outcomes.some((x) => x.sync === s));
  if (notStarted.length > 0) throw new ApplyInterruptedError([...changesDone, ...outcomes.filter((x) => x.result).map((x) => x.sync.address)], notStarted.map((s) => s.address));
  return outcomes;
}

/** Destroy and replace need --allow-destroy; preventDestroy refuses them whatever the flags. */
function refuseDestruction(o: ApplyOptions): void {
  const destructive = o.plan.changes.filter((c) => c.action !== "noop" && c.destructive);
  const prevented = destructive.filter((c) => o.preventDestroy.has(c.address));
  if (prevented.length > 0 || (destructive.length > 0 && !o.allowDestroy)) throw new DestroyNotAllowedError(destructive, prevented);
  // a transfer that rolls its target back (zfs recv -F) loses what only the target holds: the stack's
  // allow_rollback_target says it may, the operator's --allow-destroy says now
  const rollbacks = (o.plan.syncs ?? []).filter((s) => s.run && s.rollsBack);
  if (rollbacks.length > 0 && (!o.allowDestroy || rollbacks.some((s) => o.preventDestroy.has(s.address)))) {
    throw new DestroyNotAllowedError([], [], rollbacks.map((s) => `${s.address} rolls ${s.target} on ${s.targetHost} back, losing ${s.rollsBack!.join(", ")}`));
  }
}

/** A deferred change's steps, made now that the values it waited for are in state. */
function replanDeferred(o: ApplyOptions, c: Change, state: State): { change: Change } | { error: string } {
  if (!o.replan) return { error: "no replanner" };
  const re = o.replan(c.address, state);
  return re.errors.length > 0 ? { error: re.errors.join("; ") } : { change: re.change };
}
