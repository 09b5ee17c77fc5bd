/**
 * Apply: walk the plan's changes in dependency order. Hosts run in parallel (bounded);
 * the changes that are ready on one host at the same time go in ONE round trip (a batch
 * that stops at the first failing command). State is written atomically after every
 * completed change. On failure no new work is scheduled, running batches finish, state is
 * saved, and the error says what was and was not done.
 */
import { randomBytes } from "node:crypto";
import type { Transport } from "../transport/transport.js";
import type { StateBackend } from "../../state/backend.js";
import { newState, type State } from "../model/state.js";
import { toDisplay } from "../model/argv.js";
import { batchScript, splitSections, type BatchItem } from "./batch.js";
import { handOver } from "../transport/handover.js";
import type { Change, Plan, Step } from "../model/plan.js";

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
  constructor(readonly failed: { change: Change; command: string; stderr: string }[], readonly done: string[], readonly notDone: string[]) {
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

const PAST: Record<string, string> = { Creating: "Creation", Modifying: "Modifications", Destroying: "Destruction", Cloning: "Clone", "Safety snapshot": "Safety snapshot", Promoting: "Promotion" };

export async function apply(o: ApplyOptions): Promise<{ state: State; roundTrips: number }> {
  const work = o.plan.changes.filter((c) => c.action !== "noop");
  const destructive = work.filter((c) => c.destructive);
  const prevented = destructive.filter((c) => o.preventDestroy.has(c.address));
  if (prevented.length > 0 || (destructive.length > 0 && !o.allowDestroy)) throw new DestroyNotAllowedError(destructive, prevented);

  let state: State = o.state ? structuredClone(o.state) : newState(o.plan.lineage);
  let stored: number | null = o.state ? o.state.serial : null;
  // Hosts finish in parallel: writes go one after another, or the second one's
  // compare-and-set would see the first one's serial and fail.
  let writing: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const p = writing.then(async () => {
      state.serial = (stored ?? 0) + 1;
      await o.backend.write(state, stored);
      stored = state.serial;
    });
    writing = p.catch(() => undefined);
    return p;
  };

  // Resources already right on the host but not (or differently) recorded: record them.
  let recorded = false;
  for (const c of o.plan.changes) {
    if (c.action !== "noop" || !c.after) continue;
    const prev = state.resources[c.address];
    if (!prev || JSON.stringify(prev.attributes) !== JSON.stringify(c.after)) {
      state.resources[c.address] = { type: c.type, host: c.host, id: c.id, attributes: c.after };
      recorded = true;
    }
  }
  if (recorded || work.length === 0) await save();

  const pending = new Map(work.map((c) => [c.address, c]));
  const done = new Set<string>();
  const failed: { change: Change; command: string; stderr: string }[] = [];
  let roundTrips = 0;
  const running = new Set<string>(); // hosts with a batch in flight
  const inFlight = new Set<Promise<void>>();

  // Deletions go first (deepest first, as the planner ordered them); then the DAG.
  const isReady = (c: Change) => {
    if (c.action === "delete") return true;
    const deletesLeft = [...pending.values()].some((p) => p.action === "delete");
    return !deletesLeft && c.dependsOn.every((d) => !pending.has(d));
  };

  const runBatch = async (host: string, ready: Change[]) => {
    const batch: Change[] = [];
    for (const c of ready) {
      if (!c.deferred) {
        batch.push(c);
        continue;
      }
      const re = o.replan ? o.replan(c.address, state) : { change: c, errors: ["no replanner"] };
      if (re.errors.length > 0) {
        failed.push({ change: c, command: "(plan during apply)", stderr: re.errors.join("; ") });
        continue;
      }
      pending.set(c.address, re.change);
      if (re.change.action === "noop") {
        if (re.change.after) state.resources[c.address] = { type: c.type, host: c.host, id: re.change.id, attributes: re.change.after };
        await save();
        pending.delete(c.address);
        done.add(c.address);
      } else batch.push(re.change);
    }
    for (const c of batch.filter((x) => x.steps.some((st) => st.handOver))) await runHandingOver(host, c);
    await runPlain(host, batch.filter((x) => !x.steps.some((st) => st.handOver)));
  };

  const record = async (c: Change) => {
    if (c.after) state.resources[c.address] = { type: c.type, host: c.host, id: c.id, attributes: c.after };
    else delete state.resources[c.address];
    await save();
    pending.delete(c.address);
    done.add(c.address);
  };

  /**
   * One round trip on `host`: the given steps of each change, in order, each change stopping
   * at its first failure. Returns the changes whose steps all succeeded (captures taken).
   */
  const runSteps = async (host: string, parts: { change: Change; steps: readonly Step[] }[]): Promise<Set<Change>> => {
    const nonce = randomBytes(8).toString("hex");
    const items: BatchItem[] = [];
    parts.forEach((p, ci) => p.steps.forEach((s, si) => items.push({ key: `c${ci}s${si}`, command: s.command, stopOnError: true })));
    roundTrips++;
    const r = await o.transports.get(host)!.script(batchScript(items, nonce));
    const sections = splitSections(r.stdout, nonce);
    const ok = new Set<Change>();
    for (const [ci, { change: c, steps }] of parts.entries()) {
      const failedAt = steps.findIndex((s, si) => {
        const sec = sections.get(`c${ci}s${si}`);
        if (!sec || sec.exitCode !== 0) {
          if (sec) failed.push({ change: c, command: toDisplay(s.command), stderr: sec.stderr || `exit ${sec.exitCode}` });
          return true;
        }
        o.log(`${c.id} (${host}): ${PAST[s.label] ?? s.label} complete after ${(sec.elapsedMs / 1000).toFixed(1)}s`);
        if (s.captures && c.after) c.after = { ...c.after, [s.captures]: sec.stdout.trim() };
        return false;
      });
      if (failedAt < 0) ok.add(c);
    }
    if (r.exitCode !== 0 && failed.length === 0) {
      failed.push({ change: parts[0]!.change, command: "(batch)", stderr: r.stderr || `exit ${r.exitCode}` });
    }
    return ok;
  };

  const runPlain = async (host: string, batch: Change[]) => {
    if (batch.length === 0) return;
    for (const c of batch) o.log(`${c.id} (${host}): ${c.steps.map((s) => `${s.label}...`).join(" ")}`);
    const ok = await runSteps(host, batch.map((c) => ({ change: c, steps: c.steps })));
    for (const c of batch) if (ok.has(c)) await record(c);
  };

  /**
   * A change that hands a secret to another host: its plain steps go in one round trip,
   * each hand-over is one round trip on each of the two hosts (both are reserved for it).
   */
  const runHandingOver = async (host: string, c: Change) => {
    o.log(`${c.id} (${host}): ${c.steps.map((s) => `${s.label}...`).join(" ")}`);
    const plain: Step[] = [];
    const flush = async () => plain.length === 0 || (await runSteps(host, [{ change: c, steps: plain.splice(0) }])).has(c);
    for (const s of c.steps) {
      if (!s.handOver) {
        plain.push(s);
        continue;
      }
      if (!(await flush())) return;
      const other = o.transports.get(s.handOver.host);
      if (!other) {
        failed.push({ change: c, command: toDisplay(s.command), stderr: `host ${s.handOver.host} is not connected` });
        return;
      }
      roundTrips += 2;
      const r = await handOver({ transport: o.transports.get(host)!, command: s.command }, { transport: other, command: s.handOver.command });
      if (r.to.exitCode !== 0 || r.from.exitCode !== 0) {
        const why = [r.to.exitCode !== 0 ? `${s.handOver.host}: ${r.to.stderr.trim() || `exit ${r.to.exitCode}`}` : "", r.from.exitCode !== 0 ? `${host}: ${r.from.stderr.trim() || `exit ${r.from.exitCode}`}` : ""].filter(Boolean).join("; ");
        failed.push({ change: c, command: `${toDisplay(s.command)} | ${s.handOver.host}: ${toDisplay(s.handOver.command)}`, stderr: why });
        return;
      }
      o.log(`${c.id} (${host} → ${s.handOver.host}): ${s.label} complete after ${(r.from.durationMs / 1000).toFixed(1)}s`);
    }
    if (await flush()) await record(c);
  };

  for (;;) {
    if (failed.length === 0) {
      const free = (c: Change) => [c.host, ...(c.alsoUses ?? [])].every((h) => !running.has(h));
      const ready = [...pending.values()].filter((c) => isReady(c) && free(c));
      // A change that also uses other hosts' sessions runs alone, with all of them reserved.
      const units: { hosts: string[]; batch: Change[] }[] = [];
      for (const c of ready.filter((x) => x.alsoUses?.length)) units.push({ hosts: [c.host, ...c.alsoUses!], batch: [c] });
      const byHost = new Map<string, Change[]>();
      for (const c of ready.filter((x) => !x.alsoUses?.length)) byHost.set(c.host, [...(byHost.get(c.host) ?? []), c]);
      for (const [host, batch] of byHost) units.push({ hosts: [host], batch });
      for (const u of units) {
        if (running.size >= o.parallelism) break;
        if (u.hosts.some((h) => running.has(h))) continue;
        for (const h of u.hosts) running.add(h);
        const p: Promise<void> = runBatch(u.hosts[0]!, u.batch)
          .catch((e: Error) => {
            failed.push({ change: u.batch[0]!, command: "(connection)", stderr: e.message });
          })
          .finally(() => {
            for (const h of u.hosts) running.delete(h);
            inFlight.delete(p);
          });
        inFlight.add(p);
      }
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
  }

  if (failed.length > 0 || pending.size > 0) {
    const notDone = [...pending.keys()];
    if (failed.length === 0) failed.push({ change: pending.values().next().value!, command: "(scheduling)", stderr: "dependencies could not be satisfied" });
    throw new ApplyError(failed, [...done], notDone);
  }
  return { state, roundTrips };
}
