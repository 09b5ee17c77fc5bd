/**
 * The local state lock in the situations a killed process leaves behind: an empty or
 * unreadable lock file, a stale lock taken over by many processes at once.
 */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { LocalStateBackend } from "../../state/local.js";
import { StateLockedError } from "../../provider/model/state.js";
import { ROOT } from "./helpers/seed.js";

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

describe("taking over a stale lock", () => {
  const DEAD = 999_999_001;
  const staleLock = (path: string) =>
    writeFileSync(`${path}.lock.json`, JSON.stringify({ id: "stale", operation: "apply", who: "x", pid: DEAD, hostname: hostname(), created: new Date().toISOString() }));

  it("does not take over a lock that another process took over between our reading and our takeover", async () => {
    const path = fresh();
    staleLock(path);
    const other = { id: "other-live", operation: "plan", who: "y", pid: 2_000_500, hostname: hostname(), created: new Date().toISOString() };
    let replaced = false;
    const b = new LocalStateBackend(path, {
      identity: { pid: 2_000_001, hostname: hostname(), who: "me" },
      // the moment we judge the stale lock, another process finishes its own takeover
      pidAlive: (pid) => {
        if (pid === DEAD && !replaced) {
          replaced = true;
          unlinkSync(`${path}.lock.json`);
          writeFileSync(`${path}.lock.json`, JSON.stringify(other));
        }
        return pid !== DEAD;
      },
    });
    const e = await failure(b.lock("apply"));
    expect(e).toBeInstanceOf(StateLockedError);
    expect((e as StateLockedError).holder.id).toBe("other-live");
    expect(await b.currentLock()).toEqual(other);
  });

  it("never judges a lock held on another machine stale by its pid, whatever the pid", async () => {
    // the pid names a process on the holder's machine: here it may be gone, reused, or never was
    for (const pid of [DEAD, 1, process.pid, 2_000_123]) {
      const path = fresh();
      const theirs = { id: `elsewhere-${pid}`, operation: "apply", who: "ana@ci-7", pid, hostname: `not-${hostname()}`, created: new Date().toISOString() };
      writeFileSync(`${path}.lock.json`, JSON.stringify(theirs));
      const notices: string[] = [];
      // every pid looks gone here: only the hostname can keep the lock from being taken over
      const b = new LocalStateBackend(path, { pidAlive: () => false, onNotice: (m) => notices.push(m), takeoverWaitMs: 0 });
      const e = await failure(b.lock("apply"));
      expect(e, `pid ${pid}`).toBeInstanceOf(StateLockedError);
      expect((e as StateLockedError).holder).toEqual(theirs);
      expect(notices, `pid ${pid}`).toEqual([]);
      expect(JSON.parse(readFileSync(`${path}.lock.json`, "utf8"))).toEqual(theirs);
      expect(existsSync(`${path}.lock.json.takeover`)).toBe(false);
    }
  });

  it("has exactly one winner among many processes taking it over at once (in-process, fake pids)", async () => {
    for (let round = 0; round < 20; round++) {
      const path = fresh();
      staleLock(path);
      const notices: string[] = [];
      const contenders = Array.from({ length: 16 }, (_, i) => new LocalStateBackend(path, {
        identity: { pid: 2_000_000 + i, hostname: hostname(), who: `p${i}` },
        pidAlive: (pid) => pid !== DEAD,
        onNotice: (m) => notices.push(m),
      }));
      const results = await Promise.all(contenders.map((b) => b.lock("apply").then((info) => ({ info }), (error: Error) => ({ error }))));
      const won = results.flatMap((r) => ("info" in r ? [r.info] : []));
      expect(won, `round ${round}`).toHaveLength(1);
      for (const r of results) if ("error" in r) expect(r.error, `round ${round}: ${r.error.message}`).toBeInstanceOf(StateLockedError);
      for (const r of results) if ("error" in r) expect((r.error as StateLockedError).holder.id).toBe(won[0]!.id);
      expect(notices.filter((n) => n.includes("taking over"))).toHaveLength(1);
      expect(await new LocalStateBackend(path).currentLock()).toEqual(won[0]);
      expect(readdirSync(dirname(path)).filter((f) => f !== "s.tfstate.lock.json")).toEqual([]);
    }
  });

  it("waits for another process's takeover claim, then names the claim file and the command", async () => {
    const path = fresh();
    staleLock(path);
    writeFileSync(`${path}.lock.json.takeover`, "");
    const b = new LocalStateBackend(path, { pidAlive: (pid) => pid !== DEAD, scope: ["--stack", "seed"], takeoverWaitMs: 300 });
    const e = await failure(b.lock("apply"));
    expect(e.name).toBe("LockClaimedError");
    expect(e.message).toContain(`${path}.lock.json.takeover`);
    expect(e.message).toContain("backplane force-unlock stale --stack seed");
  });

  it("clears a takeover claim left by a killed process (older than 30s) and takes the lock over", async () => {
    const path = fresh();
    staleLock(path);
    writeFileSync(`${path}.lock.json.takeover`, "");
    age(`${path}.lock.json.takeover`, 40);
    const notices: string[] = [];
    const b = new LocalStateBackend(path, { pidAlive: (pid) => pid !== DEAD, onNotice: (m) => notices.push(m) });
    const l = await b.lock("apply");
    expect(notices).toEqual(["taking over a stale lock stale (pid 999999001 is gone)"]);
    await b.unlock(l.id);
    expect(readdirSync(dirname(path))).toEqual([]);
  });

  it("force-unlock removes the lock and a claim left by a killed taker (older than 30s)", async () => {
    const path = fresh();
    staleLock(path);
    writeFileSync(`${path}.lock.json.takeover`, "");
    age(`${path}.lock.json.takeover`, 40);
    await new LocalStateBackend(path).forceUnlock("stale");
    expect(readdirSync(dirname(path))).toEqual([]);
  });

  it("force-unlock refuses while a takeover claim is young (a takeover is in progress), leaving lock and claim", async () => {
    const path = fresh();
    staleLock(path);
    writeFileSync(`${path}.lock.json.takeover`, "");
    const e = await failure(new LocalStateBackend(path, { scope: ["--stack", "seed"] }).forceUnlock("stale"));
    expect(e.name).toBe("TakeoverInProgressError");
    expect(e.message).toContain(`${path}.lock.json.takeover`);
    expect(e.message).toContain("backplane force-unlock stale --stack seed");
    expect(existsSync(`${path}.lock.json.takeover`)).toBe(true);
    expect(JSON.parse(readFileSync(`${path}.lock.json`, "utf8"))).toMatchObject({ id: "stale" });
  });

  /**
   * Runs `body` (a module script; `b` is a LocalStateBackend on `path` that believes `DEAD` is
   * gone and that it is pid 2000777) in another process, to completion, and returns its stdout.
   * Synchronous, so that a test can run it from inside a pidAlive() of the process under test:
   * that process is then stopped right after judging the lock under its claim.
   */
  const otherProcess = (path: string, body: string): string => {
    const script = `
      const { hostname } = await import("node:os");
      const { LocalStateBackend } = await import(${JSON.stringify(join(ROOT, "state", "local.ts"))});
      const b = new LocalStateBackend(${JSON.stringify(path)}, { pidAlive: (pid) => pid !== ${DEAD}, identity: { pid: 2000777, hostname: hostname(), who: "other" } });
      ${body}
    `;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`the other process failed: ${r.stderr}`);
    return r.stdout;
  };

  /**
   * A backend taking over the stale lock at `path` that runs `meanwhile` at its second
   * liveness check of the stale holder: under its claim, just before its rename.
   */
  const takerInterruptedBeforeRename = (path: string, meanwhile: () => void): LocalStateBackend => {
    staleLock(path);
    let deadChecks = 0;
    return new LocalStateBackend(path, {
      identity: { pid: 2_000_001, hostname: hostname(), who: "me" },
      pidAlive: (pid) => {
        if (pid === DEAD && ++deadChecks === 2) meanwhile();
        return pid !== DEAD;
      },
    });
  };

  it("a taker stopped longer than 30s while holding the claim does not overwrite the lock another process took over meanwhile", async () => {
    const path = fresh();
    // we are stopped under our claim (SIGSTOP, a suspended laptop) for longer than a claim
    // lives, and another process clears our claim as a killed taker's and takes the lock over
    let other = "";
    const b = takerInterruptedBeforeRename(path, () => {
      age(`${path}.lock.json.takeover`, 40);
      other = otherProcess(path, `try { console.log("won " + (await b.lock("apply")).id); } catch (e) { console.log("lost " + e.name + " " + e.message); }`);
    });
    const e = await failure(b.lock("apply"));
    const theirs = /^won (\S+)$/m.exec(other)?.[1];
    expect(theirs, other).toBeDefined();
    expect(e).toBeInstanceOf(StateLockedError);
    expect((e as StateLockedError).holder).toMatchObject({ id: theirs, pid: 2_000_777 });
    expect(await b.currentLock()).toMatchObject({ id: theirs });
    expect(readdirSync(dirname(path))).toEqual(["s.tfstate.lock.json"]);
  }, 30_000);

  it("force-unlock run while another process is taking the stale lock over refuses, and that takeover completes", async () => {
    const path = fresh();
    // under our claim, just before our rename, an operator runs force-unlock on the stale lock
    let other = "";
    const b = takerInterruptedBeforeRename(path, () => {
      other = otherProcess(path, `try { await b.forceUnlock("stale"); console.log("removed"); } catch (e) { console.log("refused " + e.name + " " + e.message); }`);
    });
    const mine = await b.lock("apply");
    expect(other).toContain("refused TakeoverInProgressError");
    expect(other).toContain(`${path}.lock.json.takeover`);
    expect(await b.currentLock()).toEqual(mine);
    await b.unlock(mine.id);
    expect(readdirSync(dirname(path))).toEqual([]);
  }, 30_000);

  it("has exactly one winner among real processes taking it over at once", async () => {
    const path = fresh();
    const dead = Number(spawnSync("sh", ["-c", "echo $$"]).stdout.toString().trim());
    writeFileSync(`${path}.lock.json`, JSON.stringify({ id: "stale", operation: "apply", who: "x", pid: dead, hostname: hostname(), created: new Date().toISOString() }));
    const go = `${path}.go`;
    // each process: says it is ready, waits for the go file, tries once, reports, and holds
    // what it got until its stdin closes (a winner that exited would leave a stale lock)
    const script = `
      const { existsSync } = await import("node:fs");
      const { LocalStateBackend } = await import(${JSON.stringify(join(ROOT, "state", "local.ts"))});
      const b = new LocalStateBackend(${JSON.stringify(path)}, { onNotice: (m) => console.log("notice " + m) });
      console.log("ready");
      while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 2));
      let id = null;
      try { id = (await b.lock("apply")).id; console.log("won " + id); } catch (e) { console.log("lost " + e.name + " " + e.message); }
      process.stdin.resume();
      process.stdin.on("end", async () => { if (id) await b.unlock(id); process.exit(0); });
    `;
    const children = Array.from({ length: 8 }, () => spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] }));
    const outputs = children.map(() => "");
    const saw = (i: number, word: string) => new Promise<void>((resolve) => {
      const check = () => (outputs[i]!.split("\n").some((l) => l.startsWith(word)) ? resolve() : undefined);
      children[i]!.stdout!.on("data", (d: Buffer) => { outputs[i] += d.toString(); check(); });
      check();
    });
    try {
      await Promise.all(children.map((_, i) => saw(i, "ready")));
      writeFileSync(go, "");
      await Promise.all(children.map((_, i) => Promise.race([saw(i, "won"), saw(i, "lost")])));
      const winners = outputs.filter((o) => o.includes("\nwon "));
      expect(winners, outputs.join("\n---\n")).toHaveLength(1);
      const winnerId = /\nwon (\S+)/.exec(winners[0]!)![1]!;
      for (const o of outputs.filter((x) => !x.includes("\nwon "))) expect(o).toContain(`lost StateLockedError`);
      for (const o of outputs.filter((x) => !x.includes("\nwon "))) expect(o).toContain(`lock ID ${winnerId}`);
      expect(winners[0]).toContain("notice taking over a stale lock stale");
    } finally {
      for (const c of children) c.stdin!.end();
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    }
    expect(existsSync(`${path}.lock.json`)).toBe(false);
  }, 60_000);
});
