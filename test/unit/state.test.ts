/**
 * The conformance suite (helpers/state-conformance.ts) against the local JSON backend, and
 * what only the local backend does; state-pg.test.ts runs the same suite on PostgreSQL.
 */
import { it, expect } from "vitest";
import { conformance } from "./helpers/state-conformance.js";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { StateBackend } from "../../state/backend.js";
import { LocalStateBackend } from "../../state/local.js";
import { newState } from "../../provider/model/state.js";
import { StateConflictError, StateLockedError } from "../../provider/model/state.js";

conformance("local", () => ({ kind: "local", path: join(mkdtempSync(join(tmpdir(), "bp-state-")), "terraform.tfstate") }), () => {
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
