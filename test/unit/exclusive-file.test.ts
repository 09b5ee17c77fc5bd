/**
 * The two file primitives under the state lock: compare-and-remove (a file is removed only
 * while it still is the file judged; anything else is put back, the same file) and the
 * takeover claim (tokened, so a taker knows whether its claim is still its own).
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSeen, removeIfSame, sameFile } from "../../state/exclusive-file.js";
import { CLAIM_STALE_MS, TakeoverClaim } from "../../state/lock-claim.js";

const freshDir = () => mkdtempSync(join(tmpdir(), "bp-excl-"));
const age = (file: string, ms: number) => {
  const t = new Date(Date.now() - ms);
  utimesSync(file, t, t);
};

describe("removeIfSame", () => {
  it("removes the file judged", async () => {
    const dir = freshDir();
    const f = join(dir, "lock");
    writeFileSync(f, "judged");
    const judged = (await readSeen(f))!;
    expect(await removeIfSame(f, (s) => sameFile(s, judged))).toMatchObject({ kind: "removed", seen: { raw: "judged" } });
    expect(readdirSync(dir)).toEqual([]);
  });

  it("puts back a file that is not the one judged: the same file (inode), untouched", async () => {
    const dir = freshDir();
    const f = join(dir, "lock");
    writeFileSync(f, "judged");
    const judged = (await readSeen(f))!;
    // replaced since it was judged (another process's new lock)
    const g = join(dir, "new");
    writeFileSync(g, "someone else's");
    const { renameSync } = await import("node:fs");
    renameSync(g, f);
    const ino = statSync(f).ino;
    expect(await removeIfSame(f, (s) => sameFile(s, judged))).toMatchObject({ kind: "kept", seen: { raw: "someone else's" } });
    expect(readFileSync(f, "utf8")).toBe("someone else's");
    expect(statSync(f).ino).toBe(ino);
    expect(readdirSync(dir)).toEqual(["lock"]);
  });

  it("says what it displaced when a new file took the name while the one it moved was aside", async () => {
    const dir = freshDir();
    const f = join(dir, "lock");
    writeFileSync(f, "live");
    // `same` runs while the file is aside: the name is free, and another process creates it
    const out = await removeIfSame(f, () => {
      writeFileSync(f, "newest", { flag: "wx" });
      return false;
    });
    expect(out).toMatchObject({ kind: "displaced", seen: { raw: "live" } });
    expect(readFileSync(f, "utf8")).toBe("newest");
    expect(readdirSync(dir)).toEqual(["lock"]);
  });

  it("finds nothing to remove when the file is gone", async () => {
    expect(await removeIfSame(join(freshDir(), "lock"), () => true)).toEqual({ kind: "absent" });
  });
});

describe("the takeover claim", () => {
  const who = { pid: 2_000_001, hostname: "here" };

  it("is one holder's at a time; a young one is named with its age and holder", async () => {
    const dir = freshDir();
    const path = join(dir, "lock.takeover");
    const first = await new TakeoverClaim(path, who).take();
    expect("held" in first).toBe(true);
    const second = await new TakeoverClaim(path, { pid: 2_000_002, hostname: "there" }).take();
    expect(second).toMatchObject({ busy: { claimFile: path, holder: { pid: 2_000_001, hostname: "here" } } });
    if ("held" in first) {
      expect(await first.held.stillOurs()).toBe(true);
      await first.held.release();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("clears a claim older than CLAIM_STALE_MS; its stopped taker then knows it is no longer its own, and its release leaves the new claim", async () => {
    const dir = freshDir();
    const path = join(dir, "lock.takeover");
    const stopped = await new TakeoverClaim(path, who).take();
    if (!("held" in stopped)) throw new Error("expected the claim");
    age(path, CLAIM_STALE_MS + 10_000);
    const other = await new TakeoverClaim(path, { pid: 2_000_002, hostname: "here" }).take();
    if (!("held" in other)) throw new Error("expected the stale claim to be cleared and taken");
    expect(await stopped.held.stillOurs()).toBe(false);
    await stopped.held.release();
    expect(await other.held.stillOurs()).toBe(true);
    await other.held.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("of many processes clearing the same stale claim at once, exactly one holds it after", async () => {
    for (let round = 0; round < 20; round++) {
      const dir = freshDir();
      const path = join(dir, "lock.takeover");
      writeFileSync(path, "");
      age(path, CLAIM_STALE_MS + 10_000);
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => new TakeoverClaim(path, { pid: 2_000_000 + i, hostname: "here" }).take()));
      const held = results.flatMap((r) => ("held" in r ? [r.held] : []));
      // a claim displaced in the instant another was put back is "held" but no longer its own:
      // its taker's stillOurs() says so before it acts
      const own = (await Promise.all(held.map(async (h) => ((await h.stillOurs()) ? [h] : [])))).flat();
      expect(own, `round ${round}`).toHaveLength(1);
      for (const h of held) await h.release();
      expect(readdirSync(dir), `round ${round}`).toEqual([]);
    }
  });
});
