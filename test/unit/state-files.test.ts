/** The local state's files beside the state itself: the backup of the previous serial, leftover temporary files. */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStateBackend } from "../../state/local.js";
import { newState } from "../../provider/model/state.js";

const freshDir = () => mkdtempSync(join(tmpdir(), "bp-files-"));

describe("the backup of the previous state", () => {
  it("keeps the previous serial's state as <state>.backup on every write", async () => {
    const dir = freshDir();
    const path = join(dir, "t.tfstate");
    const b = new LocalStateBackend(path);
    await b.write({ ...newState("l"), serial: 1 }, null);
    expect(existsSync(`${path}.backup`)).toBe(false);
    await b.write({ ...newState("l"), serial: 2 }, 1);
    expect(JSON.parse(readFileSync(`${path}.backup`, "utf8"))).toMatchObject({ lineage: "l", serial: 1 });
    await b.write({ ...newState("l"), serial: 3 }, 2);
    expect(JSON.parse(readFileSync(`${path}.backup`, "utf8"))).toMatchObject({ serial: 2 });
    expect((await b.read())!.serial).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(["t.tfstate", "t.tfstate.backup"]);
  });

  it("keeps the previous state byte for byte (what was on disk, not a re-serialisation)", async () => {
    const dir = freshDir();
    const path = join(dir, "t.tfstate");
    const b = new LocalStateBackend(path);
    await b.write({ ...newState("l"), serial: 1 }, null);
    const before = readFileSync(path, "utf8");
    await b.write({ ...newState("l"), serial: 2 }, 1);
    expect(readFileSync(`${path}.backup`, "utf8")).toBe(before);
  });

  it("is not written when the compare-and-swap refuses the write", async () => {
    const dir = freshDir();
    const path = join(dir, "t.tfstate");
    const b = new LocalStateBackend(path);
    await b.write({ ...newState("l"), serial: 1 }, null);
    await expect(b.write({ ...newState("l"), serial: 5 }, 4)).rejects.toThrow(/expected serial 4, found 1/);
    expect(existsSync(`${path}.backup`)).toBe(false);
  });
});

describe("temporary files left by a killed writer", () => {
  const deadPid = () => Number(spawnSync("sh", ["-c", "echo $$"]).stdout.toString().trim());
  const leftover = (dir: string, name: string, ageSeconds: number) => {
    writeFileSync(join(dir, name), "{\"half\": ");
    const t = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(join(dir, name), t, t);
    return name;
  };

  it("are removed on the next write when their pid is gone and they are older than a minute", async () => {
    const dir = freshDir();
    const dead = deadPid();
    const state = leftover(dir, `.t.tfstate.${dead}.0a1b2c3d.tmp`, 120);
    const backup = leftover(dir, `.t.tfstate.backup.${dead}.0a1b2c3e.tmp`, 120);
    const lock = leftover(dir, `.t.tfstate.lock.json.${dead}.0a1b2c3f.tmp`, 120);
    const claim = leftover(dir, `.t.tfstate.lock.json.takeover.${dead}.0a1b2c40.tmp`, 120);
    const notices: string[] = [];
    await new LocalStateBackend(join(dir, "t.tfstate"), { onNotice: (m) => notices.push(m) }).write({ ...newState("l"), serial: 1 }, null);
    expect(readdirSync(dir)).toEqual(["t.tfstate"]);
    expect(notices.join("\n")).toContain(state);
    expect(notices.join("\n")).toContain(backup);
    expect(notices.join("\n")).toContain(lock);
    expect(notices.join("\n")).toContain(claim);
  });

  it("are removed when the lock is taken", async () => {
    const dir = freshDir();
    leftover(dir, `.t.tfstate.${deadPid()}.0a1b2c3d.tmp`, 120);
    const b = new LocalStateBackend(join(dir, "t.tfstate"));
    const l = await b.lock("apply");
    expect(readdirSync(dir)).toEqual(["t.tfstate.lock.json"]);
    await b.unlock(l.id);
  });

  it("are kept while their writer may still be at it: a live pid, or a gone pid less than a minute ago (a writer on another machine sharing the directory)", async () => {
    const dir = freshDir();
    const live = leftover(dir, `.t.tfstate.${process.pid}.0a1b2c3d.tmp`, 120);
    const young = leftover(dir, `.t.tfstate.${deadPid()}.0a1b2c3e.tmp`, 5);
    await new LocalStateBackend(join(dir, "t.tfstate")).write({ ...newState("l"), serial: 1 }, null);
    expect(readdirSync(dir).sort()).toEqual([live, young, "t.tfstate"].sort());
  });

  it("are removed after a day whatever their pid says (pids are reused)", async () => {
    const dir = freshDir();
    leftover(dir, `.t.tfstate.${process.pid}.0a1b2c3d.tmp`, 25 * 3600);
    await new LocalStateBackend(join(dir, "t.tfstate")).write({ ...newState("l"), serial: 1 }, null);
    expect(readdirSync(dir)).toEqual(["t.tfstate"]);
  });

  it("of another state, or not named as backplane names them, are left alone", async () => {
    const dir = freshDir();
    const dead = deadPid();
    const names = [leftover(dir, `.other.tfstate.${dead}.0a1b2c3d.tmp`, 120), leftover(dir, `.t.tfstate.${dead}.notours.tmp`, 120), leftover(dir, `t.tfstate.${dead}.0a1b2c3d.tmp`, 120)];
    await new LocalStateBackend(join(dir, "t.tfstate")).write({ ...newState("l"), serial: 1 }, null);
    expect(readdirSync(dir).sort()).toEqual([...names, "t.tfstate"].sort());
  });
});
