/** The local state's files beside the state itself: the backup of the previous serial, leftover temporary files. */
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
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
