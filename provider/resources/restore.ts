/**
 * `backplane restore`: bring a dataset back to one of its snapshots WITHOUT losing what it
 * replaces. Pure: decides from what was read and returns the steps (argv) and the undo.
 *
 * Why not `zfs rollback -r`: it destroys every newer snapshot, and a safety snapshot taken
 * first is one of them. Instead (docs/restore.md):
 *   1. zfs clone -o mountpoint=none -o <every local or received property> DATASET@target TMP
 *   2. zfs promote TMP            (TMP takes the snapshots up to @target; DATASET becomes a
 *                                  clone of TMP@target holding only the newer ones)
 *   3. zfs rename -p DATASET ASIDE (the current data, with its newer snapshots, kept aside)
 *   4. zfs rename TMP DATASET, and its new GUID read at once (state records it even if a
 *      later step fails)
 *   5. mountpoint back as it was (inherit, or the local/received value): this mounts it
 *      (`zfs mount` too when canmount=noauto and it was mounted).
 * The unmount comes first, so a busy dataset stops the restore before anything changed.
 * Between 3 and 4 the name is free: the CLI writes a pending-restore record into the
 * dataset's state record first, and the dataset planners refuse while it is set
 * (pendingRestoreProblem).
 */
import { argv, type Argv } from "../model/argv.js";
import type { HostLive, PropertyValue } from "../model/live.js";
import type { Step } from "../model/plan.js";
import { datasetNameProblem, poolOf, snapshotComponentProblem, snapshotNameProblem } from "../zfs/names.js";
import { guidMismatch } from "./zfs-common.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import type { SnapshotDetail } from "../zfs/restore-facts.js";

/** A refusal naming the rule it keeps; raised before any command reaches the host. */
export class RestoreRefused extends Error {
  constructor(readonly rule: string, detail: string) {
    super(`restore refused (${rule}): ${detail}`);
    this.name = "RestoreRefused";
  }
}

/** What `--to` asked for: a snapshot by name, or the newest snapshot at or before a time. */
export type RestoreTarget = { snapshot: string } | { time: Date; text: string };

// ISO 8601 with a date and a time; a zone is required so the instant is not the reader's guess
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks the operator's words before anything is read: the dataset's name and `--to`. */
export function parseRestoreRequest(dataset: string, to: string): RestoreTarget {
  const bad = datasetNameProblem(dataset);
  if (bad) throw new RestoreRefused("dataset name", `${JSON.stringify(dataset)}: ${bad}`);
  if (/^\d{4}-\d{2}-\d{2}T/.test(to)) {
    const time = new Date(to);
    if (!ISO.test(to) || Number.isNaN(time.getTime())) throw new RestoreRefused("--to", `${JSON.stringify(to)} is not an ISO 8601 time with a zone (e.g. 2026-11-26T08:00:00Z)`);
    // Date rolls 2026-02-30 over to March 2nd: the fields must come back as they were written
    const bad = invalidTimeField(to);
    if (bad) throw new RestoreRefused("--to", `${JSON.stringify(to)} is not a valid time: ${bad}`);
    return { time, text: to };
  }
  if (to.includes("@")) {
    const p = snapshotNameProblem(to);
    if (p) throw new RestoreRefused("--to", `${JSON.stringify(to)}: ${p}`);
    if (to.slice(0, to.indexOf("@")) !== dataset) throw new RestoreRefused("--to", `${to} is not a snapshot of ${dataset}`);
    return { snapshot: to.slice(to.indexOf("@") + 1) };
  }
  const p = snapshotComponentProblem(to);
  if (p) throw new RestoreRefused("--to", `${JSON.stringify(to)}: ${p}`);
  return { snapshot: to };
}

/** Why the fields of an ISO time (already matching ISO) are no real instant, or null. */
function invalidTimeField(text: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/.exec(text)!;
  const [y, mo, d, h, mi, sec = "0", oh = "0", om = "0"] = m.slice(1).map((x) => x ?? undefined) as string[];
  const n = (x: string | undefined) => Number(x ?? 0);
  const back = new Date(Date.UTC(n(y), n(mo) - 1, n(d), n(h), n(mi), n(sec)));
  if (back.getUTCFullYear() !== n(y) || back.getUTCMonth() !== n(mo) - 1 || back.getUTCDate() !== n(d)) return `${y}-${mo}-${d} is no date`;
  if (back.getUTCHours() !== n(h) || back.getUTCMinutes() !== n(mi) || back.getUTCSeconds() !== n(sec)) return `${h}:${mi}:${sec.padStart(2, "0")} is no time of day`;
  if (n(oh) > 23 || n(om) > 59) return `the zone offset ${oh}:${om} is out of range`;
  return null;
}

/** A record of the dataset in state (backplane_dataset or backplane_clone on the host). */
export interface RestoreRecord {
  address: string;
  /** the GUID state recorded (null: none recorded) */
  guid: string | null;
  /** a restore that did not finish (PendingRestore), if any */
  pending: unknown;
}

export interface RestoreInput {
  host: string;
  dataset: string;
  target: RestoreTarget;
  /** this stack's lineage (null: the stack has no state, so it owns nothing) */
  lineage: string | null;
  /** the records of the dataset in state: their GUID must be the dataset's, and none pending */
  records: readonly RestoreRecord[];
  /** the refresh of the host: names, origins, markers (read so no value can forge them) */
  live: HostLive;
  /** the dataset's snapshots, oldest first (restore-facts.ts snapshotsOf) */
  snapshots: readonly SnapshotDetail[];
  /** every property of the dataset with its source (restore-facts.ts propertiesOf) */
  properties: ReadonlyMap<string, PropertyValue>;
  /** names the kept-aside copy */
  now: Date;
  /** destroy the kept-aside copy after the swap (needs allowDestroy) */
  discard: boolean;
  allowDestroy: boolean;
}

export interface RestorePlan {
  dataset: string;
  /** the dataset's GUID when it was read (the object the steps act on) */
  guid: string;
  /** it was mounted when read */
  mounted: boolean;
  target: SnapshotDetail;
  /** the snapshots newer than the target: they move to `aside` with the current data */
  newer: SnapshotDetail[];
  /** bytes written to the dataset since its newest snapshot (null: the host cannot say) */
  headWritten: bigint | null;
  /** bytes written since the target: the newer snapshots' `written` plus headWritten (null: unknown) */
  writtenSinceTarget: bigint | null;
  tmp: string;
  /** where the current data is kept (or, with discard, destroyed after the swap) */
  aside: string;
  /** the datasets `zfs rename -p` creates above `aside`, deepest first (none exists before) */
  asideAncestors: string[];
  discard: boolean;
  steps: Step[];
  /** indexes into steps: the clone, the promote, the move aside, the move into place */
  at: { unmount: number | null; clone: number; promote: number; aside: number; inPlace: number; guid: number };
  /** the commands that undo the restore (not run; printed and documented) */
  undo: Argv[];
  /** run after the undo only when the restored copy is not wanted: loses what was written to it since the restore */
  undoCleanup: Argv[];
  /** after the move aside and before the move into place (the name is free): the commands that finish the restore */
  finish: Argv[];
  /** … and the commands that put the original back instead */
  backOut: Argv[];
  /** a stopped restore before the move aside: what puts the dataset back as it was (by the step that ran last) */
  recover(lastRan: number): Argv[];
}

/** What state holds about a restore while it runs: the dataset planners refuse while it is set. */
export interface PendingRestore {
  started: string;
  tmp: string;
  aside: string;
  finish: string[];
  undo: string[];
}

/** The record written into the dataset's state record(s) before any step runs (docs/restore.md). */
export function pendingRecord(plan: RestorePlan, now: Date, display: (a: Argv) => string): PendingRestore {
  return { started: now.toISOString(), tmp: plan.tmp, aside: plan.aside, finish: plan.finish.map(display), undo: plan.backOut.map(display) };
}

/**
 * The error a dataset/clone planner gives while a restore of its object has not finished: the
 * name may be free (the current data moved aside, the restored one not yet in place), and an
 * apply would create an EMPTY dataset there.
 */
export function pendingRestoreProblem(state: { id: string; host: string; attributes: Record<string, unknown> } | undefined): string | null {
  const p = state?.attributes.pending_restore as Partial<PendingRestore> | undefined;
  if (!p || typeof p !== "object") return null;
  const list = (x: unknown) => (Array.isArray(x) ? x.map((c) => `    ${String(c)}`).join("\n") : "    (not recorded)");
  return `${state!.id} on ${state!.host}: a restore started ${String(p.started)} did not finish (the current data may be at ${String(p.aside)}, the restored copy at ${String(p.tmp)}); backplane changes nothing here until it is resolved. Finish it with:\n${list(p.finish)}\nor put the original back with:\n${list(p.undo)}\nthen: backplane restore ${state!.id} --clear-pending (docs/restore.md)`;
}

/** UTC, to the second, in a form a ZFS name component allows: 20261126T081530Z. */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

export function planRestore(i: RestoreInput): RestorePlan {
  const { dataset, live } = i;
  const pool = poolOf(dataset);
  const refuse = (rule: string, detail: string): never => {
    throw new RestoreRefused(rule, detail);
  };
  const row = live.datasets.get(dataset);
  if (!row) refuse("exists", `${dataset} does not exist on ${i.host}`);
  if (dataset === pool) refuse("pool root", `${dataset} is the root dataset of pool ${pool}: it cannot be renamed, so it cannot be restored this way`);
  // Ownership: restore replaces the object state records (its GUID changes) and moves the
  // current one aside, so it is done only to datasets this stack manages (docs/ownership.md).
  const marker = row!.get(MANAGED_PROPERTY);
  const owner = marker?.source.kind === "local" && marker.value !== "-" ? marker.value : null;
  if (i.lineage === null || owner !== i.lineage) {
    refuse("ownership", owner
      ? `${dataset} on ${i.host} belongs to another stack (backplane:managed=${owner}); backplane restores only what this stack manages`
      : `${dataset} on ${i.host} is not managed by this stack (no local backplane:managed marker of its lineage); adopt it first with backplane import, or restore it by hand (docs/restore.md)`);
  }
  // the same marker in the dataset's own read, or the two reads disagree (changed between them, or a forged row)
  const ownRead = i.properties.get(MANAGED_PROPERTY);
  if (ownRead?.source.kind !== "local" || ownRead.value !== owner) refuse("consistent read", `${dataset}'s marker differs between the two reads; run again`);
  // State: the record(s) of this object. Without one nothing guards the moment the name is
  // free (an apply would create an empty dataset there); with another GUID it is not the
  // object backplane recorded (as every kind refuses: zfs-common.ts guidMismatch).
  const guid = row!.get("guid")?.value ?? "";
  if (i.records.length === 0) refuse("recorded", `${dataset} on ${i.host} carries this stack's marker but no record in state; adopt it first with backplane import ADDRESS ${dataset}`);
  const pending = i.records.filter((r) => r.pending).map((r) => r.address);
  if (pending.length > 0) refuse("no restore pending", `${pending.join(", ")} ${pending.length === 1 ? "has" : "have"} a restore that did not finish; finish or undo it (backplane plan prints the commands), then backplane restore ${dataset} --clear-pending`);
  for (const r of i.records) {
    const mismatch = guidMismatch({ type: "", host: i.host, id: dataset, attributes: r.guid === null ? {} : { guid: r.guid } }, guid);
    if (mismatch) refuse("recorded object", mismatch.replace("ADDRESS", r.address));
  }
  const type = i.properties.get("type")?.value;
  if (type !== "filesystem") refuse("filesystems only", `${dataset} is a ${type ?? "dataset of unknown type"}; restore handles filesystems (a volume has no mountpoint to swap)`);
  const encryption = i.properties.get("encryption")?.value;
  if (encryption !== undefined && encryption !== "off") refuse("not encrypted", `${dataset} is encrypted (${encryption}): a clone shares its origin's encryption root, and the swap is not tested for that yet; restore it by hand (docs/restore.md)`);
  const children = [...live.datasets.keys()].filter((n) => n.startsWith(`${dataset}/`)).sort();
  if (children.length > 0) refuse("no child datasets", `${dataset} has child datasets (${children.join(", ")}); a restore would leave them under the kept-aside copy or orphan their mountpoints — restore each dataset on its own after moving the children`);

  if (i.properties.get("guid") && i.properties.get("guid")!.value !== guid) refuse("consistent read", `${dataset}'s guid differs between the two reads; run again`);

  const target = findTarget(i);
  const at = i.snapshots.indexOf(target);
  const newer = i.snapshots.slice(at + 1);
  const newerNames = new Set(newer.map((s) => s.name));
  const clones = [...live.datasets].filter(([, p]) => newerNames.has(p.get("origin")?.value ?? "")).map(([n, p]) => `${n} (clone of ${p.get("origin")!.value})`).sort();
  if (clones.length > 0) refuse("no clones of newer snapshots", `${clones.join(", ")} depend on snapshots newer than ${target.name}; destroy or promote them first`);
  if (i.discard && !i.allowDestroy) refuse("--allow-destroy", `--discard destroys the current data of ${dataset} and ${newer.length} newer snapshot${newer.length === 1 ? "" : "s"}; pass --allow-destroy too`);
  const held = newer.filter((s) => s.userrefs > 0).map((s) => s.name);
  if (i.discard && held.length > 0) refuse("no held snapshots discarded", `${held.join(", ")} ${held.length === 1 ? "is" : "are"} held (zfs holds); release the holds or restore without --discard`);
  const foreign = newer.filter((s) => s.marker !== null && s.marker !== i.lineage).map((s) => `${s.name} (backplane:managed=${s.marker})`);
  if (i.discard && foreign.length > 0) refuse("no snapshots of other stacks discarded", `${foreign.join(", ")} ${foreign.length === 1 ? "belongs" : "belong"} to another stack; backplane never destroys what it does not own — restore without --discard`);
  const mountpoint = i.properties.get("mountpoint");
  const mounted = i.properties.get("mounted")?.value === "yes";
  if (mounted && mountpoint?.value === "legacy") refuse("legacy mount", `${dataset} is mounted with mountpoint=legacy (by fstab or by hand): unmount it first with umount`);

  const stamp = utcStamp(i.now);
  const tmp = `${dataset}-backplane-restore-${stamp}`;
  const rel = dataset.slice(pool.length + 1);
  const asideRoot = `${pool}/backplane-pre-restore-${stamp}`;
  const aside = `${asideRoot}/${rel}`;
  // what `rename -p` creates above ASIDE: the root and each level between it and ASIDE, deepest first
  const asideAncestors = rel.split("/").slice(0, -1).reduce((acc, part) => [...acc, `${acc[acc.length - 1]!}/${part}`], [asideRoot]).reverse();
  for (const [what, name] of [["the temporary clone", tmp], ["the kept-aside copy", aside]] as const) {
    const p = datasetNameProblem(name);
    if (p) refuse("names fit", `${what} would be ${name}: ${p}`);
    if (live.datasets.has(name)) refuse("names free", `${what} would be ${name}, which exists already on ${i.host}`);
    // its snapshots take its name too (TMP holds those up to the target, ASIDE the newer ones; checked for all)
    const longest = [...i.snapshots].sort((a, b) => bytes(b.snapshot) - bytes(a.snapshot))[0];
    if (longest) {
      const full = `${name}@${longest.snapshot}`;
      const sp = snapshotNameProblem(full);
      if (sp) refuse("names fit", `${what} would be ${name}, and its snapshot ${full}: ${sp}`);
    }
  }
  for (const a of asideAncestors) if (live.datasets.has(a)) refuse("names free", `${a} exists already on ${i.host} (another restore in the same second?); run again`);

  // every property set on the dataset itself (local) or by a `zfs receive` (received) goes
  // onto the clone — native and user ones, the ownership marker included — except the
  // mountpoint: the clone is made unmounted (none) so it cannot cover the dataset, and gets
  // its mountpoint back after the swap. A received value becomes local on the clone.
  const own = (v: PropertyValue | undefined) => v?.source.kind === "local" || v?.source.kind === "received";
  const copied = [...i.properties].filter(([k, v]) => own(v) && k !== "mountpoint").sort(([a], [b]) => a.localeCompare(b));
  const mountBack: Argv = own(mountpoint) ? argv("zfs", "set", `mountpoint=${mountpoint!.value}`, dataset) : argv("zfs", "inherit", "mountpoint", dataset);
  const canmount = i.properties.get("canmount")?.value ?? "on";
  const canmountOn = canmount === "on";
  // with its own mountpoint the kept copy would claim the same directory at the next boot
  const quietAside = own(mountpoint) && canmountOn;
  // canmount=noauto: setting the mountpoint does not mount it; it was mounted, so mount it
  const mountAgain = mounted && canmount === "noauto";
  const steps: Step[] = [];
  const push = (s: Step) => steps.push(s) - 1;
  const unmount = mounted ? push({ command: argv("zfs", "unmount", dataset), label: "Unmounting" }) : null;
  const clone = push({ command: argv("zfs", "clone", "-o", "mountpoint=none", ...copied.flatMap(([k, v]) => ["-o", `${k}=${v.value}`]), target.name, tmp), label: "Cloning the target snapshot" });
  const promote = push({ command: argv("zfs", "promote", tmp), label: "Promoting the clone" });
  const asideAt = push({ command: argv("zfs", "rename", "-p", dataset, aside), label: "Keeping the current data aside" });
  if (quietAside) push({ command: argv("zfs", "set", "canmount=noauto", aside), label: "Keeping the aside copy unmounted" });
  const inPlace = push({ command: argv("zfs", "rename", tmp, dataset), label: "Putting the restored data in place" });
  // right after the rename into place: state gets the new GUID even if a later step fails
  const guidAt = push({ command: argv("zfs", "get", "-Hp", "-o", "value", "guid", dataset), label: "Reading guid", captures: "guid" });
  push({ command: mountBack, label: "Mounting" });
  if (mountAgain) push({ command: argv("zfs", "mount", dataset), label: "Mounting (canmount=noauto)" });
  if (i.discard) {
    push({ command: argv("zfs", "destroy", "-r", aside), label: "Discarding the kept-aside copy" });
    for (const a of asideAncestors) push({ command: argv("zfs", "destroy", a), label: "Removing an empty parent it was kept under" });
  }
  const destroyAncestors = asideAncestors.map((a) => argv("zfs", "destroy", a));
  const willBeMounted = mounted || canmountOn;
  const undo: Argv[] = [
    ...(willBeMounted ? [argv("zfs", "unmount", dataset)] : []),
    // the restored copy keeps its mountpoint: kept from claiming the directory at the next boot
    ...(quietAside ? [argv("zfs", "set", "canmount=noauto", dataset)] : []),
    argv("zfs", "rename", dataset, tmp),
    argv("zfs", "rename", aside, dataset),
    argv("zfs", "promote", dataset),
    ...(quietAside ? [argv("zfs", "set", "canmount=on", dataset)] : []),
    ...(mounted ? [argv("zfs", "mount", dataset)] : []),
    ...destroyAncestors,
  ];
  const finish: Argv[] = [
    argv("zfs", "rename", tmp, dataset),
    mountBack,
    ...(mountAgain ? [argv("zfs", "mount", dataset)] : []),
  ];
  const backOut: Argv[] = [
    argv("zfs", "rename", aside, dataset),
    argv("zfs", "promote", dataset),
    ...(quietAside ? [argv("zfs", "set", "canmount=on", dataset)] : []),
    ...(mounted ? [argv("zfs", "mount", dataset)] : []),
    // TMP was never mounted (mountpoint=none) and nothing was written to it
    argv("zfs", "destroy", tmp),
    ...destroyAncestors,
  ];
  const recover = (lastRan: number): Argv[] => [
    ...(lastRan >= promote ? [argv("zfs", "promote", dataset)] : []),
    ...(lastRan >= clone ? [argv("zfs", "destroy", tmp)] : []),
    ...(mounted ? [argv("zfs", "mount", dataset)] : []),
  ];
  const headWritten = writtenOf(i.properties);
  const writtenSinceTarget = headWritten === null || newer.some((s) => s.written === null) ? null : newer.reduce((sum, s) => sum + s.written!, headWritten);
  return {
    dataset, guid, mounted, target, newer, headWritten, writtenSinceTarget, tmp, aside, asideAncestors, discard: i.discard, steps,
    at: { unmount, clone, promote, aside: asideAt, inPlace, guid: guidAt },
    undo, undoCleanup: [argv("zfs", "destroy", tmp)], finish, backOut, recover,
  };
}

function writtenOf(props: ReadonlyMap<string, PropertyValue>): bigint | null {
  const w = props.get("written")?.value;
  return w !== undefined && /^\d+$/.test(w) ? BigInt(w) : null;
}

/** The snapshot `--to` names, or the newest created at or before its time. */
function findTarget(i: RestoreInput): SnapshotDetail {
  const t = i.target;
  if ("snapshot" in t) {
    const s = i.snapshots.find((x) => x.snapshot === t.snapshot);
    // the refresh's name list is the check no value can forge
    if (!s || !i.live.snapshots.has(s.name)) throw new RestoreRefused("snapshot exists", `${i.dataset}@${t.snapshot} does not exist on ${i.host}${i.snapshots.length ? ` (it has: ${i.snapshots.map((x) => x.snapshot).join(", ")})` : " (it has no snapshots)"}`);
    return s;
  }
  // a snapshot named exactly as the time given is what was meant (ZFS names allow ':')
  const exact = i.snapshots.find((x) => x.snapshot === t.text && i.live.snapshots.has(x.name));
  if (exact) return exact;
  const limit = Math.floor(t.time.getTime() / 1000);
  const candidates = i.snapshots.filter((s) => s.creation <= limit && i.live.snapshots.has(s.name));
  if (candidates.length === 0) throw new RestoreRefused("snapshot exists", `${i.dataset} has no snapshot created at or before ${t.text}${i.snapshots.length ? ` (the oldest is ${i.snapshots[0]!.name}, ${new Date(i.snapshots[0]!.creation * 1000).toISOString()})` : ""}`);
  return candidates[candidates.length - 1]!;
}

/**
 * What changed between the read the plan was printed from and the read after the
 * confirmation (null: nothing that matters): the dataset's GUID, its snapshots, whether it is
 * mounted, and the commands (which carry every copied property).
 */
export function restoreChanged(before: RestorePlan, after: RestorePlan): string | null {
  if (before.guid !== after.guid) return `${before.dataset} is another object now (guid ${before.guid} → ${after.guid})`;
  const list = (p: RestorePlan) => [p.target, ...p.newer].map((s) => `${s.name}#${s.guid}`).join(",");
  if (list(before) !== list(after)) return `${before.dataset}'s snapshots changed`;
  if (before.mounted !== after.mounted) return `${before.dataset} was ${before.mounted ? "unmounted" : "mounted"}`;
  const cmds = (p: RestorePlan) => p.steps.map((s) => JSON.stringify(s.command)).join("\n");
  if (cmds(before) !== cmds(after)) return `${before.dataset}'s properties changed (the commands differ)`;
  return null;
}
