/**
 * The lock file of the local backend, `<state>.lock.json`: who holds the state, as JSON.
 * This module reads it (held, absent, or unreadable — never guessed at), creates it so that
 * no reader ever sees it half written, and replaces or removes a lock it did not take only
 * under the takeover claim (lock-claim.ts) and only while it still is the lock the caller
 * judged (`replaceIf`, `removeIf`).
 */
import { rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { echo } from "../provider/model/echo.js";
import type { LockInfo } from "../provider/model/state.js";
import { syncDir, writeSynced } from "./atomic-file.js";
import { createExclusive, readSeen, removeIfSame, type FileIdentity, type FileSeen } from "./exclusive-file.js";
import { TakeoverClaim, type ClaimFound, type HeldClaim } from "./lock-claim.js";

export { CLAIM_STALE_MS } from "./lock-claim.js";
export type { FileIdentity } from "./exclusive-file.js";

export type LockReading =
  | { kind: "absent" }
  | { kind: "held"; info: LockInfo; file: FileIdentity; raw: string }
  | { kind: "unreadable"; empty: boolean; detail: string; ageMs: number; file: FileIdentity; raw: string };

/** The lock in `text`, or what is wrong with it. Every field is checked: a pid of 0 or -1 would make kill() signal groups. */
export function parseLock(text: string): LockInfo | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return `not JSON: ${echo(text, 40)}`;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `not a lock: ${echo(text, 40)}`;
  const o = v as Record<string, unknown>;
  for (const k of ["id", "operation", "who", "hostname", "created"]) {
    if (typeof o[k] !== "string" || o[k] === "") return `not a lock: no ${k}`;
  }
  if (typeof o.pid !== "number" || !Number.isSafeInteger(o.pid) || o.pid <= 0) return "not a lock: no pid";
  return { id: o.id as string, operation: o.operation as string, who: o.who as string, pid: o.pid, hostname: o.hostname as string, created: o.created as string };
}

/** Same file, same content: nothing replaced it since it was read. */
export function sameReading(a: LockReading, b: LockReading): boolean {
  return a.kind !== "absent" && b.kind !== "absent" && a.file.dev === b.file.dev && a.file.ino === b.file.ino && a.raw === b.raw;
}

export type ClaimOutcome<T> =
  | { done: T }
  /** the lock file is not the one judged; `movedAside`: seen only once moved aside (and put back) */
  | { changed: LockReading; movedAside?: boolean }
  /** another process holds the claim */
  | { busy: ClaimFound }
  /** our claim was cleared as a killed taker's while we were stopped: nothing was done */
  | { claimLost: string };

/** This process in the files it writes: temporary names carry its pid, a claim says who holds it. */
export interface LockFileOwner {
  pid: number;
  hostname: string;
}

export class LockFile {
  private readonly claim: TakeoverClaim;

  constructor(readonly path: string, private readonly owner: LockFileOwner, private readonly now: () => number = Date.now) {
    this.claim = new TakeoverClaim(this.claimPath, owner, now);
  }

  /** What the lock file holds now; identity and content come from the same open file. */
  async read(): Promise<LockReading> {
    const seen = await readSeen(this.path);
    return seen === null ? { kind: "absent" } : this.readingOf(seen);
  }

  private readingOf(seen: FileSeen): LockReading {
    const { file, raw } = seen;
    const parsed = raw === "" ? "empty" : parseLock(raw);
    if (typeof parsed !== "string") return { kind: "held", info: parsed, file, raw };
    return { kind: "unreadable", empty: raw === "", detail: parsed, ageMs: Math.max(0, this.now() - seen.mtimeMs), file, raw };
  }

  /**
   * Creates the lock file holding `info`, or returns false when one exists. It never exists
   * empty or half written (exclusive-file.ts): an empty one was left by an older backplane
   * that wrote in place.
   */
  async create(info: LockInfo): Promise<boolean> {
    return createExclusive(this.path, JSON.stringify(info, null, 2), info.pid);
  }

  /** The claim: one takeover (or forced removal) of the lock file at a time. */
  get claimPath(): string {
    return `${this.path}.takeover`;
  }

  /**
   * Runs `act` while holding the claim, if the lock file then still is `judged` and `still`
   * accepts it.
   *
   * Why a claim: two processes that both read the same stale lock would otherwise both remove
   * it and the later one could remove the lock the earlier one had just taken. Every process
   * that replaces or removes a lock it did not take goes through the claim, re-reads the lock
   * file under it and acts only if nothing replaced it. While the claim is held nobody else
   * changes the lock file: a new lock cannot be created over an existing file, the stale
   * holder is dead, and other takeovers wait for the claim — unless this process is stopped
   * past CLAIM_STALE_MS, which `act` checks with `claim.stillOurs()` just before it acts.
   */
  private async underClaim<R>(judged: LockReading, still: (r: LockReading) => boolean, act: (claim: HeldClaim) => Promise<R>): Promise<R | { changed: LockReading } | { busy: ClaimFound }> {
    const taken = await this.claim.take();
    if ("busy" in taken) return taken;
    try {
      const now = await this.read();
      if (!(sameReading(now, judged) && still(now))) return { changed: now };
      return await act(taken.held);
    } finally {
      await taken.held.release();
    }
  }

  /**
   * Takes the lock over: replaces `judged` by `info` in one rename, under the claim, if the
   * lock file still is `judged` and `still` accepts it.
   *
   * The new lock is written and synced before the claim is checked, so that between the check
   * and the rename there is nothing but the read of a small file. What is left: a taker stopped for longer than
   * CLAIM_STALE_MS exactly between them (after reading its claim, before renaming) while
   * another process clears its claim and takes the lock over would then rename its lock over
   * that one.
   */
  async replaceIf(judged: LockReading, still: (r: LockReading) => boolean, info: LockInfo): Promise<ClaimOutcome<void>> {
    return this.underClaim(judged, still, async (claim) => {
      const tmp = await writeSynced(this.path, JSON.stringify(info, null, 2), info.pid);
      try {
        if (!(await claim.stillOurs())) return { claimLost: claim.path };
        await rename(tmp, this.path);
      } finally {
        // gone once renamed; still there when nothing was replaced
        await this.unlinkIfThere(tmp);
      }
      await syncDir(dirname(this.path));
      return { done: undefined };
    });
  }

  /**
   * Removes the lock file under the claim if it still is `judged`: the same file with the same
   * content, so the same lock ID (force-unlock).
   *
   * A young claim is never cleared: it is a takeover in progress, whose taker has judged the
   * lock and is about to replace it; removing the lock under it, or clearing its claim, lets
   * the removal take the new lock with it. And the removal itself is compare-and-remove
   * (exclusive-file.ts), so a lock that replaced the judged one after its last reading (by a
   * process that cleared our claim while we were stopped past CLAIM_STALE_MS) is put back, not
   * lost. What is left: a new lock created in the instant that one was aside (`displaced`).
   */
  async removeIf(judged: LockReading): Promise<ClaimOutcome<void> | { displaced: LockReading; now: LockReading }> {
    if (judged.kind === "absent") return { changed: judged };
    return this.underClaim(judged, () => true, async (claim) => {
      if (!(await claim.stillOurs())) return { claimLost: claim.path };
      const out = await removeIfSame(this.path, (seen) => seen.file.dev === judged.file.dev && seen.file.ino === judged.file.ino && seen.raw === judged.raw, this.owner.pid);
      switch (out.kind) {
        case "removed":
          return { done: undefined };
        case "absent":
          return { changed: { kind: "absent" } };
        case "kept":
          return { changed: this.readingOf(out.seen), movedAside: true };
        case "displaced":
          return { displaced: this.readingOf(out.seen), now: await this.read() };
      }
    });
  }

  /** Removes the lock file: by its holder. */
  async remove(): Promise<void> {
    await this.unlinkIfThere(this.path);
  }

  private async unlinkIfThere(path: string): Promise<void> {
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
}
