/**
 * Files created only where none exists, and removed only while they still are the file that
 * was judged: the state lock and its takeover claim.
 *
 * POSIX has no compare-and-swap on a file name. Reading a file and then unlinking its name
 * removes whatever is at the name by then, possibly a file another process has just put there.
 * So removeIfSame() first moves the file aside under a name of its own (one rename: whatever is
 * at the name moves, whole, and nobody else touches it there), then looks at what it moved, and
 * puts back what it should not have taken with link(), which never overwrites a file that
 * appeared at the name meanwhile.
 */
import { link, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { syncDir, tempPath, writeSynced } from "./atomic-file.js";

/** Which file a reading was of: a file replaced since has another inode. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** A file as read: identity, content and modification time, from the same open file. */
export interface FileSeen {
  file: FileIdentity;
  raw: string;
  mtimeMs: number;
}

/** Same file (not a copy written since), same content. */
export function sameFile(a: FileSeen, b: FileSeen): boolean {
  return a.file.dev === b.file.dev && a.file.ino === b.file.ino && a.raw === b.raw;
}

/** link() is refused by some file systems (FAT, some network mounts): they get open(O_EXCL) instead. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT";

/** The file at `path` now, or null when there is none. */
export async function readSeen(path: string): Promise<FileSeen | null> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if (gone(e)) return null;
    throw e;
  }
  try {
    const st = await fh.stat();
    const raw = await fh.readFile("utf8");
    return { file: { dev: st.dev, ino: st.ino }, raw, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

/**
 * Creates `path` holding `text`, or returns false when it exists. The content is written and
 * synced under a temporary name first and then linked into place (link fails if the name
 * exists), so the file never exists empty or half written. `pid` names the temporary file
 * (leftover-temps.ts).
 */
export async function createExclusive(path: string, text: string, pid = process.pid): Promise<boolean> {
  const tmp = await writeSynced(path, text, pid);
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!NO_HARD_LINKS.has(code)) throw e;
    return createInPlace(path, text);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await syncDir(dirname(path));
  return true;
}

/** Without hard links: O_EXCL, then the content (a reader may see it empty for a moment). */
async function createInPlace(path: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, "wx", 0o600);
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

export type RemoveOutcome =
  /** it was the file judged, and is gone */
  | { kind: "removed"; seen: FileSeen }
  /** nothing was at the name */
  | { kind: "absent" }
  /** another file was at the name: it was put back (the same file, by link) and is there again */
  | { kind: "kept"; seen: FileSeen }
  /**
   * another file was at the name, and could not be put back: a new file took the name in the
   * instant it was aside. `seen` is what was displaced (its holder may still think it holds it).
   */
  | { kind: "displaced"; seen: FileSeen };

/**
 * Removes `path` only if the file there is one `same` accepts (compare-and-remove). See the
 * module comment for why it moves the file aside first. `pid` names the file while aside:
 * if this process is killed right then, leftover-temps.ts removes it later.
 */
export async function removeIfSame(path: string, same: (seen: FileSeen) => boolean, pid = process.pid): Promise<RemoveOutcome> {
  const aside = tempPath(path, pid);
  try {
    await rename(path, aside);
  } catch (e) {
    if (gone(e)) return { kind: "absent" };
    throw e;
  }
  let seen: FileSeen | null;
  let ours: boolean;
  try {
    seen = await readSeen(aside);
    ours = seen !== null && same(seen);
  } catch (e) {
    // cannot tell what was moved: it goes back, as anything that is not ours
    await putBack(aside, path).catch(() => {});
    throw e;
  }
  if (seen === null) return { kind: "absent" };
  if (ours) {
    await unlink(aside).catch((e) => {
      if (!gone(e)) throw e;
    });
    await syncDir(dirname(path));
    return { kind: "removed", seen };
  }
  const restored = await putBack(aside, path);
  await syncDir(dirname(path));
  return restored ? { kind: "kept", seen } : { kind: "displaced", seen };
}

/** Puts the file at `aside` back at `path` unless a file appeared there; false when one did. */
async function putBack(aside: string, path: string): Promise<boolean> {
  try {
    await link(aside, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") {
      await unlink(aside).catch(() => {});
      return false;
    }
    if (!NO_HARD_LINKS.has(code)) throw e;
    // a copy (another inode, the same content): the best a file system without links allows
    const raw = (await readSeen(aside))?.raw ?? "";
    const created = await createInPlace(path, raw);
    await unlink(aside).catch(() => {});
    return created;
  }
  await unlink(aside).catch(() => {});
  return true;
}
