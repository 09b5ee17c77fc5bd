/**
 * The apply's state writer: one in-memory state, written through the backend after every
 * completed batch (the changes one round trip completed on a host: none of them is known done
 * before the host answers, so a write per batch records each change as soon as one per change
 * would). Hosts finish in parallel, so writes are queued one after another — two at once would
 * both compare-and-swap against the same serial and the second would fail — and the saves asked
 * for while a write is waiting in the queue join it: a fleet finishing together costs one write,
 * not one per host, and the cost of an apply's writes grows with its batches, not with the
 * square of its changes.
 */
import type { StateBackend } from "../../state/backend.js";
import { newState, type ResourceState, type State } from "../model/state.js";
import type { Change } from "../model/plan.js";

/** A change that leaves an object behind, as state records it (with what it depends on). */
function recordOf(c: Change, after: Record<string, unknown>): ResourceState {
  return { type: c.type, host: c.host, id: c.id, attributes: after, dependencies: [...c.dependsOn].sort() };
}

export class StateWriter {
  readonly state: State;
  /** the serial the backend holds now (null: no state written yet) */
  private stored: number | null;
  private writing: Promise<void> = Promise.resolve();
  /** a write queued but not started: saves asked for now are in it */
  private queued: Promise<void> | null = null;
  /** the first write that failed: no write follows it (a later one would store the records it was to store) */
  private failed: Error | null = null;

  constructor(private readonly backend: StateBackend, initial: State | null, lineage: string) {
    this.state = initial ? structuredClone(initial) : newState(lineage);
    this.stored = initial ? initial.serial : null;
  }

  /** Writes the state as it is now (or later), after the write in progress; joins a write already waiting. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const p = this.writing.then(async () => {
      // from here on a save needs a write of its own: this one may have serialized the state already
      this.queued = null;
      if (this.failed) throw this.failed;
      this.state.serial = (this.stored ?? 0) + 1;
      try {
        await this.backend.write(this.state, this.stored);
      } catch (e) {
        this.failed = e as Error;
        throw e;
      }
      this.stored = this.state.serial;
    });
    this.queued = p;
    this.writing = p.catch(() => undefined);
    return p;
  }

  /**
   * Before any command reaches a host: records what is already right (one write for all of
   * them), and gives a new stack its first state even when nothing is recorded yet — the
   * objects about to be created carry the lineage as their ownership marker, so a kill during
   * the first change must leave a state of that lineage to find them by. Nothing recorded on
   * an existing stack: no write (a new serial would make every saved plan stale).
   */
  async beforeFirstCommand(changes: readonly Change[], commandsFollow: boolean): Promise<void> {
    const recorded = this.recordUpToDate(changes);
    if (recorded || (commandsFollow && this.stored === null)) await this.save();
  }

  /**
   * What completed changes leave, in one write: each one's `after`, or nothing when it removed
   * the object; a noop without `after` (a deferred change found already right) leaves its record alone.
   */
  async record(changes: readonly Change[]): Promise<void> {
    for (const c of changes) {
      if (c.after) this.state.resources[c.address] = recordOf(c, c.after);
      else if (c.action !== "noop") delete this.state.resources[c.address];
    }
    await this.save();
  }

  /**
   * Resources already right on the host but not (or differently) recorded, and records of
   * objects already gone: recorded (or dropped) without a write. True when something was recorded (the caller saves once for all of them).
   */
  recordUpToDate(changes: readonly Change[]): boolean {
    let recorded = false;
    for (const c of changes) {
      if (c.action === "noop" && c.removeFromState && this.state.resources[c.address]) {
        delete this.state.resources[c.address];
        recorded = true;
      }
      if (c.action !== "noop" || !c.after) continue;
      const prev = this.state.resources[c.address];
      const next = recordOf(c, c.after);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(next)) {
        this.state.resources[c.address] = next;
        recorded = true;
      }
    }
    return recorded;
  }
}
