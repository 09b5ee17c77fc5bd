/**
 * The lock file of the local backend, `<state>.lock.json`: who holds the state, as JSON.
 * This module reads it (held, absent, or unreadable — never guessed at), creates it so that
 * no reader ever sees it half written, and removes or replaces it.
 */
import { link, open, unlink } from "node:fs/promises";
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

  /** Removes the lock file whatever it holds (the caller has judged the reading). */
  async remove(): Promise<void> {
    await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
}
