/**
 * The local state lock when another process acts at the worst moment: between a judgment of
 * the lock file and the step that acts on it. node:fs/promises is wrapped so that a test can
 * act (with the synchronous node:fs, which is not wrapped) just before a given file operation.
 */
import { describe, it, expect, vi, afterEach } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LocalStateBackend } from "../../state/local.js";

/** Called before open/rename/link/unlink of node:fs/promises with the operation, its path and its second argument. */
const fsHook = vi.hoisted(() => ({ before: null as null | ((op: string, path: string, second: unknown) => void) }));

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const wrap = <A extends unknown[], R>(op: string, f: (...a: A) => R) => (...a: A): R => {
    fsHook.before?.(op, String(a[0]), a[1]);
    return f(...a);
  };
  const wrapped = { ...real, open: wrap("open", real.open), rename: wrap("rename", real.rename), link: wrap("link", real.link), unlink: wrap("unlink", real.unlink) };
  return { ...wrapped, default: wrapped };
});

afterEach(() => {
  fsHook.before = null;
});

const fresh = () => join(mkdtempSync(join(tmpdir(), "bp-races-")), "s.tfstate");
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a refusal"); }, (e: unknown) => e as Error);
const DEAD = 999_999_001;
const lockOf = (id: string, pid: number) => ({ id, operation: "apply", who: "x", pid, hostname: hostname(), created: new Date().toISOString() });
const readLock = (path: string) => JSON.parse(readFileSync(`${path}.lock.json`, "utf8")) as unknown;

/** Runs `act` once, just before the `n`th opening of `file` for reading. */
const beforeNthRead = (file: string, n: number, act: () => void) => {
  let reads = 0;
  fsHook.before = (op, path, flags) => {
    if (op === "open" && path === file && (flags === "r" || flags === undefined) && ++reads === n) act();
  };
};

describe("force-unlock against a lock that changes under it", () => {
  it("refuses and leaves the lock when the lock was replaced after force-unlock judged it (the ID no longer matches)", async () => {
    const path = fresh();
    const lockFile = `${path}.lock.json`;
    writeFileSync(lockFile, JSON.stringify(lockOf("old", DEAD)));
    const newer = lockOf("newer", 2_000_500);
    // force-unlock reads the lock once to judge it; before it reads it again under its claim,
    // the old lock is released and another process takes a new one
    beforeNthRead(lockFile, 2, () => {
      unlinkSync(lockFile);
      writeFileSync(lockFile, JSON.stringify(newer));
    });
    const e = await failure(new LocalStateBackend(path).forceUnlock("old"));
    expect(e.message).toContain(lockFile);
    expect(readLock(path)).toEqual(newer);
    expect(existsSync(`${lockFile}.takeover`)).toBe(false);
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  });
});
