/**
 * The apply's batch runner: runs the steps of changes on a host — the plain steps of many
 * changes in ONE round trip (a batch that stops at the first failing command: the changes
 * before it are done, the one it belongs to failed, those after it did not run),
 * a hand-over as one round trip on each of its two hosts — and collects the failures with
 * the command and what the host said. Captured outputs (a generated public key) go into the
 * change's `after`. It records nothing: the caller decides what completed means for state.
 *
 * Every change of a batch ends in exactly one of four outcomes, decided from the sections the
 * host sent back: done (all its steps reported exit 0), failed (a step reported an error, or
 * the batch ended without a section for it and without a failure before it), not run (a
 * command before it in the batch failed, or the connection was never made), or unknown (the
 * connection was lost or timed out before its steps reported: they may have run — the
 * objects carry their ownership markers from the start, so the next plan adopts them).
 */
import { randomBytes } from "node:crypto";
import { ConnectError, type RunResult, type Transport } from "../transport/transport.js";
import { handOver } from "../transport/handover.js";
import { toDisplay } from "../model/argv.js";
import type { Change, Step } from "../model/plan.js";
import { batchCommands, batchScript, splitSections, type BatchItem } from "./batch.js";
import { hostSaid } from "../model/echo.js";

export interface Failure {
  change: Change;
  command: string;
  stderr: string;
  /** the outcome is not known (the connection was lost): neither done nor failed */
  unknown?: boolean;
}

const PAST: Record<string, string> = { Creating: "Creation", Modifying: "Modifications", Destroying: "Destruction", Cloning: "Clone", "Safety snapshot": "Safety snapshot", Promoting: "Promotion" };

export class BatchRunner {
  roundTrips = 0;
  readonly failures: Failure[] = [];

  constructor(
    private readonly transports: ReadonlyMap<string, Transport>,
    private readonly log: (line: string) => void,
    /** test-only fault injection at step boundaries (see ApplyOptions.fault); a no-op in production */
    private readonly fault: (point: "before-batch" | "after-batch") => void = () => {},
  ) {}

  /**
   * One round trip on `host`: the given steps of each change, in order, stopping at the first
   * failure. Returns the changes whose steps all succeeded (captures taken).
   */
  async runSteps(host: string, parts: { change: Change; steps: readonly Step[] }[]): Promise<Set<Change>> {
    const nonce = randomBytes(8).toString("hex");
    const items: BatchItem[] = [];
    parts.forEach((p, ci) => p.steps.forEach((s, si) => items.push({ key: `c${ci}s${si}`, command: s.command, stopOnError: true })));
    this.roundTrips++;
    this.fault("before-batch");
    let r: RunResult;
    let cut: ConnectError | null = null;
    try {
      r = await this.transports.get(host)!.script(batchScript(items, nonce), { commands: batchCommands(items) });
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e;
      cut = e;
      r = { stdout: e.partialStdout, stderr: e.message, exitCode: 255, durationMs: 0 };
    }
    this.fault("after-batch");
    const sections = splitSections(r.stdout, nonce);
    const ok = new Set<Change>();
    // once a command failed, the batch stopped: what follows did not run
    let stopped = false;
    for (const [ci, { change: c, steps }] of parts.entries()) {
      if (stopped) break;
      const failedAt = steps.findIndex((s, si) => {
        const sec = sections.get(`c${ci}s${si}`);
        if (!sec) {
          if (cut?.phase === "connect") return true; // never reached the host: not run
          this.failures.push(cut
            ? { change: c, command: toDisplay(s.command), stderr: cut.message, unknown: true }
            : { change: c, command: toDisplay(s.command), stderr: `the batch ended without reporting this command (exit ${r.exitCode}${r.stderr.trim() ? `: ${hostSaid(r.stderr)}` : ""})` });
          return true;
        }
        if (sec.exitCode !== 0) {
          this.failures.push({ change: c, command: toDisplay(s.command), stderr: sec.stderr || `exit ${sec.exitCode}` });
          stopped = true;
          return true;
        }
        this.log(`${c.id} (${host}): ${PAST[s.label] ?? s.label} complete after ${(sec.elapsedMs / 1000).toFixed(1)}s`);
        if (s.captures && c.after) c.after = { ...c.after, [s.captures]: sec.stdout.trim() };
        return false;
      });
      if (failedAt < 0) ok.add(c);
    }
    if (cut?.phase === "connect") this.failures.push({ change: parts[0]!.change, command: "(connection)", stderr: `${cut.message} — nothing ran` });
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
      if (!s.handOver && !s.on) {
        plain.push(s);
        continue;
      }
      if (!(await flush())) return false;
      // a step of this change that runs on the other host it reserved: a round trip there
      if (s.on && !(await this.runSteps(s.on, [{ change: c, steps: [s] }])).has(c)) return false;
      if (s.handOver && !(await this.handOverStep(host, c, s, s.handOver))) return false;
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
    this.fault("before-batch");
    const r = await handOver({ transport: this.transports.get(host)!, command: s.command }, { transport: other, command: to.command });
    this.fault("after-batch");
    if (r.to.exitCode !== 0 || r.from.exitCode !== 0) {
      const why = [r.to.exitCode !== 0 ? `${to.host}: ${hostSaid(r.to.stderr) || `exit ${r.to.exitCode}`}` : "", r.from.exitCode !== 0 ? `${host}: ${hostSaid(r.from.stderr) || `exit ${r.from.exitCode}`}` : ""].filter(Boolean).join("; ");
      // ssh's own exit code (255) on either side: the connection failed, what ran is unknown
      const unknown = r.to.exitCode === 255 || r.from.exitCode === 255;
      this.failures.push({ change: c, command: `${toDisplay(s.command)} | ${to.host}: ${toDisplay(to.command)}`, stderr: why, ...(unknown ? { unknown } : {}) });
      return false;
    }
    this.log(`${c.id} (${host} → ${to.host}): ${s.label} complete after ${(r.from.durationMs / 1000).toFixed(1)}s`);
    return true;
  }
}
