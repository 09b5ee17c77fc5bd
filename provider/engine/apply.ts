/**
 * Apply: walk the plan's changes in dependency order. Hosts run in parallel (bounded);
 * the changes that are ready on one host at the same time go in ONE round trip (a batch
 * that stops at the first failing command). State is written atomically after every
 * completed change. On failure no new work is scheduled, running batches finish, state is
 * saved, and the error says what was and was not done.
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

export class DestroyNotAllowedError extends Error {
  constructor(readonly changes: Change[], readonly prevented: Change[]) {
    super(
      prevented.length > 0
        ? `these changes would destroy resources marked preventDestroy: ${prevented.map((c) => `${c.address} (${c.id})`).join(", ")}`
        : `the plan destroys or replaces ${changes.map((c) => `${c.address} (${c.id} on ${c.host})`).join(", ")}: run again with --allow-destroy to proceed`,
    );
    this.name = "DestroyNotAllowedError";
  }
}

export class ApplyError extends Error {
  constructor(readonly failed: Failure[], readonly done: string[], readonly notDone: string[]) {
    super(
      `apply failed:\n${failed.map((f) => `  - ${f.change.address} (${f.change.id} on ${f.change.host}): \`${f.command}\`: ${f.stderr.trim()}`).join("\n")}\n` +
        `completed: ${done.length ? done.join(", ") : "nothing"}\nnot done: ${notDone.length ? notDone.join(", ") : "nothing"}`,
    );
    this.name = "ApplyError";
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
}

export async function apply(o: ApplyOptions): Promise<{ state: State; roundTrips: number }> {
  refuseDestruction(o);
  const writer = new StateWriter(o.backend, o.state, o.plan.lineage);
  const work = o.plan.changes.filter((c) => c.action !== "noop");
  await writer.beforeFirstCommand(o.plan.changes, work.length > 0);

  const runner = new BatchRunner(o.transports, o.log);
  const pending = new Map(work.map((c) => [c.address, c]));
  const done = new Set<string>();
  const complete = async (c: Change) => {
    // a noop without `after` (a deferred change found already right) leaves its record alone
    if (c.action === "noop" && !c.after) await writer.save();
    else await writer.record(c);
    pending.delete(c.address);
    done.add(c.address);
  };

  const runUnit = async ({ hosts: [host], batch }: Unit) => {
    const ready: Change[] = [];
    for (const c of batch) {
      const r = c.deferred ? replanDeferred(o, c, writer.state) : { change: c };
      if ("error" in r) runner.failures.push({ change: c, command: "(plan during apply)", stderr: r.error });
      else if (r.change.action === "noop") await complete(r.change);
      else {
        pending.set(c.address, r.change);
        ready.push(r.change);
      }
    }
    // nothing to run (a dataset moved aside with its ancestor): it completes without a round trip
    for (const c of ready.filter((x) => x.steps.length === 0)) await complete(c);
    const withSteps = ready.filter((x) => x.steps.length > 0);
    for (const c of withSteps.filter((x) => x.steps.some((st) => st.handOver))) if (await runner.runHandingOver(host!, c)) await complete(c);
    for (const c of await runner.runPlain(host!, withSteps.filter((x) => !x.steps.some((st) => st.handOver)))) await complete(c);
  };

  // Start what is ready, wait for one unit to finish, repeat; after a failure only wait.
  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    if (runner.failures.length === 0) {
      for (const u of unitsToStart(pending, busy, o.parallelism)) {
        for (const h of u.hosts) busy.add(h);
        const p: Promise<void> = runUnit(u)
          .catch((e: Error) => {
            runner.failures.push({ change: u.batch[0]!, command: "(connection)", stderr: e.message });
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

  if (runner.failures.length > 0 || pending.size > 0) {
    if (runner.failures.length === 0) runner.failures.push({ change: pending.values().next().value!, command: "(scheduling)", stderr: "dependencies could not be satisfied" });
    throw new ApplyError(runner.failures, [...done], [...pending.keys()]);
  }
  return { state: writer.state, roundTrips: runner.roundTrips };
}

/** Destroy and replace need --allow-destroy; preventDestroy refuses them whatever the flags. */
function refuseDestruction(o: ApplyOptions): void {
  const destructive = o.plan.changes.filter((c) => c.action !== "noop" && c.destructive);
  const prevented = destructive.filter((c) => o.preventDestroy.has(c.address));
  if (prevented.length > 0 || (destructive.length > 0 && !o.allowDestroy)) throw new DestroyNotAllowedError(destructive, prevented);
}

/** A deferred change's steps, made now that the values it waited for are in state. */
function replanDeferred(o: ApplyOptions, c: Change, state: State): { change: Change } | { error: string } {
  if (!o.replan) return { error: "no replanner" };
  const re = o.replan(c.address, state);
  return re.errors.length > 0 ? { error: re.errors.join("; ") } : { change: re.change };
}
