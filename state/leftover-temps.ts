/**
 * Temporary files a killed writer left beside the state (`.<name>.<pid>.<random>.tmp`, see
 * atomic-file.ts): of the state, its backup and its lock. Removed on the next write or lock,
 * once their writer cannot still be writing them.
 */
import { readdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * A temporary file whose pid is gone here is removed only after this long: the name carries a
 * pid but no host, and a directory shared between machines (a network home) may hold the
 * temporary file of a live writer elsewhere. No state write takes a minute.
 */
export const GONE_WRITER_GRACE_MS = 60_000;
/** Older than this it is removed whatever its pid says: pids are reused, and no write takes a day. */
export const ANY_WRITER_MAX_MS = 24 * 3600_000;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Removes the leftovers of `statePath` and returns why each went (for a notice). */
export async function removeLeftoverTemps(statePath: string, o: { pidAlive: (pid: number) => boolean; now?: () => number }): Promise<string[]> {
  const dir = dirname(statePath);
  // only the names backplane gives this state's files: never another state's, never a stranger's
  const ours = new RegExp(`^\\.${escape(basename(statePath))}(?:\\.backup|\\.lock\\.json(?:\\.takeover)?)?\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const removed: string[] = [];
  const now = (o.now ?? Date.now)();
  for (const name of names) {
    const m = ours.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    const st = await stat(file).catch(() => null);
    if (!st) continue;
    const pid = Number(m[1]);
    const ageMs = now - st.mtimeMs;
    const why = ageMs >= ANY_WRITER_MAX_MS ? "older than a day" : ageMs >= GONE_WRITER_GRACE_MS && !o.pidAlive(pid) ? `its writer, pid ${pid}, is gone` : null;
    if (!why) continue;
    // another process may be removing it too: gone is gone
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    removed.push(`${file} (${why})`);
  }
  return removed;
}
