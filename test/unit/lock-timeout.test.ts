/** -lock-timeout: its durations, and waiting for a held lock up to it. */
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStateBackend } from "../../state/local.js";
import { lockWithin } from "../../state/lock-wait.js";
import { parseDuration, DurationError } from "../../provider/model/duration.js";
import { StateLockedError } from "../../provider/model/state.js";

describe("-lock-timeout durations", () => {
  it.each([
    ["0", 0], ["0s", 0], ["500ms", 500], ["30s", 30_000], ["5m", 300_000], ["1h30m", 5_400_000], ["1.5h", 5_400_000], ["2h45m10s", 9_910_000], ["1500us", 1.5], ["2000000ns", 2], [".5s", 500], ["1.s", 1000],
  ])("reads %s as Terraform (Go's time.ParseDuration) does", (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(["", "5", "30", "-5s", "+5s", "5 s", " 5s", "5sec", "5S", "s", ".5", "5..s", "1h 30m", "5m-3s", "1e3s", "Infinityh", "30s\n"])("refuses %j, saying how to write one", (text) => {
    const e = (() => { try { parseDuration(text); } catch (x) { return x as Error; } return null; })();
    expect(e).toBeInstanceOf(DurationError);
    expect(e!.message).toContain("e.g. 30s");
  });
});

describe("waiting for a held lock", () => {
  const fresh = () => join(mkdtempSync(join(tmpdir(), "bp-wait-")), "s.tfstate");

  it("takes the lock once its holder lets go within the timeout, saying once that it waits", async () => {
    const path = fresh();
    const holder = new LocalStateBackend(path);
    const held = await holder.lock("apply");
    setTimeout(() => void holder.unlock(held.id), 300);
    const said: string[] = [];
    const l = await lockWithin(new LocalStateBackend(path), "plan", 5_000, { onWait: (m) => said.push(m) });
    expect(l.operation).toBe("plan");
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("waiting up to 5s");
  });

  it("gives up after the timeout, naming the holder and how long it waited", async () => {
    const path = fresh();
    const held = await new LocalStateBackend(path).lock("apply");
    const t0 = Date.now();
    const e = await lockWithin(new LocalStateBackend(path), "plan", 400).catch((x: Error) => x);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(e).toBeInstanceOf(StateLockedError);
    expect((e as Error).message).toMatch(/^still locked after waiting \d+ms: state is locked by .* for 'apply'/);
    expect((e as Error).message).toContain(`lock ID ${held.id}`);
  });

  it("does not wait with a timeout of 0 (the default)", async () => {
    const path = fresh();
    await new LocalStateBackend(path).lock("apply");
    const slept: number[] = [];
    const e = await lockWithin(new LocalStateBackend(path), "plan", 0, { sleep: async (ms) => void slept.push(ms) }).catch((x: Error) => x);
    expect(slept).toEqual([]);
    expect((e as Error).message).toMatch(/^state is locked by/);
  });
});
