/**
 * The local state lock in the situations a killed process leaves behind: an empty or
 * unreadable lock file, a stale lock taken over by many processes at once.
 */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStateBackend } from "../../state/local.js";

const fresh = () => join(mkdtempSync(join(tmpdir(), "bp-locks-")), "s.tfstate");
const age = (file: string, seconds: number) => {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(file, t, t);
};
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a refusal"); }, (e: unknown) => e as Error);

describe("an unreadable lock file", () => {
  it("refuses to lock over a lock file holding garbage, naming the file and the command that clears it", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, "{\"id\": \"half-writ");
    const e = await failure(new LocalStateBackend(path).lock("apply"));
    expect(e.name).toBe("UnreadableLockError");
    expect(e.message).toContain(`${path}.lock.json`);
    expect(e.message).toContain("backplane force-unlock unreadable");
  });

  it("refuses to lock over an empty lock file written moments ago (its writer may still be finishing)", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, "");
    const e = await failure(new LocalStateBackend(path).lock("apply"));
    expect(e.name).toBe("UnreadableLockError");
    expect(e.message).toContain(`${path}.lock.json`);
    expect(e.message).toContain("empty");
    expect(e.message).toContain("backplane force-unlock unreadable");
  });

  it("takes over an empty lock file older than a writer could take, saying so", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, "");
    age(`${path}.lock.json`, 60);
    const notices: string[] = [];
    const b = new LocalStateBackend(path, { onNotice: (m) => notices.push(m) });
    const l = await b.lock("apply");
    expect(await b.currentLock()).toMatchObject({ id: l.id, pid: process.pid });
    expect(notices.join("\n")).toMatch(/empty lock file .*s\.tfstate\.lock\.json/);
    await b.unlock(l.id);
  });

  it("is named by currentLock as an error, not reported as unlocked", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, "not json at all");
    expect((await failure(new LocalStateBackend(path).currentLock())).name).toBe("UnreadableLockError");
  });

  it("is removed by force-unlock with the ID 'unreadable'", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, "\u0000\u0000garbage");
    const b = new LocalStateBackend(path);
    await b.forceUnlock("unreadable");
    expect(existsSync(`${path}.lock.json`)).toBe(false);
    const l = await b.lock("apply");
    await b.unlock(l.id);
  });

  it("force-unlock 'unreadable' leaves a readable lock alone and names its ID", async () => {
    const path = fresh();
    const b = new LocalStateBackend(path);
    const l = await b.lock("apply");
    const e = await failure(b.forceUnlock("unreadable"));
    expect(e.message).toContain(`backplane force-unlock ${l.id}`);
    expect(await b.currentLock()).toMatchObject({ id: l.id });
  });

  it("a lock file that is JSON but not a lock (no id, no pid) is unreadable too", async () => {
    const path = fresh();
    writeFileSync(`${path}.lock.json`, JSON.stringify({ hello: "world" }));
    const e = await failure(new LocalStateBackend(path).lock("plan"));
    expect(e.name).toBe("UnreadableLockError");
  });
});
