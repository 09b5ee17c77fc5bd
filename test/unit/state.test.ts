/**
 * The conformance suite every state backend must pass (Terraform's TestFull idea), run here
 * against the local JSON backend; the PostgreSQL backend will run the same suite.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { StateBackend } from "../../state/backend.js";
import { LocalStateBackend } from "../../state/local.js";
import { newState } from "../../provider/model/state.js";
import { StateConflictError, StateLockedError } from "../../provider/model/state.js";

/** `freshStore()` makes a new empty store and returns a function opening handles on it. */
export function conformance(name: string, freshStore: () => () => StateBackend, extra?: () => void) {
  describe(`${name} state backend`, () => {
    let b: StateBackend;
    let make: () => StateBackend;
    beforeEach(() => {
      make = freshStore();
      b = make();
    });

    it("reads nothing before the first write", async () => {
      expect(await b.read()).toBeNull();
    });

    it("writes and reads back a state", async () => {
      const s = { ...newState("lineage-1"), serial: 1, resources: { "backplane_dataset.a": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: { properties: { quota: "536870912000" } } } } };
      await b.write(s, null);
      expect(await b.read()).toEqual(s);
    });

    it("refuses a write whose expected serial is stale (compare-and-swap)", async () => {
      await b.write({ ...newState("l"), serial: 1 }, null);
      await b.write({ ...newState("l"), serial: 2 }, 1);
      await expect(b.write({ ...newState("l"), serial: 2 }, 1)).rejects.toBeInstanceOf(StateConflictError);
    });

    it("gives the lock to one holder and names it to the next", async () => {
      const l = await b.lock("apply");
      const other = make();
      const e = await other.lock("plan").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StateLockedError);
      expect((e as StateLockedError).holder).toMatchObject({ id: l.id, operation: "apply", pid: process.pid, hostname: hostname() });
      expect((e as Error).message).toContain(`backplane force-unlock ${l.id}`);
      await b.unlock(l.id);
      const again = await other.lock("plan");
      await other.unlock(again.id);
    });

    it("force-unlock needs the right lock ID", async () => {
      const l = await b.lock("apply");
      await expect(b.forceUnlock("wrong")).rejects.toThrow(/does not match/);
      await b.forceUnlock(l.id);
      expect(await b.currentLock()).toBeNull();
    });

    extra?.();
  });
}

conformance("local", () => {
  const path = join(mkdtempSync(join(tmpdir(), "bp-state-")), "terraform.tfstate");
  return () => new LocalStateBackend(path);
}, () => {
  it("takes over a lock whose process is gone, saying so", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "bp-state-")), "s.tfstate");
    // A real process that held the lock and exited.
    const dead = spawnSync("sh", ["-c", "echo $$"]).stdout.toString().trim();
    writeFileSync(`${path}.lock.json`, JSON.stringify({ id: "old", operation: "apply", who: "x", pid: Number(dead), hostname: hostname(), created: new Date().toISOString() }));
    const notices: string[] = [];
    const b = new LocalStateBackend(path, { onNotice: (m) => notices.push(m) });
    const l = await b.lock("apply");
    expect(notices[0]).toContain("stale lock old");
    await b.unlock(l.id);
  });

  it("leaves no temporary files behind after writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bp-state-"));
    const b = new LocalStateBackend(join(dir, "t.tfstate"));
    await b.write({ ...newState("l"), serial: 1 }, null);
    await b.write({ ...newState("l"), serial: 2 }, 1);
    expect(readdirSync(dir).sort()).toEqual(["t.tfstate", "t.tfstate.backup"]);
  });
});
