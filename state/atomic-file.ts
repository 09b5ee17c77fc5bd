/**
 * Files replaced whole: written to a temporary file next to the target, synced, renamed over
 * it, and the directory synced, so a reader (or a crash) sees the old content or the new,
 * never a mix. Temporary files are named `.<name>.<pid>.<random>.tmp`.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary file name next to `path`, carrying the writer's pid (see leftover-temps.ts). */
export function tempPath(path: string, pid = process.pid): string {
  return join(dirname(path), `.${basename(path)}.${pid}.${randomUUID().slice(0, 8)}.tmp`);
}

/** Writes `text` to a new temporary file next to `path` and syncs it; returns its name. */
export async function writeSynced(path: string, text: string, pid = process.pid): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path, pid);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  return tmp;
}

/** fsync of the directory: a rename or link is on disk only once its directory is. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeAtomic(path: string, text: string, beforeRename?: () => void): Promise<void> {
  const tmp = await writeSynced(path, text);
  // test-only fault injection: the new content is on disk in its temporary file, not in place
  beforeRename?.();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}
