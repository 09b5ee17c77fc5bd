/**
 * Local JSON state: written atomically (temp file, fsync, rename, fsync of the directory),
 * guarded by a lock file holding who/pid/host/time/operation. A lock whose pid is gone on
 * this machine is stale and is taken over, saying so.
 */
import { randomUUID } from "node:crypto";
import { open, readFile, rename, unlink, mkdir } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { dirname, basename, join } from "node:path";
import type { StateBackend } from "./backend.js";
import { STATE_VERSION, StateConflictError, StateLockedError, type LockInfo, type State } from "../provider/model/state.js";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class LocalStateBackend implements StateBackend {
  constructor(readonly path: string, private readonly onNotice: (msg: string) => void = () => {}) {}

  private get lockPath() {
    return `${this.path}.lock.json`;
  }

  describe() {
    return `local state ${this.path}`;
  }

  async read(): Promise<State | null> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    const s = JSON.parse(text) as State;
    if (s.version !== STATE_VERSION) throw new Error(`${this.path}: state version ${s.version} is not supported (expected ${STATE_VERSION})`);
    return s;
  }

  async write(state: State, expectedSerial: number | null): Promise<void> {
    const current = await this.read();
    const found = current ? current.serial : null;
    if (found !== expectedSerial) throw new StateConflictError(expectedSerial ?? -1, found ?? -1);
    await writeAtomic(this.path, JSON.stringify(state, null, 2) + "\n");
  }

  async currentLock(): Promise<LockInfo | null> {
    try {
      return JSON.parse(await readFile(this.lockPath, "utf8")) as LockInfo;
    } catch {
      return null;
    }
  }

  async lock(operation: string): Promise<LockInfo> {
    const info: LockInfo = {
      id: randomUUID(), operation, who: `${userInfo().username}@${hostname()}`, pid: process.pid, hostname: hostname(), created: new Date().toISOString(),
    };
    await mkdir(dirname(this.lockPath), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // O_EXCL: exactly one process creates the lock file.
        const fh = await open(this.lockPath, "wx", 0o600);
        await fh.writeFile(JSON.stringify(info, null, 2));
        await fh.sync();
        await fh.close();
        return info;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const holder = await this.currentLock();
        if (holder && holder.hostname === hostname() && !pidAlive(holder.pid)) {
          this.onNotice(`taking over a stale lock ${holder.id} (pid ${holder.pid} is gone)`);
          await unlink(this.lockPath).catch(() => {});
          continue;
        }
        if (holder) throw new StateLockedError(holder);
      }
    }
    throw new Error(`could not lock ${this.path}`);
  }

  async unlock(id: string): Promise<void> {
    const holder = await this.currentLock();
    if (holder && holder.id !== id) throw new Error(`lock ${id} is not held (held: ${holder.id})`);
    await unlink(this.lockPath).catch(() => {});
  }

  async forceUnlock(id: string): Promise<void> {
    const holder = await this.currentLock();
    if (!holder) throw new Error("state is not locked");
    if (holder.id !== id) throw new Error(`lock ID ${id} does not match the current lock ${holder.id}`);
    await unlink(this.lockPath);
  }
}
