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
import { ClaimLostError, LockDisplacedError, LockMismatchError } from "../../provider/model/lock-errors.js";

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
    const e = await failure(new LocalStateBackend(path, { scope: ["--stack", "seed"] }).forceUnlock("old"));
    expect(e).toBeInstanceOf(LockMismatchError);
    expect((e as LockMismatchError).found).toEqual(newer);
    // seen under the claim, before anything is done: the new lock is not even moved aside
    expect((e as LockMismatchError).evidence.movedAside).toBe(false);
    expect(e.message).toContain(lockFile);
    expect(e.message).toContain("backplane force-unlock newer --stack seed");
    expect(readLock(path)).toEqual(newer);
    expect(existsSync(`${lockFile}.takeover`)).toBe(false);
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  });

  it("does not remove a lock taken over while force-unlock was stopped past its claim, just before the removal", async () => {
    const path = fresh();
    const lockFile = `${path}.lock.json`;
    writeFileSync(lockFile, JSON.stringify(lockOf("old", DEAD)));
    const theirs = lockOf("theirs", 2_000_500);
    // force-unlock has judged the lock and checked it still holds its claim; it is stopped for
    // longer than a claim lives, and another process clears its claim as a killed taker's and
    // takes the stale lock over (a new lock file) before force-unlock goes on
    let acted = false;
    fsHook.before = (op, file) => {
      if (acted || !((op === "unlink" || op === "rename") && file === lockFile)) return;
      acted = true;
      unlinkSync(`${lockFile}.takeover`);
      unlinkSync(lockFile);
      writeFileSync(lockFile, JSON.stringify(theirs));
    };
    const e = await failure(new LocalStateBackend(path).forceUnlock("old"));
    expect(acted).toBe(true);
    expect(e).toBeInstanceOf(LockMismatchError);
    expect((e as LockMismatchError).found).toEqual(theirs);
    expect((e as LockMismatchError).evidence.movedAside).toBe(true);
    expect(e.message).toContain(lockFile);
    expect(e.message).toContain("backplane force-unlock theirs");
    expect(readLock(path)).toEqual(theirs);
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  });

  it("removes nothing, and does not even move the lock, when its claim was cleared while it was stopped after judging the lock", async () => {
    const path = fresh();
    const lockFile = `${path}.lock.json`;
    writeFileSync(lockFile, JSON.stringify(lockOf("old", DEAD)));
    const theirs = lockOf("theirs", 2_000_500);
    // stopped after reading the lock under its claim, before checking its claim: the claim is
    // cleared as a killed process's and the stale lock taken over
    beforeNthRead(`${lockFile}.takeover`, 1, () => {
      unlinkSync(`${lockFile}.takeover`);
      unlinkSync(lockFile);
      writeFileSync(lockFile, JSON.stringify(theirs));
    });
    let moved = false;
    const check = fsHook.before!;
    fsHook.before = (op, file, second) => {
      if (op === "rename" && file === lockFile) moved = true;
      check(op, file, second);
    };
    const e = await failure(new LocalStateBackend(path, { scope: ["--stack", "seed"] }).forceUnlock("old"));
    expect(e).toBeInstanceOf(ClaimLostError);
    expect(e.message).toContain(`${lockFile}.takeover`);
    expect(e.message).toContain("backplane force-unlock old --stack seed");
    expect(moved).toBe(false);
    expect(readLock(path)).toEqual(theirs);
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  });

  it("says so, naming both holders, when a third process takes the lock in the instant the one it moved aside was out (the window left)", async () => {
    const path = fresh();
    const lockFile = `${path}.lock.json`;
    writeFileSync(lockFile, JSON.stringify(lockOf("old", DEAD)));
    const theirs = lockOf("theirs", 2_000_500);
    const third = lockOf("third", 2_000_600);
    // as above, and then, while the lock it moved is aside, a third process creates a lock
    let step = 0;
    fsHook.before = (op, file, second) => {
      if (step === 0 && op === "rename" && file === lockFile) {
        step = 1;
        unlinkSync(`${lockFile}.takeover`);
        unlinkSync(lockFile);
        writeFileSync(lockFile, JSON.stringify(theirs));
      } else if (step === 1 && op === "link" && second === lockFile) {
        step = 2;
        writeFileSync(lockFile, JSON.stringify(third), { flag: "wx" });
      }
    };
    const e = await failure(new LocalStateBackend(path, { scope: ["--stack", "seed"] }).forceUnlock("old"));
    expect(step).toBe(2);
    expect(e).toBeInstanceOf(LockDisplacedError);
    expect((e as LockDisplacedError).displaced).toEqual(theirs);
    expect((e as LockDisplacedError).current).toEqual(third);
    expect(e.message).toContain(lockFile);
    expect(e.message).toContain("lock theirs");
    expect(e.message).toContain("backplane force-unlock third --stack seed");
    expect(readLock(path)).toEqual(third);
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  });
});
