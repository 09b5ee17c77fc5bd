/**
 * Local JSON state: written atomically (temp file, fsync, rename, fsync of the directory),
 * guarded by a lock file holding who/pid/host/time/operation (lock-file.ts). A lock whose
 * pid is gone on this machine is stale and is taken over, saying so. A lock file that cannot
 * be read is refused with the command that removes it.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import type { StateBackend, WriteOptions } from "./backend.js";
import { writeAtomic } from "./atomic-file.js";
import { CLAIM_STALE_MS, LockFile, type LockReading } from "./lock-file.js";
import { pidAlive } from "./pid.js";
import { removeLeftoverTemps } from "./leftover-temps.js";
import { echo } from "../provider/model/echo.js";
import { ClaimLostError, LockDisplacedError, LockMismatchError, TakeoverInProgressError, type LockFound } from "../provider/model/lock-errors.js";
import {
  STATE_VERSION, LockClaimedError, StateConflictError, StateLineageError, StateLockedError, UnreadableLockError, UNREADABLE_LOCK_ID, formatDuration,
  type LockInfo, type State,
} from "../provider/model/state.js";

/**
 * An empty lock file older than this is stale. backplane writes a lock under a temporary
 * name and links it into place, so it never makes an empty one; an older backplane wrote in
 * place, and its lock was empty for the microseconds between open and write. Ten seconds
 * empty means that writer was killed in between (nothing else empties a lock file).
 */
export const EMPTY_LOCK_STALE_MS = 10_000;

/**
 * How long lock() waits for another process's takeover of a stale lock: it takes
 * milliseconds (two small writes and fsyncs), seconds on a disk under load.
 */
export const TAKEOVER_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LocalStateOptions {
  /** told when a stale lock is taken over (the CLI prints it on stderr) */
  onNotice?: (message: string) => void;
  /** command-line words naming this state (`--dir D --stack S`), for the recovery commands in messages */
  scope?: readonly string[];
  /** who this process is in the lock it takes (tests play several processes in one) */
  identity?: { pid: number; hostname: string; who: string };
  /** whether a pid is a live process on this machine (tests fake it) */
  pidAlive?: (pid: number) => boolean;
  now?: () => number;
  /** how long to wait for another process's takeover (TAKEOVER_WAIT_MS) */
  takeoverWaitMs?: number;
  /** test-only fault injection (provider/cli/fault.ts): called while a state write is half done */
  fault?: (point: "state-write") => void;
}

export class LocalStateBackend implements StateBackend {
  private readonly lockFile: LockFile;
  private readonly onNotice: (message: string) => void;
  private readonly identity: { pid: number; hostname: string; who: string };
  private readonly alive: (pid: number) => boolean;
  private readonly scope: readonly string[];
  private readonly now: () => number;
  private readonly takeoverWaitMs: number;

  constructor(readonly path: string, opts: LocalStateOptions = {}) {
    this.identity = opts.identity ?? { pid: process.pid, hostname: hostname(), who: `${userInfo().username}@${hostname()}` };
    this.lockFile = new LockFile(`${path}.lock.json`, this.identity, opts.now);
    this.onNotice = opts.onNotice ?? (() => {});
    this.alive = opts.pidAlive ?? pidAlive;
    this.scope = opts.scope ?? [];
    this.now = opts.now ?? Date.now;
    this.takeoverWaitMs = opts.takeoverWaitMs ?? TAKEOVER_WAIT_MS;
    this.fault = opts.fault;
  }

  private readonly fault?: (point: "state-write") => void;

  describe() {
    return `local state ${this.path}`;
  }

  /** Terraform's terraform.tfstate.backup: the state as it was before the last write. */
  get backupPath(): string {
    return `${this.path}.backup`;
  }

  private async readText(): Promise<string | null> {
    try {
      return await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  private parse(text: string): State {
    const s = JSON.parse(text) as State;
    if (s.version !== STATE_VERSION) throw new Error(`${this.path}: state version ${s.version} is not supported (expected ${STATE_VERSION})`);
    return s;
  }

  async read(): Promise<State | null> {
    const text = await this.readText();
    return text === null ? null : this.parse(text);
  }

  async write(state: State, expectedSerial: number | null, opts: WriteOptions = {}): Promise<void> {
    const previous = await this.readText();
    // a serial only grows (a forced push may put an older one back)
    if (expectedSerial !== null && state.serial <= expectedSerial && !opts.replaceLineage) throw new Error(`state serial ${state.serial} does not follow serial ${expectedSerial}`);
    const stored = previous === null ? null : this.parse(previous);
    if (stored && stored.lineage !== state.lineage && !opts.replaceLineage) throw new StateLineageError(state.lineage, stored.lineage, this.path);
    const found = stored?.serial ?? null;
    if (found !== expectedSerial) throw new StateConflictError(expectedSerial ?? -1, found ?? -1);
    await this.removeLeftovers();
    // The previous serial, byte for byte, before the new one replaces it: a crash between the
    // two leaves the backup equal to the state, never a state without its predecessor.
    if (previous !== null) await writeAtomic(this.backupPath, previous);
    await writeAtomic(this.path, JSON.stringify(state, null, 2) + "\n", this.fault && (() => this.fault!("state-write")));
  }

  /** Temporary files of killed writers (leftover-temps.ts), said in a notice; never fails the lock or the write. */
  private async removeLeftovers(): Promise<void> {
    try {
      for (const r of await removeLeftoverTemps(this.path, { pidAlive: this.alive, now: this.now })) this.onNotice(`removed a temporary file left by a killed writer: ${r}`);
    } catch (e) {
      this.onNotice(`could not remove temporary files left beside ${this.path}: ${(e as Error).message}`);
    }
  }

  private unreadable(r: Extract<LockReading, { kind: "unreadable" }>): UnreadableLockError {
    return new UnreadableLockError(this.lockFile.path, { empty: r.empty, detail: r.detail, ageMs: r.ageMs, staleAfterMs: EMPTY_LOCK_STALE_MS }, this.scope);
  }

  private locked(info: LockInfo): StateLockedError {
    return new StateLockedError(info, { lockFile: this.lockFile.path, scope: this.scope });
  }

  /** Why the lock read is stale (its holder cannot finish), or null when it may be in use. */
  private staleness(r: LockReading): string | null {
    if (r.kind === "held") {
      return r.info.hostname === this.identity.hostname && !this.alive(r.info.pid) ? `a stale lock ${echo(r.info.id)} (pid ${r.info.pid} is gone)` : null;
    }
    if (r.kind === "unreadable" && r.empty && r.ageMs >= EMPTY_LOCK_STALE_MS) {
      return `an empty lock file ${this.lockFile.path} (left ${formatDuration(r.ageMs)} ago by a process killed while taking the lock)`;
    }
    return null;
  }

  async currentLock(): Promise<LockInfo | null> {
    const r = await this.lockFile.read();
    if (r.kind === "unreadable") throw this.unreadable(r);
    return r.kind === "held" ? r.info : null;
  }

  async lock(operation: string): Promise<LockInfo> {
    const info = await this.acquire(operation);
    // under the lock, no other writer of this state is running here
    await this.removeLeftovers();
    return info;
  }

  private async acquire(operation: string): Promise<LockInfo> {
    const info: LockInfo = { id: randomUUID(), operation, who: this.identity.who, pid: this.identity.pid, hostname: this.identity.hostname, created: new Date().toISOString() };
    const waitUntil = Date.now() + this.takeoverWaitMs;
    // The lock can be released or replaced between our attempt and our reading: a few rounds.
    for (let changes = 0; changes < 5; ) {
      if (await this.lockFile.create(info)) return info;
      const seen = await this.lockFile.read();
      if (seen.kind === "absent") {
        changes++;
        continue;
      }
      const stale = this.staleness(seen);
      if (!stale) throw seen.kind === "held" ? this.locked(seen.info) : this.unreadable(seen);
      // Atomic takeover: replaced only if, under the claim, it still is this stale lock.
      const outcome = await this.lockFile.replaceIf(seen, (now) => this.staleness(now) !== null, info);
      if ("done" in outcome) {
        this.onNotice(`taking over ${stale}`);
        return info;
      }
      // changed, or our claim was cleared while we were stopped: look again
      if ("changed" in outcome || "claimLost" in outcome) {
        changes++;
        continue;
      }
      // another process is taking it over right now: its result decides (it wins, or is gone)
      if (Date.now() >= waitUntil) {
        throw new LockClaimedError(outcome.busy.claimFile, outcome.busy.ageMs, CLAIM_STALE_MS, seen.kind === "held" ? seen.info.id : UNREADABLE_LOCK_ID, this.scope);
      }
      await sleep(5 + Math.random() * 15);
    }
    throw new Error(`could not lock ${this.path}: ${this.lockFile.path} kept changing while we tried; run the command again`);
  }

  async unlock(id: string): Promise<void> {
    const r = await this.lockFile.read();
    if (r.kind === "unreadable") throw this.unreadable(r);
    if (r.kind === "held" && r.info.id !== id) throw new Error(`lock ${id} is not held (held: ${r.info.id})`);
    await this.lockFile.remove();
  }

  async forceUnlock(id: string): Promise<void> {
    const r = await this.lockFile.read();
    if (r.kind === "absent") throw new Error(`state is not locked (${this.lockFile.path} does not exist)`);
    if (r.kind === "unreadable") {
      if (id !== UNREADABLE_LOCK_ID) throw this.unreadable(r);
    } else if (r.info.id !== id) {
      throw this.mismatch(id, r, false);
    }
    // Removed only if, under the claim, the lock file still is the one judged here (lock-file.ts
    // removeIf): never while a takeover is in progress, never a lock that replaced it since.
    const outcome = await this.lockFile.removeIf(r);
    if ("done" in outcome) return;
    if ("busy" in outcome) {
      const { claimFile, ageMs, holder } = outcome.busy;
      throw new TakeoverInProgressError(claimFile, { ageMs, staleAfterMs: CLAIM_STALE_MS, ...(holder ? { holder } : {}) }, id, this.scope);
    }
    if ("claimLost" in outcome) throw new ClaimLostError(outcome.claimLost, this.lockFile.path, id, this.scope);
    if ("displaced" in outcome) throw new LockDisplacedError(this.lockFile.path, found(outcome.displaced), found(outcome.now), this.scope);
    throw this.mismatch(id, outcome.changed, outcome.movedAside ?? false);
  }

  private mismatch(asked: string, r: LockReading, movedAside: boolean): LockMismatchError {
    return new LockMismatchError(this.lockFile.path, asked, found(r), { movedAside }, this.scope);
  }
}

/** A reading as evidence for a message. */
function found(r: LockReading): LockFound {
  return r.kind === "held" ? r.info : r.kind;
}
