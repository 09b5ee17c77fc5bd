/**
 * `backplane snapshots DATASET` and `backplane restore DATASET --to SNAPSHOT|TIME`
 * (docs/restore.md). The I/O around the pure pieces: restore-facts.ts reads, restore.ts decides.
 */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { toDisplay } from "../model/argv.js";
import type { State } from "../model/state.js";
import type { HostConfig } from "../model/desired.js";
import { batchScript, splitSections, type BatchItem, type SectionResult } from "../engine/batch.js";
import { parseRefresh, refreshItems } from "../engine/live.js";
import { propertiesOf, snapshotsOf, type SnapshotDetail, type SnapshotForm } from "../zfs/restore-facts.js";
import { formatSize } from "../zfs/units.js";
import { datasetNameProblem } from "../zfs/names.js";
import { parseRestoreRequest, planRestore, RestoreRefused, type RestorePlan } from "../resources/restore.js";
import { closeTransports, transportsFor, type Workspace } from "./compose.js";
import type { Transport } from "../transport/transport.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

interface Common { dir: string; stack?: string; synth: boolean }
interface Locking { lock: boolean; lockTimeout: number }

/** What main.ts already has and these commands share (flags, project loading, the state lock). */
export interface CliKit {
  withCommon(c: Command): Command;
  withLocking(c: Command): Command;
  project(o: Common): Promise<Workspace>;
  withStateLock<T>(p: Workspace, o: Locking, operation: string, fn: () => Promise<T>): Promise<T>;
}

export function registerRestoreCommands(program: Command, kit: CliKit): void {
  kit.withCommon(program.command("snapshots").description("list a dataset's snapshots: creation time, used, written, holds, and which ones backplane owns"))
    .argument("<dataset>", "e.g. tank/srv/uploads")
    .option("--host <alias>", "the host (default: the one the stack declares the dataset on, or the stack's only host)")
    .option("--json", "machine-readable output")
    .action(async (dataset: string, o: Common & { host?: string; json?: boolean }) => {
      const bad = datasetNameProblem(dataset);
      if (bad) throw new Error(`${JSON.stringify(dataset)} is not a dataset name: ${bad}`);
      const p = await kit.project(o);
      const host = hostFor(p, dataset, o.host);
      const lineage = (await p.backend.read())?.lineage ?? null;
      const [t] = transportsFor([host]).values();
      try {
        const f = snapshotsOf(dataset);
        const sections = await readBatch(t!, [{ key: "snapshots", command: f.command, fallbacks: f.fallbacks }]);
        const { stdout, form } = answered(host.alias, sections, "snapshots", ["tabs", "legacy"]);
        const rows = f.parse(stdout, form as SnapshotForm);
        const ownerOf = (s: SnapshotDetail) => (s.marker === null ? null : s.marker === lineage ? `this stack (${p.stack})` : `another stack (${s.marker})`);
        if (o.json) {
          out(JSON.stringify({ host: host.alias, dataset, snapshots: rows.map((s) => ({
            name: s.name, guid: s.guid, createtxg: s.createtxg?.toString() ?? null, creation: new Date(s.creation * 1000).toISOString(),
            used: s.used.toString(), written: s.written?.toString() ?? null, holds: s.userrefs, marker: s.marker, owned_by_this_stack: s.marker !== null && s.marker === lineage,
          })) }, null, 2));
          return;
        }
        if (rows.length === 0) {
          out(`${dataset} on ${host.alias} has no snapshots.`);
          return;
        }
        out(table(["SNAPSHOT", "CREATED (UTC)", "USED", "WRITTEN", "HOLDS", "BACKPLANE"], rows.map((s) => [
          s.name, new Date(s.creation * 1000).toISOString().replace(".000Z", "Z"), formatSize(s.used), s.written === null ? "?" : formatSize(s.written), String(s.userrefs), ownerOf(s) ?? "-",
        ])));
        if (form === "legacy") out("(this host's ZFS has no createtxg or written: order by creation time, WRITTEN unknown)");
      } finally {
        await closeTransports([t!]);
      }
    });

  kit.withLocking(kit.withCommon(program.command("restore").description("bring a dataset back to a snapshot, keeping the current data and newer snapshots aside (docs/restore.md)")))
    .argument("<dataset>", "e.g. tank/srv/postgres")
    .requiredOption("--to <snapshot|time>", "a snapshot (name or dataset@name), or an ISO 8601 time with a zone: the newest snapshot created at or before it")
    .option("--host <alias>", "the host (default: the one the stack declares the dataset on, or the stack's only host)")
    .option("--dry-run", "print what would change and the commands, run nothing")
    .option("--discard", "destroy the kept-aside copy (current data and newer snapshots) after the swap; needs --allow-destroy")
    .option("--allow-destroy", "allow --discard to destroy data")
    .option("--auto-approve", "do not ask for confirmation")
    .action(async (dataset: string, o: Common & Locking & { to: string; host?: string; dryRun?: boolean; discard?: boolean; allowDestroy?: boolean; autoApprove?: boolean }) => {
      const target = parseRestoreRequest(dataset, o.to);
      if (o.discard && !o.allowDestroy) throw new RestoreRefused("--allow-destroy", "--discard destroys the current data and the newer snapshots; pass --allow-destroy too");
      const p = await kit.project(o);
      const host = hostFor(p, dataset, o.host);
      await kit.withStateLock(p, o, "restore", async () => {
        const state = await p.backend.read();
        const [t] = transportsFor([host]).values();
        try {
          const plan = await readAndPlan(t!, host, dataset, target, state, { discard: o.discard === true, allowDestroy: o.allowDestroy === true });
          for (const line of describe(plan, host.alias)) out(line);
          if (o.dryRun) return;
          if (!(await confirm(`Restore ${dataset} on ${host.alias} to ${plan.target.name}?`, o.autoApprove === true))) {
            out("Restore cancelled.");
            process.exitCode = 1;
            return;
          }
          const guid = await runSteps(t!, plan);
          await recordNewGuid(p, state, host.alias, dataset, guid);
          out(`\nRestore complete: ${dataset} on ${host.alias} is at ${plan.target.name}.`);
          if (!plan.discard) {
            out(`The data it replaced is at ${plan.aside}. To undo:\n${plan.undo.map((c) => `  ${toDisplay(c)}`).join("\n")}`);
            out("and then re-record the original object in state: backplane state rm ADDRESS; backplane import ADDRESS " + dataset + " (docs/restore.md)");
          }
        } finally {
          await closeTransports([t!]);
        }
      });
    });
}

/** The host a dataset is on: --host, else the host the stack declares it on, else the stack's only host. */
function hostFor(p: Workspace, dataset: string, alias: string | undefined): HostConfig {
  if (alias) {
    const h = p.graph.hosts.get(alias);
    if (!h) throw new Error(`--host ${alias}: stack ${p.stack} has no such host (it has ${[...p.graph.hosts.keys()].join(", ")})`);
    return h;
  }
  const declared = new Set([...p.graph.resources.values()].filter((r) => r.config.name === dataset).map((r) => r.host));
  if (declared.size === 1) return p.graph.hosts.get([...declared][0]!)!;
  if (p.graph.hosts.size === 1) return [...p.graph.hosts.values()][0]!;
  throw new Error(`name the host with --host (stack ${p.stack} has ${[...p.graph.hosts.keys()].join(", ")}${declared.size > 1 ? `; ${dataset} is declared on ${[...declared].join(", ")}` : ""})`);
}

async function readBatch(t: Transport, items: BatchItem[]): Promise<Map<string, SectionResult>> {
  const nonce = randomBytes(8).toString("hex");
  const r = await t.script(batchScript(items, nonce));
  if (r.exitCode !== 0) throw new Error(`${t.host}: reading failed: exit ${r.exitCode}: ${r.stderr.trim()}`);
  return splitSections(r.stdout, nonce);
}

/** The output of the first form the host answered (the JSON command, or a fallback). */
function answered(host: string, sections: Map<string, SectionResult>, key: string, fallbacks: string[]): { stdout: string; form: string } {
  const tried: string[] = [];
  for (const [k, form] of [[key, "json"], ...fallbacks.map((f) => [`${key}.${f}`, f])] as const) {
    const s = sections.get(k);
    if (!s) break;
    if (s.exitCode === 0) return { stdout: s.stdout, form };
    tried.push(`${form}: ${s.stderr.trim().split("\n")[0]}`);
  }
  throw new Error(`${host}: reading ${key} failed (${tried.join("; ")})`);
}

/** One round trip: the host's refresh (names, origins, markers) and the dataset's own facts. */
async function readAndPlan(t: Transport, host: HostConfig, dataset: string, target: ReturnType<typeof parseRestoreRequest>, state: State | null, o: { discard: boolean; allowDestroy: boolean }): Promise<RestorePlan> {
  const snaps = snapshotsOf(dataset);
  const props = propertiesOf(dataset);
  const sections = await readBatch(t, [
    ...refreshItems([]),
    { key: "restore-snapshots", command: snaps.command, fallbacks: snaps.fallbacks },
    { key: "restore-properties", command: props.command, fallbacks: props.fallbacks },
  ]);
  const live = parseRefresh(host.alias, sections, []);
  if (!live.datasets.has(dataset)) throw new RestoreRefused("exists", `${dataset} does not exist on ${host.alias}`);
  const s = answered(host.alias, sections, "restore-snapshots", ["tabs", "legacy"]);
  const pr = answered(host.alias, sections, "restore-properties", ["tabs"]);
  return planRestore({
    host: host.alias, dataset, target, lineage: state?.lineage ?? null, live,
    snapshots: snaps.parse(s.stdout, s.form as SnapshotForm), properties: props.parse(pr.stdout, pr.form as "json" | "tabs"),
    now: new Date(), discard: o.discard, allowDestroy: o.allowDestroy,
  });
}

function describe(plan: RestorePlan, host: string): string[] {
  const size = (b: bigint | null) => (b === null ? "unknown (this host's ZFS has no 'written')" : `${b} bytes (${formatSize(b)})`);
  const lines = [`${plan.dataset} on ${host} will be restored to ${plan.target.name} (created ${new Date(plan.target.creation * 1000).toISOString()}).`, ""];
  if (plan.newer.length === 0) lines.push("No snapshot is newer than the target.");
  else {
    lines.push(`Snapshots newer than the target (${plan.newer.length}):`);
    lines.push(...table(["SNAPSHOT", "CREATED (UTC)", "USED", "WRITTEN", "HOLDS"], plan.newer.map((s) => [s.name, new Date(s.creation * 1000).toISOString().replace(".000Z", "Z"), formatSize(s.used), s.written === null ? "?" : formatSize(s.written), String(s.userrefs)])).split("\n").map((l) => `  ${l}`));
  }
  lines.push(`Written since the newest snapshot: ${size(plan.headWritten)}`);
  lines.push(`Written since the target (what a rollback would lose): ${size(plan.writtenSinceTarget)}`);
  lines.push(plan.discard
    ? `! --discard: the current data and the newer snapshots will be DESTROYED after the swap (--allow-destroy given).`
    : `Nothing is lost: the current data and the newer snapshots are kept aside at ${plan.aside}.`);
  lines.push("", "Steps:", ...plan.steps.map((s, i) => `  ${i + 1}. ${toDisplay(s.command)}`));
  return lines;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

async function confirm(question: string, auto: boolean): Promise<boolean> {
  if (auto) return true;
  if (!process.stdin.isTTY) throw new Error("refusing to restore without confirmation: not a terminal; pass --auto-approve");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const a = await rl.question(`\n${question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `);
  rl.close();
  return a.trim() === "yes";
}

/** Runs the steps in one round trip, stopping at the first failure; returns the restored dataset's GUID. */
async function runSteps(t: Transport, plan: RestorePlan): Promise<string> {
  const items = plan.steps.map((s, i) => ({ key: `step-${i}`, command: s.command, stopOnError: true }));
  const sections = await readBatch(t, items);
  let guid = "";
  for (const [i, s] of plan.steps.entries()) {
    const r = sections.get(`step-${i}`);
    if (!r) throw new Error(`restore stopped before step ${i + 1} (${toDisplay(s.command)}): no answer from the host; check with: backplane snapshots ${plan.dataset}`);
    if (r.exitCode !== 0) {
      const done = plan.steps.slice(0, i).map((x) => `  ${toDisplay(x.command)}`).join("\n") || "  (nothing)";
      throw new Error(`restore failed at step ${i + 1}: ${toDisplay(s.command)}: ${r.stderr.trim()}\ndone before it:\n${done}\n(docs/restore.md says how to finish or undo a partial restore)`);
    }
    out(`${s.label}: ${toDisplay(s.command)}`);
    if (s.captures === "guid") guid = r.stdout.trim();
  }
  return guid;
}

/** The restored dataset is a new object: the record of it gets its GUID, or the next plan would refuse it as "not the recorded object". */
async function recordNewGuid(p: Workspace, state: State | null, host: string, dataset: string, guid: string): Promise<void> {
  if (!state || !/^\d+$/.test(guid)) return;
  const records = Object.values(state.resources).filter((r) => r.host === host && r.id === dataset);
  if (records.length === 0) return;
  const expected = state.serial;
  for (const r of records) r.attributes = { ...r.attributes, guid };
  state.serial = expected + 1;
  await p.backend.write(state, expected);
}
