/**
 * Per-resource progress during apply and replicate, as Terraform prints it: a line when a
 * change starts (`backplane_dataset.x: Creating...`), a reminder while it runs (`Still
 * creating... [10s elapsed]`) and a line when it ends (`Creation complete after 3s`). Pure:
 * the engine emits ProgressEvents (apply's `onProgress`), the CLI feeds them to a
 * ProgressBoard with the time and prints the lines it returns; the board runs no timer and
 * writes nothing.
 *
 * On a terminal each running change gets its own reminder every 10 s. Elsewhere (CI logs)
 * start and end lines are the same, and reminders are folded into at most one line per 30 s.
 */
import type { Action } from "../model/plan.js";

/** What a progress line is about: a change's action, or a replication transfer. */
export type ProgressAction = Exclude<Action, "noop"> | "replicate";

/**
 * How a started change ended: done (recorded in state), failed (the host said so), unknown
 * (the connection was lost: it may have run), not run (its batch stopped before it, or a
 * transfer of the same replication was already running).
 */
export type ProgressOutcome = "done" | "failed" | "unknown" | "not run";

/** What a progress line is about. */
export interface ProgressSubject {
  address: string;
  action: ProgressAction;
  /** the object's name on the host (a transfer: its source dataset) */
  id: string;
  host: string;
  /** a transfer's other end, as `host:dataset` */
  to?: string;
}

interface EventBase extends ProgressSubject {
  /** when it happened (ms since the epoch) */
  at: number;
}

export type ProgressEvent = (EventBase & { phase: "start" }) | (EventBase & { phase: "end"; outcome: ProgressOutcome });

export type StartEvent = Extract<ProgressEvent, { phase: "start" }>;

const VERBS: Record<ProgressAction, { doing: string; still: string; noun: string }> = {
  create: { doing: "Creating", still: "creating", noun: "Creation" },
  update: { doing: "Modifying", still: "modifying", noun: "Modifications" },
  delete: { doing: "Destroying", still: "destroying", noun: "Destruction" },
  replace: { doing: "Replacing", still: "replacing", noun: "Replacement" },
  replicate: { doing: "Replicating", still: "replicating", noun: "Replication" },
};

/** A duration as Terraform (Go) prints it, whole seconds: 0s, 3s, 1m0s, 2h3m4s. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}

/** Where the change works: `[tank/a on prod]`, a transfer `[prod:tank/a → dr:backup/a]`. */
function where(e: ProgressSubject): string {
  return e.to ? `[${e.host}:${e.id} → ${e.to}]` : `[${e.id} on ${e.host}]`;
}

export function startLine(e: ProgressSubject): string {
  return `${e.address}: ${VERBS[e.action].doing}... ${where(e)}`;
}

export function stillLine(e: ProgressSubject, elapsedMs: number): string {
  return `${e.address}: Still ${VERBS[e.action].still}... [${formatElapsed(elapsedMs)} elapsed]`;
}

export function endLine(e: ProgressSubject, outcome: ProgressOutcome, elapsedMs: number): string {
  const noun = VERBS[e.action].noun;
  const after = formatElapsed(elapsedMs);
  switch (outcome) {
    case "done":
      return `${e.address}: ${noun} complete after ${after} ${where(e)}`;
    case "failed":
      return `${e.address}: ${noun} failed after ${after} ${where(e)}`;
    case "unknown":
      return `${e.address}: ${noun} outcome unknown after ${after}: the connection was lost; the next plan finds out ${where(e)}`;
    case "not run":
      return `${e.address}: ${noun} not run ${where(e)}`;
  }
}

/** A change still running, for a list: `backplane_dataset.x [tank/a on prod]: creating for 12s`. */
export function runningLine(e: StartEvent, now: number): string {
  return `${e.address} ${where(e)}: ${VERBS[e.action].still} for ${formatElapsed(now - e.at)}`;
}

/** Several reminders folded into one line (CI): the longest-running first, at most `max` named. */
export function stillRunningLine(running: readonly StartEvent[], now: number, max = 5): string {
  const byAge = [...running].sort((a, b) => a.at - b.at || a.address.localeCompare(b.address));
  const named = byAge.slice(0, max).map((e) => `${e.address} [${VERBS[e.action].still}, ${formatElapsed(now - e.at)} elapsed]`);
  const more = byAge.length > max ? `, and ${byAge.length - max} more` : "";
  return `Still running (${byAge.length}): ${named.join(", ")}${more}`;
}

export interface BoardOptions {
  /** "tty": a reminder per change every `ttyEveryMs`; "ci": at most one line per `ciEveryMs` */
  style: "tty" | "ci";
  ttyEveryMs?: number;
  ciEveryMs?: number;
}

/**
 * The changes running now and the lines to print about them. `event` gives the start and end
 * lines; `tick(now)` the reminders due at `now` (call it often, e.g. every second).
 */
export class ProgressBoard {
  private readonly running = new Map<string, { e: StartEvent; nextAt: number }>();
  private lastFolded = Number.NEGATIVE_INFINITY;
  private readonly ttyEvery: number;
  private readonly ciEvery: number;

  constructor(private readonly o: BoardOptions) {
    this.ttyEvery = o.ttyEveryMs ?? 10_000;
    this.ciEvery = o.ciEveryMs ?? 30_000;
  }

  event(e: ProgressEvent): string[] {
    if (e.phase === "start") {
      this.running.set(e.address, { e, nextAt: e.at + this.ttyEvery });
      return [startLine(e)];
    }
    const started = this.running.get(e.address);
    this.running.delete(e.address);
    return [endLine(e, e.outcome, started ? e.at - started.e.at : 0)];
  }

  tick(now: number): string[] {
    if (this.o.style === "tty") {
      const lines: string[] = [];
      for (const r of this.running.values()) {
        if (now < r.nextAt) continue;
        // the mark reached, not the moment the timer fired: [10s elapsed], [20s elapsed], ...
        while (r.nextAt + this.ttyEvery <= now) r.nextAt += this.ttyEvery;
        lines.push(stillLine(r.e, r.nextAt - r.e.at));
        r.nextAt += this.ttyEvery;
      }
      return lines;
    }
    const long = [...this.running.values()].map((r) => r.e).filter((e) => now - e.at >= this.ciEvery);
    if (long.length === 0 || now - this.lastFolded < this.ciEvery) return [];
    this.lastFolded = now;
    return [long.length === 1 ? stillLine(long[0]!, now - long[0]!.at) : stillRunningLine(long, now)];
  }

  /** What has started and not ended, oldest first. */
  runningNow(): StartEvent[] {
    return [...this.running.values()].map((r) => r.e).sort((a, b) => a.at - b.at);
  }
}
