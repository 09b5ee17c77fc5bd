/**
 * The apply's batch runner: runs the steps of changes on a host — the plain steps of many
 * changes in ONE round trip (a batch that stops at the first failing command: the changes
 * before it are done, the one it belongs to failed, those after it did not run),
 * a hand-over as one round trip on each of its two hosts — and collects the failures with
 * the command and what the host said. Captured outputs (a generated public key) go into the
 * change's `after`. It records nothing: the caller decides what completed means for state.
 */
import { randomBytes } from "node:crypto";
import type { Transport } from "../transport/transport.js";
import { handOver } from "../transport/handover.js";
import { toDisplay } from "../model/argv.js";
import type { Change, Step } from "../model/plan.js";
import { batchScript, splitSections, type BatchItem } from "./batch.js";

export interface Failure {
  change: Change;
  command: string;
  stderr: string;
}

const PAST: Record<string, string> = { Creating: "Creation", Modifying: "Modifications", Destroying: "Destruction", Cloning: "Clone", "Safety snapshot": "Safety snapshot", Promoting: "Promotion" };

export class BatchRunner {
  roundTrips = 0;
  readonly failures: Failure[] = [];

  constructor(private readonly transports: ReadonlyMap<string, Transport>, private readonly log: (line: string) => void) {}

  /**
   * One round trip on `host`: the given steps of each change, in order, stopping at the first
   * failure. Returns the changes whose steps all succeeded (captures taken).
   */
  async runSteps(host: string, parts: { change: Change; steps: readonly Step[] }[]): Promise<Set<Change>> {
    const nonce = randomBytes(8).toString("hex");
    const items: BatchItem[] = [];
    parts.forEach((p, ci) => p.steps.forEach((s, si) => items.push({ key: `c${ci}s${si}`, command: s.command, stopOnError: true })));
    this.roundTrips++;
    const r = await this.transports.get(host)!.script(batchScript(items, nonce));
    const sections = splitSections(r.stdout, nonce);
    const ok = new Set<Change>();
    for (const [ci, { change: c, steps }] of parts.entries()) {
      const failedAt = steps.findIndex((s, si) => {
        const sec = sections.get(`c${ci}s${si}`);
        if (!sec || sec.exitCode !== 0) {
          if (sec) this.failures.push({ change: c, command: toDisplay(s.command), stderr: sec.stderr || `exit ${sec.exitCode}` });
          return true;
        }
        this.log(`${c.id} (${host}): ${PAST[s.label] ?? s.label} complete after ${(sec.elapsedMs / 1000).toFixed(1)}s`);
        if (s.captures && c.after) c.after = { ...c.after, [s.captures]: sec.stdout.trim() };
        return false;
      });
      if (failedAt < 0) ok.add(c);
    }
    // a batch that failed without a failing section (the connection, the shell) is reported
    // when nothing else has failed yet in this apply
    if (r.exitCode !== 0 && this.failures.length === 0) {
      this.failures.push({ change: parts[0]!.change, command: "(batch)", stderr: r.stderr || `exit ${r.exitCode}` });
    }
    return ok;
  }

  /** Changes without hand-overs, all in one round trip; returns those that completed. */
  async runPlain(host: string, batch: Change[]): Promise<Change[]> {
    if (batch.length === 0) return [];
    for (const c of batch) this.log(`${c.id} (${host}): ${c.steps.map((s) => `${s.label}...`).join(" ")}`);
    const ok = await this.runSteps(host, batch.map((c) => ({ change: c, steps: c.steps })));
    return batch.filter((c) => ok.has(c));
  }

  /**
   * A change that hands a secret to another host: its plain steps go in one round trip,
   * each hand-over is one round trip on each of the two hosts (both are reserved for it).
   * True when every step completed.
   */
  async runHandingOver(host: string, c: Change): Promise<boolean> {
    this.log(`${c.id} (${host}): ${c.steps.map((s) => `${s.label}...`).join(" ")}`);
    const plain: Step[] = [];
    const flush = async () => plain.length === 0 || (await this.runSteps(host, [{ change: c, steps: plain.splice(0) }])).has(c);
    for (const s of c.steps) {
      if (!s.handOver) {
        plain.push(s);
        continue;
      }
      if (!(await flush())) return false;
      if (!(await this.handOverStep(host, c, s, s.handOver))) return false;
    }
    return flush();
  }

  private async handOverStep(host: string, c: Change, s: Step, to: NonNullable<Step["handOver"]>): Promise<boolean> {
    const other = this.transports.get(to.host);
    if (!other) {
      this.failures.push({ change: c, command: toDisplay(s.command), stderr: `host ${to.host} is not connected` });
      return false;
    }
    this.roundTrips += 2;
    const r = await handOver({ transport: this.transports.get(host)!, command: s.command }, { transport: other, command: to.command });
    if (r.to.exitCode !== 0 || r.from.exitCode !== 0) {
      const why = [r.to.exitCode !== 0 ? `${to.host}: ${r.to.stderr.trim() || `exit ${r.to.exitCode}`}` : "", r.from.exitCode !== 0 ? `${host}: ${r.from.stderr.trim() || `exit ${r.from.exitCode}`}` : ""].filter(Boolean).join("; ");
      this.failures.push({ change: c, command: `${toDisplay(s.command)} | ${to.host}: ${toDisplay(to.command)}`, stderr: why });
      return false;
    }
    this.log(`${c.id} (${host} → ${to.host}): ${s.label} complete after ${(r.from.durationMs / 1000).toFixed(1)}s`);
    return true;
  }
}
