/**
 * The apply's state writer: one in-memory state, written through the backend after every
 * completed change. Hosts finish in parallel, so writes are queued one after another — two
 * at once would both compare-and-swap against the same serial and the second would fail.
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

  constructor(private readonly backend: StateBackend, initial: State | null, lineage: string) {
    this.state = initial ? structuredClone(initial) : newState(lineage);
    this.stored = initial ? initial.serial : null;
  }

  /** Writes the state as it is now, after every write already queued. */
  save(): Promise<void> {
    const p = this.writing.then(async () => {
      this.state.serial = (this.stored ?? 0) + 1;
      await this.backend.write(this.state, this.stored);
      this.stored = this.state.serial;
    });
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

  /** What a completed change leaves: its `after`, or nothing when it removed the object. */
  async record(c: Change): Promise<void> {
    if (c.after) this.state.resources[c.address] = recordOf(c, c.after);
    else delete this.state.resources[c.address];
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
