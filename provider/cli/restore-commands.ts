/**
 * `backplane snapshots DATASET` and `backplane restore DATASET --to SNAPSHOT|TIME`
 * (docs/restore.md). The I/O around the pure pieces: restore-facts.ts reads, restore.ts decides.
 */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { argv, toDisplay } from "../model/argv.js";
import type { State } from "../model/state.js";
import type { HostConfig } from "../model/desired.js";
import { batchScript, splitSections, type BatchItem, type SectionResult } from "../engine/batch.js";
import { parseRefresh, refreshItems } from "../engine/live.js";
import { propertiesOf, snapshotsOf, type SnapshotDetail, type SnapshotForm } from "../zfs/restore-facts.js";
import { formatSize } from "../zfs/units.js";
import { datasetNameProblem } from "../zfs/names.js";
import { parseRestoreRequest, pendingRecord, planRestore, restoreChanged, RestoreRefused, type RestorePlan, type RestoreRecord } from "../resources/restore.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import { closeTransports, transportsFor, type Workspace } from "./compose.js";
import type { Transport } from "../transport/transport.js";
import { hostSaid } from "../model/echo.js";

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
        const owner = (s: SnapshotDetail) => ownerOf(s, lineage, p.stack);
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
          s.name, new Date(s.creation * 1000).toISOString().replace(".000Z", "Z"), formatSize(s.used), s.written === null ? "?" : formatSize(s.written), String(s.userrefs), owner(s) ?? "-",
        ])));
        if (form === "legacy") out("(this host's ZFS has no createtxg or written: order by creation time, WRITTEN unknown)");
      } finally {
        await closeTransports([t!]);
      }
    });

  kit.withLocking(kit.withCommon(program.command("restore").description("bring a dataset back to a snapshot, keeping the current data and newer snapshots aside (docs/restore.md)")))
    .argument("<dataset>", "e.g. tank/srv/postgres")
    .option("--to <snapshot|time>", "a snapshot (name or dataset@name), or an ISO 8601 time with a zone: the newest snapshot created at or before it")
    .option("--host <alias>", "the host (default: the one the stack declares the dataset on, or the stack's only host)")
    .option("--dry-run", "print what would change and the commands, run nothing")
    .option("--discard", "destroy the kept-aside copy (current data and newer snapshots) after the swap; needs --allow-destroy")
    .option("--allow-destroy", "allow --discard to destroy data")
    .option("--auto-approve", "do not ask for confirmation")
    .option("--clear-pending", "after finishing or undoing a restore that stopped half way by hand: record what is at the name now and clear the pending-restore record")
    .action(async (dataset: string, o: Common & Locking & { to?: string; host?: string; dryRun?: boolean; discard?: boolean; allowDestroy?: boolean; autoApprove?: boolean; clearPending?: boolean }) => {
      if (o.clearPending) {
        const p = await kit.project(o);
        const host = hostFor(p, dataset, o.host);
        await kit.withStateLock(p, o, "restore", async () => {
          const [t] = transportsFor([host]).values();
          try {
            await clearPending(t!, host, dataset, p);
          } finally {
            await closeTransports([t!]);
          }
        });
        return;
      }
      if (o.to === undefined) throw new Error("restore needs --to <snapshot|time> (or --clear-pending)");
      const target = parseRestoreRequest(dataset, o.to);
      if (o.discard && !o.allowDestroy) throw new RestoreRefused("--allow-destroy", "--discard destroys the current data and the newer snapshots; pass --allow-destroy too");
      const p = await kit.project(o);
      const host = hostFor(p, dataset, o.host);
      await kit.withStateLock(p, o, "restore", async () => {
        const state = await p.backend.read();
        const [t] = transportsFor([host]).values();
        const now = new Date();
        const opts = { discard: o.discard === true, allowDestroy: o.allowDestroy === true };
        try {
          const plan = await readAndPlan(t!, host, dataset, target, state, opts, now);
          for (const line of describe(plan, host.alias, state?.lineage ?? null, p.stack)) out(line);
          if (o.dryRun) return;
          if (!(await confirm(`Restore ${dataset} on ${host.alias} to ${plan.target.name}?`, o.autoApprove === true))) {
            out("Restore cancelled.");
            process.exitCode = 1;
            return;
          }
          // what was read before the prompt may have changed while it waited: read again
          const again = await readAndPlan(t!, host, dataset, target, state, opts, now);
          const changed = restoreChanged(plan, again);
          if (changed) throw new RestoreRefused("unchanged since the plan", `${changed} since the plan was printed; nothing was run — run again`);
          const ok = await executeRestore(t!, again, { state: state!, host: host.alias, now, out, write: (s, expected) => p.backend.write(s, expected) });
          if (!ok) process.exitCode = 1;
        } finally {
          await closeTransports([t!]);
        }
      });
    });
}

/** Whose a snapshot is, by the marker set on it: this stack, another, or nobody's (null). */
function ownerOf(s: SnapshotDetail, lineage: string | null, stack: string): string | null {
  return s.marker === null ? null : s.marker === lineage ? `this stack (${stack})` : `another stack (${s.marker})`;
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
  const r = await runBatch(t, items);
  if (r.exitCode !== 0) throw new Error(`${t.host}: reading failed: exit ${r.exitCode}: ${hostSaid(r.stderr)}`);
  return r.sections;
}

/** One round trip; the sections are parsed whatever the exit code (a lost link still says what ran). */
async function runBatch(t: Transport, items: BatchItem[]): Promise<{ sections: Map<string, SectionResult>; exitCode: number; stderr: string }> {
  const nonce = randomBytes(8).toString("hex");
  const r = await t.script(batchScript(items, nonce));
  return { sections: splitSections(r.stdout, nonce), exitCode: r.exitCode, stderr: r.stderr };
}

/** The output of the first form the host answered (the JSON command, or a fallback). */
function answered(host: string, sections: Map<string, SectionResult>, key: string, fallbacks: string[]): { stdout: string; form: string } {
  const tried: string[] = [];
  for (const [k, form] of [[key, "json"], ...fallbacks.map((f) => [`${key}.${f}`, f])] as const) {
    const s = sections.get(k);
    if (!s) break;
    if (s.exitCode === 0) return { stdout: s.stdout, form };
    tried.push(`${form}: ${hostSaid(s.stderr.trim().split("\n")[0] ?? "")}`);
  }
  throw new Error(`${host}: reading ${key} failed (${tried.join("; ")})`);
}

/** The dataset's records in state on the host, with their GUID and any pending restore. */
export function recordsOf(state: State | null, host: string, dataset: string): RestoreRecord[] {
  return Object.entries(state?.resources ?? {}).filter(([, r]) => r.host === host && r.id === dataset)
    .map(([address, r]) => ({ address, guid: typeof r.attributes.guid === "string" ? r.attributes.guid : null, pending: r.attributes.pending_restore ?? null }));
}

/** One round trip: the host's refresh (names, origins, markers) and the dataset's own facts. */
async function readAndPlan(t: Transport, host: HostConfig, dataset: string, target: ReturnType<typeof parseRestoreRequest>, state: State | null, o: { discard: boolean; allowDestroy: boolean }, now: Date): Promise<RestorePlan> {
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
    host: host.alias, dataset, target, lineage: state?.lineage ?? null, live, records: recordsOf(state, host.alias, dataset),
    snapshots: snaps.parse(s.stdout, s.form as SnapshotForm), properties: props.parse(pr.stdout, pr.form as "json" | "tabs"),
    now, discard: o.discard, allowDestroy: o.allowDestroy,
  });
}

export function describe(plan: RestorePlan, host: string, lineage: string | null, stack: string): string[] {
  const size = (b: bigint | null) => (b === null ? "unknown (this host's ZFS has no 'written')" : `${b} bytes (${formatSize(b)})`);
  const lines = [`${plan.dataset} on ${host} will be restored to ${plan.target.name} (created ${new Date(plan.target.creation * 1000).toISOString()}).`, ""];
  if (plan.newer.length === 0) lines.push("No snapshot is newer than the target.");
  else {
    lines.push(`Snapshots newer than the target (${plan.newer.length}):`);
    lines.push(...table(["SNAPSHOT", "CREATED (UTC)", "USED", "WRITTEN", "HOLDS", "BACKPLANE"], plan.newer.map((s) => [s.name, new Date(s.creation * 1000).toISOString().replace(".000Z", "Z"), formatSize(s.used), s.written === null ? "?" : formatSize(s.written), String(s.userrefs), ownerOf(s, lineage, stack) ?? "-"])).split("\n").map((l) => `  ${l}`));
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

/** What one run of the steps did, step by step (the index of each in plan.steps). */
export interface StepsOutcome {
  ran: number[];
  /** the step that failed, with what it printed on stderr */
  failed: { index: number; stderr: string } | null;
  /** steps whose outcome nobody knows: the host's answer stopped before their end (a lost link) */
  unknown: number[];
  notRun: number[];
  /** the restored dataset's GUID, when the read after the rename into place answered */
  guid: string | null;
  /** why the answer stopped, when it did */
  lost: string | null;
}

/** Runs the steps in one round trip, stopping at the first failure; never throws for a step: says which ran. */
export async function runSteps(t: Transport, plan: RestorePlan): Promise<StepsOutcome> {
  const items = plan.steps.map((s, i) => ({ key: `step-${i}`, command: s.command, stopOnError: true }));
  let sections = new Map<string, SectionResult>();
  let lost: string | null = null;
  try {
    const r = await runBatch(t, items);
    sections = r.sections;
    if (r.exitCode !== 0) lost = `exit ${r.exitCode}${r.stderr.trim() ? `: ${hostSaid(r.stderr)}` : ""}`;
  } catch (e) {
    lost = (e as Error).message;
  }
  const o: StepsOutcome = { ran: [], failed: null, unknown: [], notRun: [], guid: null, lost };
  for (const [i, s] of plan.steps.entries()) {
    const r = sections.get(`step-${i}`);
    if (o.failed) o.notRun.push(i);
    // after a lost link a later step may still have run on the host: unknown too
    else if (o.unknown.length > 0) o.unknown.push(i);
    else if (!r) {
      // the batch stops only after a failure it reported: a missing section with no failure before is unknown
      if (lost === null) lost = "the host's answer ended early";
      o.unknown.push(i);
    } else if (r.exitCode !== 0) o.failed = { index: i, stderr: r.stderr.trim() };
    else {
      o.ran.push(i);
      if (s.captures === "guid" && /^\d+$/.test(r.stdout.trim())) o.guid = r.stdout.trim();
    }
  }
  return o;
}

/** Each step with what became of it, for the operator. */
export function stepReport(plan: RestorePlan, o: StepsOutcome): string[] {
  return plan.steps.map((s, i) => {
    const how = o.ran.includes(i) ? "ran" : o.failed?.index === i ? `FAILED: ${hostSaid(o.failed.stderr) || "(no message)"}` : o.unknown.includes(i) ? `outcome unknown (${o.lost ?? "no answer"})` : "did not run";
    return `  ${i + 1}. ${toDisplay(s.command)}  — ${how}`;
  });
}

interface ExecuteIo {
  state: State;
  host: string;
  now: Date;
  out(line: string): void;
  /** writes state (the backend's compare-and-swap on the serial) */
  write(state: State, expected: number): Promise<void>;
}

/**
 * Runs a confirmed restore: the pending-restore record first (the name is free between the
 * move aside and the move into place), the steps, a compensation when it stopped before the
 * move aside, then state. Prints what ran, the undo and where the data is BEFORE writing state.
 * Returns whether every step succeeded.
 */
export async function executeRestore(t: Transport, plan: RestorePlan, io: ExecuteIo): Promise<boolean> {
  const { state, out } = io;
  const records = Object.values(state.resources).filter((r) => r.host === io.host && r.id === plan.dataset);
  const pending = pendingRecord(plan, io.now, toDisplay);
  const save = async (change: (attributes: Record<string, unknown>) => Record<string, unknown>) => {
    const expected = state.serial;
    for (const r of records) r.attributes = change(r.attributes);
    state.serial = expected + 1;
    await io.write(state, expected);
  };
  await save((a) => ({ ...a, pending_restore: pending }));

  const o = await runSteps(t, plan);
  const inPlace = o.ran.includes(plan.at.inPlace);
  const aside = o.ran.includes(plan.at.aside);
  const asideUnsure = o.unknown.includes(plan.at.aside) || o.unknown.includes(plan.at.inPlace) || (aside && !inPlace);
  const complete = o.failed === null && o.unknown.length === 0;
  if (complete) for (const s of plan.steps) out(`${s.label}: ${toDisplay(s.command)}`);
  else out(["", `Restore of ${plan.dataset} on ${io.host} stopped:`, ...stepReport(plan, o)].join("\n"));

  if (!complete && !aside && !asideUnsure) {
    // stopped before the move aside: the dataset is still at its name, perhaps unmounted
    const lastRan = o.ran.length ? Math.max(...o.ran) : -1;
    const recover = plan.recover(lastRan);
    if (plan.mounted && o.ran.includes(plan.at.unmount ?? -1)) {
      const again = await runBatch(t, [{ key: "remount", command: argv("zfs", "mount", plan.dataset) }]).catch(() => null);
      const ok = again?.sections.get("remount")?.exitCode === 0;
      out(ok ? `Mounted ${plan.dataset} again (zfs mount ${plan.dataset}).` : `! ${plan.dataset} could not be mounted again; it is unmounted.`);
    }
    out(`${plan.dataset} is still the original object. To remove what the restore made, then make sure it is mounted:\n${recover.map((c) => `  ${toDisplay(c)}`).join("\n")}${lastRan >= plan.at.clone ? "" : "\n  (nothing was cloned)"}`);
    if (o.failed?.index === plan.at.aside || o.unknown.length > 0) out(`If ${plan.asideAncestors.join(", ")} exist${plan.asideAncestors.length === 1 ? "s" : ""} (empty, made by rename -p), destroy ${plan.asideAncestors.length === 1 ? "it" : "them, deepest first"}: ${plan.asideAncestors.map((a) => `zfs destroy ${a}`).join("; ")}`);
  } else if (!inPlace) {
    // the name may be free: the pending record stays, and says how to finish or undo
    out(`! ${plan.dataset} may have no dataset at its name now: the current data is at ${plan.aside}, the restored copy at ${plan.tmp}.`);
    out(`Finish the restore:\n${plan.finish.map((c) => `  ${toDisplay(c)}`).join("\n")}`);
    out(`or put the original back:\n${plan.backOut.map((c) => `  ${toDisplay(c)}`).join("\n")}`);
    out(`then: backplane restore ${plan.dataset} --clear-pending. Until then backplane plan refuses ${plan.dataset} (an apply would create an empty dataset at its name).`);
  } else {
    // in place: the restored data has the name; what failed after it is said above
    out(`\n${complete ? "Restore complete" : "Restored (with the failures above)"}: ${plan.dataset} on ${io.host} is at ${plan.target.name}.`);
    const discarded = plan.discard && o.ran.includes(plan.steps.findIndex((s) => s.label === "Discarding the kept-aside copy"));
    if (!discarded) {
      out(`The data it replaced is at ${plan.aside}. To undo:\n${plan.undo.map((c) => `  ${toDisplay(c)}`).join("\n")}`);
      out(`The restored copy is then at ${plan.tmp}. Only if what was written to it since the restore is not wanted (this loses it; it fails while it has snapshots):\n${plan.undoCleanup.map((c) => `  ${toDisplay(c)}`).join("\n")}`);
      out("and then re-record the original object in state: backplane state rm ADDRESS; backplane import ADDRESS " + plan.dataset + " (docs/restore.md)");
    }
    if (!o.guid) out(`! the restored dataset's GUID was not read: run backplane restore ${plan.dataset} --clear-pending to record it.`);
  }

  // state: the new GUID once it is in place; the pending record cleared when the name is surely taken
  if (inPlace && o.guid) await save((a) => withoutPending({ ...a, guid: o.guid }));
  else if (!aside && !asideUnsure) await save(withoutPending);
  return complete;
}

function withoutPending(a: Record<string, unknown>): Record<string, unknown> {
  const { pending_restore: _, ...rest } = a;
  return rest;
}

/** After a restore stopped half way was finished or undone by hand: record what is at the name, clear the pending record. */
async function clearPending(t: Transport, host: HostConfig, dataset: string, p: Workspace): Promise<void> {
  const state = await p.backend.read();
  const records = Object.values(state?.resources ?? {}).filter((r) => r.host === host.alias && r.id === dataset && r.attributes.pending_restore);
  if (!state || records.length === 0) {
    out(`${dataset} on ${host.alias} has no pending restore in state.`);
    return;
  }
  const live = parseRefresh(host.alias, await readBatch(t, refreshItems([])), []);
  const row = live.datasets.get(dataset);
  if (!row) throw new RestoreRefused("exists", `${dataset} does not exist on ${host.alias}: finish or undo the restore first (backplane plan prints the commands)`);
  const marker = row.get(MANAGED_PROPERTY);
  if (marker?.source.kind !== "local" || marker.value !== state.lineage) throw new RestoreRefused("ownership", `${dataset} on ${host.alias} does not carry this stack's marker: it is not what the restore put there`);
  const pending = records[0]!.attributes.pending_restore as { tmp?: string };
  if (pending.tmp && live.datasets.has(pending.tmp)) out(`(${pending.tmp} still exists: the restored copy was not moved into place, or is kept after an undo)`);
  const guid = row.get("guid")?.value;
  const expected = state.serial;
  for (const r of records) r.attributes = withoutPending({ ...r.attributes, ...(guid ? { guid } : {}) });
  state.serial = expected + 1;
  await p.backend.write(state, expected);
  out(`Cleared the pending restore of ${dataset} on ${host.alias}; state records the object now at its name (guid ${guid}).`);
}
