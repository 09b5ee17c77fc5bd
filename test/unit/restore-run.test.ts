/**
 * `backplane restore` running its steps (restore-commands.ts executeRestore/runSteps) against a
 * scripted transport: what is said when a step fails or the link is lost, the compensation
 * before the move aside, the pending-restore record that guards the moment the name is free,
 * and what state records. The plan is made from the captured OpenZFS 2.3 reads of fxr/app.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Argv } from "../../provider/model/argv.js";
import type { RunResult, Transport } from "../../provider/transport/transport.js";
import type { State } from "../../provider/model/state.js";
import { executeRestore, runSteps } from "../../provider/cli/restore-commands.js";
import { planRestore, pendingRestoreProblem, type RestorePlan } from "../../provider/resources/restore.js";
import { propertiesOf, snapshotsOf } from "../../provider/zfs/restore-facts.js";
import { contextFor, makePlan } from "../../provider/engine/plan.js";
import { ENGINE_KINDS } from "../../provider/resources/index.js";
import { ROOT, liveFrom, seedGraph, seedState } from "./helpers/seed.js";

const NOW = new Date("2026-11-26T08:15:30Z");
const read = (fact: string, name: string) => readFileSync(join(ROOT, "test", "fixtures", fact, `zfs-2.3-${name}`), "utf8");
const live = () => liveFrom("zfs-2.3-restore", "prod");
const GUID = live().datasets.get("fxr/app")!.get("guid")!.value;
const NEW_GUID = "4242424242424242";

function plan(): RestorePlan {
  return planRestore({
    host: "prod", dataset: "fxr/app", target: { snapshot: "s1" }, lineage: "fixture-lineage", live: live(),
    records: [{ address: "backplane_dataset.app", guid: GUID, pending: null }],
    snapshots: snapshotsOf("fxr/app").parse(read("zfs-get-snapshots", "app.json.txt"), "json"),
    properties: propertiesOf("fxr/app").parse(read("zfs-get-dataset", "app.json.txt"), "json"),
    now: NOW, discard: false, allowDestroy: false,
  });
}

type Answer = { rc: number; stdout?: string; stderr?: string } | "cut";
/**
 * Answers a batch script as the host would: one section per item in order, stopping after the
 * first failure (the script's `exit 0` after a stop-on-error item), or cut off ("cut": a lost
 * link, exit 255). `answer` gets the item's key and the command line in the script.
 */
class ScriptedTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  readonly scripts: string[] = [];
  constructor(readonly host: string, private readonly answer: (key: string, line: string) => Answer) {}
  async run(): Promise<RunResult> {
    throw new Error("not used");
  }
  async script(text: string): Promise<RunResult> {
    this.roundTrips++;
    this.scripts.push(text);
    const m = `@@bp-${/@@bp-([a-z0-9]+)/.exec(text)![1]}`;
    const lines = text.split("\n");
    const out: string[] = [];
    for (const [i, line] of lines.entries()) {
      const begin = /:begin (\S+)'$/.exec(line);
      if (!begin) continue;
      const key = begin[1]!;
      const a = this.answer(key, lines[i + 1]!);
      out.push(`${m}:begin ${key}`);
      if (a === "cut") return { stdout: out.join("\n") + "\n", stderr: "Connection reset by peer", exitCode: 255, durationMs: 1 };
      out.push(`${a.stdout ?? ""}`, `${m}:end ${key} ${a.rc} 3`, ...(a.stderr ? [`${m}:stderr ${a.stderr}`] : []));
      if (a.rc !== 0) break;
    }
    return { stdout: out.join("\n") + "\n", stderr: "", exitCode: 0, durationMs: 1 };
  }
  prepare(_cmd: Argv): { file: string; args: string[] } {
    throw new Error("not used");
  }
  async close() {}
}

const ok = (key: string, line: string): Answer => (line.startsWith("zfs get -Hp -o value guid") ? { rc: 0, stdout: NEW_GUID } : { rc: 0 });
/** fails the step whose command line starts with `prefix` */
const failing = (prefix: string, stderr = "cannot do it: dataset is busy") => (key: string, line: string): Answer => (line.startsWith(prefix) ? { rc: 1, stderr } : ok(key, line));

function state(): State {
  return { version: 1, lineage: "fixture-lineage", serial: 7, resources: { "backplane_dataset.app": { type: "backplane_dataset", host: "prod", id: "fxr/app", attributes: { name: "fxr/app", guid: GUID } } } };
}

async function run(answer: (key: string, line: string) => Answer, o: { failWriteAt?: number } = {}) {
  const t = new ScriptedTransport("prod", answer);
  const s = state();
  const writes: State[] = [];
  const lines: string[] = [];
  const p = plan();
  const result = await executeRestore(t, p, {
    state: s, host: "prod", now: NOW, out: (l) => lines.push(l),
    write: async (w, expected) => {
      if (expected !== 7 + writes.length) throw new Error(`serial ${expected}`);
      if (o.failWriteAt === writes.length) throw new Error("state backend unreachable");
      writes.push(structuredClone(w));
    },
  }).catch((e: Error) => e);
  const attrs = (i: number) => writes[i]!.resources["backplane_dataset.app"]!.attributes;
  return { t, plan: p, result, writes, attrs, text: lines.join("\n") };
}

describe("running a restore", () => {
  it("records the restore as pending before any step runs, then the new GUID, clearing it", async () => {
    const r = await run(ok);
    expect(r.result).toBe(true);
    expect(r.writes).toHaveLength(2);
    expect(r.attrs(0).pending_restore).toMatchObject({ tmp: r.plan.tmp, aside: r.plan.aside, started: NOW.toISOString() });
    expect(r.attrs(0).guid).toBe(GUID);
    expect(r.attrs(1)).toEqual({ name: "fxr/app", guid: NEW_GUID });
    expect(r.text).toContain("Restore complete");
    expect(r.text).toContain(`The data it replaced is at ${r.plan.aside}. To undo:`);
  });

  it("prints the undo and where the data is before writing state (a failed state write does not hide them)", async () => {
    const r = await run(ok, { failWriteAt: 1 });
    expect(r.result).toBeInstanceOf(Error);
    expect(r.text).toContain(`The data it replaced is at ${r.plan.aside}. To undo:`);
    expect(r.text).toContain(`zfs rename ${r.plan.aside} fxr/app`);
  });

  it("a step that fails before the move aside: says which ran, which failed, which did not run; mounts the dataset again; clears the pending record", async () => {
    const r = await run(failing("zfs promote"));
    expect(r.result).toBe(false);
    expect(r.text).toMatch(/1\. zfs unmount fxr\/app  — ran/);
    expect(r.text).toMatch(/2\. zfs clone .* — ran/);
    expect(r.text).toMatch(/3\. zfs promote \S+  — FAILED: cannot do it: dataset is busy/);
    expect(r.text).toMatch(/4\. zfs rename -p fxr\/app \S+  — did not run/);
    // the compensation: a second round trip that mounts it again
    expect(r.t.roundTrips).toBe(2);
    expect(r.t.scripts[1]).toContain("zfs mount fxr/app");
    expect(r.text).toContain("Mounted fxr/app again");
    expect(r.text).toContain(`zfs destroy ${r.plan.tmp}`);
    expect(r.attrs(1)).toEqual({ name: "fxr/app", guid: GUID });
  });

  it("a failed unmount (busy) changes nothing and mounts nothing", async () => {
    const r = await run(failing("zfs unmount"));
    expect(r.result).toBe(false);
    expect(r.t.roundTrips).toBe(1);
    expect(r.text).toContain("(nothing was cloned)");
    expect(r.attrs(1)).toEqual({ name: "fxr/app", guid: GUID });
  });

  it("a failure while the name is free keeps the pending record and prints how to finish or undo", async () => {
    const r = await run(failing(`zfs rename ${plan().tmp} fxr/app`));
    expect(r.result).toBe(false);
    expect(r.writes).toHaveLength(1);
    expect(r.attrs(0).pending_restore).toBeTruthy();
    expect(r.text).toContain("may have no dataset at its name");
    expect(r.text).toContain(`Finish the restore:\n  zfs rename ${r.plan.tmp} fxr/app\n  zfs inherit mountpoint fxr/app`);
    expect(r.text).toContain(`or put the original back:\n  zfs rename ${r.plan.aside} fxr/app\n  zfs promote fxr/app\n  zfs mount fxr/app\n  zfs destroy ${r.plan.tmp}`);
    expect(r.text).toContain("--clear-pending");
  });

  it("a failure after the rename into place still records the new GUID (read right after it)", async () => {
    const r = await run(failing("zfs inherit mountpoint"));
    expect(r.result).toBe(false);
    expect(r.text).toMatch(/zfs inherit mountpoint fxr\/app  — FAILED/);
    expect(r.text).toContain("Restored (with the failures above)");
    expect(r.attrs(1)).toEqual({ name: "fxr/app", guid: NEW_GUID });
  });

  it("a lost link is no 'reading failed': the steps answered are reported, the rest unknown, the pending record kept", async () => {
    const r = await run((key, line) => (key === "step-4" ? "cut" : ok(key, line)));
    expect(r.result).toBe(false);
    expect(r.text).toMatch(/4\. zfs rename -p .* — ran/);
    expect(r.text).toMatch(/5\. zfs rename \S+ fxr\/app  — outcome unknown \(exit 255: Connection reset by peer\)/);
    expect(r.text).toMatch(/6\. zfs get .* — outcome unknown/);
    expect(r.writes).toHaveLength(1);
    expect(r.attrs(0).pending_restore).toBeTruthy();
  });

  it("runSteps parses the sections of a batch whose exit code is not 0", async () => {
    const o = await runSteps(new ScriptedTransport("prod", (key, line) => (key === "step-2" ? "cut" : ok(key, line))), plan());
    expect(o.ran).toEqual([0, 1]);
    expect(o.unknown[0]).toBe(2);
    expect(o.lost).toMatch(/exit 255/);
  });
});

describe("a restore pending in state", () => {
  const pending = { started: NOW.toISOString(), tmp: "tank/srv/uploads-backplane-restore-X", aside: "tank/backplane-pre-restore-X/srv/uploads", finish: ["zfs rename tank/srv/uploads-backplane-restore-X tank/srv/uploads"], undo: ["zfs rename tank/backplane-pre-restore-X/srv/uploads tank/srv/uploads"] };
  it("makes the plan refuse the dataset with the finish and undo commands, and never create an empty one at the free name", () => {
    const s = seedState();
    const address = Object.keys(s.resources).find((a) => s.resources[a]!.id === "tank/srv/uploads")!;
    s.resources[address]!.attributes = { ...s.resources[address]!.attributes, pending_restore: pending };
    const prod = liveFrom("zfs-2.3-prod-seed", "prod");
    prod.datasets.delete("tank/srv/uploads"); // moved aside, not yet back: the name is free
    const p = makePlan({ stack: "seed", graph: seedGraph(), state: s, live: new Map([["prod", prod], ["dr", liveFrom("zfs-2.3-dr-seed", "dr")]]), newLineage: "x" });
    const mine = p.errors.filter((e) => e.address === address).map((e) => e.message);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain("did not finish");
    expect(mine[0]).toContain(pending.finish[0]);
    expect(mine[0]).toContain(pending.undo[0]);
    expect(p.changes.find((c) => c.address === address)!.action).toBe("noop");
  });

  it("refuses the removal of such a record too (it would drop the record as 'already gone')", () => {
    const s = seedState();
    const address = Object.keys(s.resources).find((a) => s.resources[a]!.id === "tank/srv/uploads")!;
    s.resources[address]!.attributes = { ...s.resources[address]!.attributes, pending_restore: pending };
    const prod = liveFrom("zfs-2.3-prod-seed", "prod");
    prod.datasets.delete("tank/srv/uploads");
    const ctx = contextFor(seedGraph(), s, prod, s.lineage, s.serial + 1);
    const planned = ENGINE_KINDS.get("backplane_dataset")!.planDelete(address, s.resources[address]!, ctx);
    expect(planned.errors).toEqual([expect.stringContaining("did not finish")]);
    expect(planned.change.removeFromState).not.toBe(true);
    expect(pendingRestoreProblem({ id: "tank/srv/uploads", host: "prod", attributes: {} })).toBeNull();
  });
});
