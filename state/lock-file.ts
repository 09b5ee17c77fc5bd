/**
 * The lock file of the local backend, `<state>.lock.json`: who holds the state, as JSON.
 * This module reads it (held, absent, or unreadable — never guessed at), creates it so that
 * no reader ever sees it half written, and replaces or removes it only while it still is the
 * lock the caller judged (a takeover is atomic: see `replaceIf`).
 */
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { echo } from "../provider/model/echo.js";
import type { LockInfo } from "../provider/model/state.js";
import { syncDir, writeSynced } from "./atomic-file.js";

/** Which file a reading was of: a lock file replaced since has another inode. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

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

/**
 * A takeover holds the claim for the milliseconds it takes to check and replace the lock;
 * a claim older than this was left by a process killed in between, and is cleared.
 */
export const CLAIM_STALE_MS = 30_000;

/** Same file, same content: nothing replaced it since it was read. */
export function sameReading(a: LockReading, b: LockReading): boolean {
  return a.kind !== "absent" && b.kind !== "absent" && a.file.dev === b.file.dev && a.file.ino === b.file.ino && a.raw === b.raw;
}

export type ClaimOutcome<T> = { done: T } | { changed: LockReading } | { busy: { claimFile: string; ageMs: number } };

/** link() is refused by some file systems (FAT, some network mounts): they get open(O_EXCL) instead. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

export class LockFile {
  constructor(readonly path: string, private readonly now: () => number = Date.now) {}

  /** What the lock file holds now; identity and content come from the same open file. */
  async read(): Promise<LockReading> {
    let fh;
    try {
      fh = await open(this.path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
      throw e;
    }
    try {
      const st = await fh.stat();
      const raw = await fh.readFile("utf8");
      const file = { dev: st.dev, ino: st.ino };
      const parsed = raw === "" ? "empty" : parseLock(raw);
      if (typeof parsed !== "string") return { kind: "held", info: parsed, file, raw };
      return { kind: "unreadable", empty: raw === "", detail: parsed, ageMs: Math.max(0, this.now() - st.mtimeMs), file, raw };
    } finally {
      await fh.close();
    }
  }

  /**
   * Creates the lock file holding `info`, or returns false when one exists. The content is
   * written and synced under a temporary name first and then linked into place (link fails
   * if the name exists), so the lock file never exists empty or half written: an empty one
   * was left by an older backplane that wrote in place.
   */
  async create(info: LockInfo): Promise<boolean> {
    const text = JSON.stringify(info, null, 2);
    const tmp = await writeSynced(this.path, text, info.pid);
    try {
      await link(tmp, this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST") return false;
      if (!NO_HARD_LINKS.has(code)) throw e;
      return this.createInPlace(text);
    } finally {
      await unlink(tmp).catch(() => {});
    }
    await syncDir(dirname(this.path));
    return true;
  }

  private async createInPlace(text: string): Promise<boolean> {
    let fh;
    try {
      fh = await open(this.path, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  }

  /** The claim: one takeover (or forced removal) of the lock file at a time. */
  get claimPath(): string {
    return `${this.path}.takeover`;
  }

  /**
   * Runs `act` while holding the claim, if the lock file then still is what `still` accepts.
   *
   * Why a claim: two processes that both read the same stale lock would otherwise both remove
   * it and the later one could remove the lock the earlier one had just taken. Every process
   * that replaces or removes a lock it did not take goes through the claim (created with
   * O_EXCL: one holder), re-reads the lock file under it and acts only if nothing replaced it.
   * While the claim is held nobody else changes the lock file: a new lock cannot be created
   * over an existing file, the stale holder is dead, and other takeovers wait for the claim.
   */
  async underClaim<T>(still: (r: LockReading) => boolean, act: () => Promise<T>, opts: { breakClaim?: boolean } = {}): Promise<ClaimOutcome<T>> {
    if (opts.breakClaim) await this.unlinkIfThere(this.claimPath);
    let claim;
    try {
      claim = await open(this.claimPath, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      return { busy: await this.claimAge() };
    }
    try {
      await claim.close();
      const now = await this.read();
      if (!still(now)) return { changed: now };
      return { done: await act() };
    } finally {
      await this.unlinkIfThere(this.claimPath);
    }
  }

  /** How old the claim is; one older than CLAIM_STALE_MS is removed (its taker was killed). */
  private async claimAge(): Promise<{ claimFile: string; ageMs: number }> {
    const st = await stat(this.claimPath).catch(() => null);
    const ageMs = st ? Math.max(0, this.now() - st.mtimeMs) : 0;
    if (st && ageMs >= CLAIM_STALE_MS) await this.unlinkIfThere(this.claimPath);
    return { claimFile: this.claimPath, ageMs };
  }

  /** Replaces the lock file by `info` in one rename (call under the claim). */
  async replace(info: LockInfo): Promise<void> {
    const tmp = await writeSynced(this.path, JSON.stringify(info, null, 2), info.pid);
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await this.unlinkIfThere(tmp);
      throw e;
    }
    await syncDir(dirname(this.path));
  }

  /** Removes the lock file: by its holder, or under the claim. */
  async remove(): Promise<void> {
    await this.unlinkIfThere(this.path);
  }

  private async unlinkIfThere(path: string): Promise<void> {
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
}
