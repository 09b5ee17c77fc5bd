/**
 * The progress lines of apply and replicate, as Terraform prints them: what a change start,
 * its reminders and its end look like, on a terminal (a reminder per change every 10 s) and in
 * CI (reminders folded into at most one line per 30 s). Pure: time is given.
 */
import { describe, it, expect } from "vitest";
import { endLine, formatElapsed, ProgressBoard, startLine, stillLine, type ProgressAction, type ProgressEvent, type ProgressOutcome } from "../../provider/engine/progress.js";

const T0 = 1_700_000_000_000;
const on = (address: string, action: ProgressAction = "create", id = "tank/a", host = "prod") => ({ address, action, id, host });
const start = (address: string, at: number, action: ProgressAction = "create"): ProgressEvent => ({ ...on(address, action), phase: "start", at: T0 + at });
const end = (address: string, at: number, outcome: ProgressOutcome = "done", action: ProgressAction = "create"): ProgressEvent => ({ ...on(address, action), phase: "end", outcome, at: T0 + at });

describe("durations print as Terraform's", () => {
  it.each([
    [0, "0s"], [999, "0s"], [1_000, "1s"], [3_400, "3s"], [59_999, "59s"], [60_000, "1m0s"], [61_000, "1m1s"],
    [3_599_000, "59m59s"], [3_600_000, "1h0m0s"], [3_723_000, "1h2m3s"], [-5, "0s"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe("the lines of one change", () => {
  it.each<[ProgressAction, string, string, string]>([
    ["create", "Creating...", "Still creating...", "Creation complete after 3s"],
    ["update", "Modifying...", "Still modifying...", "Modifications complete after 3s"],
    ["delete", "Destroying...", "Still destroying...", "Destruction complete after 3s"],
    ["replace", "Replacing...", "Still replacing...", "Replacement complete after 3s"],
    ["replicate", "Replicating...", "Still replicating...", "Replication complete after 3s"],
  ])("%s: %s, %s, %s", (action, starting, still, done) => {
    const e = on("backplane_dataset.x", action);
    expect(startLine(e)).toBe(`backplane_dataset.x: ${starting} [tank/a on prod]`);
    expect(stillLine(e, 10_000)).toBe(`backplane_dataset.x: ${still} [10s elapsed]`);
    expect(endLine(e, "done", 3_200)).toBe(`backplane_dataset.x: ${done} [tank/a on prod]`);
  });

  it.each<[ProgressOutcome, string]>([
    ["done", "backplane_dataset.x: Creation complete after 1m5s [tank/a on prod]"],
    ["failed", "backplane_dataset.x: Creation failed after 1m5s [tank/a on prod]"],
    ["unknown", "backplane_dataset.x: Creation outcome unknown after 1m5s: the connection was lost; the next plan finds out [tank/a on prod]"],
    ["not run", "backplane_dataset.x: Creation not run [tank/a on prod]"],
  ])("ending %s", (outcome, line) => {
    expect(endLine(on("backplane_dataset.x"), outcome, 65_000)).toBe(line);
  });

  it("a transfer names both ends", () => {
    expect(startLine({ ...on("backplane_replication.r", "replicate", "tank/srv/uploads"), to: "dr:backup/uploads" })).toBe("backplane_replication.r: Replicating... [prod:tank/srv/uploads → dr:backup/uploads]");
  });
});

/** Feeds the board events and ticks (one per second from 0 to `until` s), collecting what it prints. */
function play(style: "tty" | "ci", events: ProgressEvent[], until: number): string[] {
  const board = new ProgressBoard({ style });
  const lines: string[] = [];
  const queue = [...events].sort((a, b) => a.at - b.at);
  for (let s = 0; s <= until; s++) {
    while (queue.length && queue[0]!.at <= T0 + s * 1000) lines.push(...board.event(queue.shift()!));
    lines.push(...board.tick(T0 + s * 1000).map((l) => `@${s}s ${l}`));
  }
  return lines;
}

describe("the board: reminders while changes run", () => {
  it("on a terminal, each running change every 10 s, with the mark it reached", () => {
    expect(play("tty", [start("a.x", 0), start("a.y", 4_500, "update"), end("a.y", 23_000, "failed", "update"), end("a.x", 25_000)], 30)).toEqual([
      "a.x: Creating... [tank/a on prod]",
      "a.y: Modifying... [tank/a on prod]",
      "@10s a.x: Still creating... [10s elapsed]",
      "@15s a.y: Still modifying... [10s elapsed]",
      "@20s a.x: Still creating... [20s elapsed]",
      "a.y: Modifications failed after 18s [tank/a on prod]",
      "a.x: Creation complete after 25s [tank/a on prod]",
    ]);
  });

  it("on a terminal, a tick that comes late prints the last mark once, not a burst", () => {
    const board = new ProgressBoard({ style: "tty" });
    board.event(start("a.x", 0));
    expect(board.tick(T0 + 35_000)).toEqual(["a.x: Still creating... [30s elapsed]"]);
    expect(board.tick(T0 + 36_000)).toEqual([]);
    expect(board.tick(T0 + 40_000)).toEqual(["a.x: Still creating... [40s elapsed]"]);
  });

  it("in CI, start and end lines alike, reminders at most one line per 30 s", () => {
    const lines = play("ci", [start("a.x", 0), start("a.y", 1_000), start("a.z", 50_000), end("a.z", 52_000), end("a.x", 95_000), end("a.y", 100_000)], 100);
    expect(lines).toEqual([
      "a.x: Creating... [tank/a on prod]",
      "a.y: Creating... [tank/a on prod]",
      "@30s a.x: Still creating... [30s elapsed]",
      "a.z: Creating... [tank/a on prod]",
      "a.z: Creation complete after 2s [tank/a on prod]",
      "@60s Still running (2): a.x [creating, 1m0s elapsed], a.y [creating, 59s elapsed]",
      "@90s Still running (2): a.x [creating, 1m30s elapsed], a.y [creating, 1m29s elapsed]",
      "a.x: Creation complete after 1m35s [tank/a on prod]",
      "a.y: Creation complete after 1m39s [tank/a on prod]",
    ]);
    expect(lines.filter((l) => l.startsWith("@"))).toHaveLength(3);
  });

  it("in CI, many long changes fold into one line naming the five oldest", () => {
    const board = new ProgressBoard({ style: "ci" });
    for (let i = 0; i < 8; i++) board.event(start(`a.c${i}`, i * 1000));
    expect(board.tick(T0 + 40_000)).toEqual(["Still running (8): a.c0 [creating, 40s elapsed], a.c1 [creating, 39s elapsed], a.c2 [creating, 38s elapsed], a.c3 [creating, 37s elapsed], a.c4 [creating, 36s elapsed], and 3 more"]);
  });

  it("knows what is running now, oldest first (what a second Ctrl-C abandons)", () => {
    const board = new ProgressBoard({ style: "ci" });
    board.event(start("a.y", 2_000));
    board.event(start("a.x", 1_000));
    board.event(start("a.z", 3_000));
    board.event(end("a.y", 4_000));
    expect(board.runningNow().map((e) => e.address)).toEqual(["a.x", "a.z"]);
  });
});
