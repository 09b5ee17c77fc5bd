/** State backends, split by capability (Terraform's statemgr idea). One conformance suite tests them all. */
import type { LockInfo, State } from "../provider/model/state.js";

export interface StateReader {
  /** null when no state exists yet */
  read(): Promise<State | null>;
}

export interface WriteOptions {
  /** `state push --force`: write over a stored state of another lineage (the serial is still compared) */
  replaceLineage?: boolean;
}

export interface StateWriter {
  /**
   * writes `state` if the stored serial is still `expectedSerial` (compare-and-swap) and the
   * stored lineage is the state's own (StateLineageError otherwise, unless `replaceLineage`)
   */
  write(state: State, expectedSerial: number | null, opts?: WriteOptions): Promise<void>;
}

export interface StateLocker {
  /** takes the lock or throws StateLockedError (held) / UnreadableLockError (a lock nobody can read) */
  lock(operation: string): Promise<LockInfo>;
  unlock(id: string): Promise<void>;
  /** removes the lock with this ID; UNREADABLE_LOCK_ID removes a lock that cannot be read */
  forceUnlock(id: string): Promise<void>;
  /** null when unlocked; throws UnreadableLockError for a lock that cannot be read (it is not "unlocked") */
  currentLock(): Promise<LockInfo | null>;
}

export type StateBackend = StateReader & StateWriter & StateLocker & { describe(): string };
