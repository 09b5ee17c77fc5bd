/**
 * `backplane restore`: bring a dataset back to one of its snapshots WITHOUT losing what it
 * replaces. Pure: decides from what was read and returns the steps (argv) and the undo.
 *
 * Why not `zfs rollback -r`: it destroys every newer snapshot, and a safety snapshot taken
 * first is one of them. Instead (docs/restore.md):
 *   1. zfs clone -o mountpoint=none -o <every locally set property> DATASET@target TMP
 *   2. zfs promote TMP            (TMP takes the snapshots up to @target; DATASET becomes a
 *                                  clone of TMP@target holding only the newer ones)
 *   3. zfs rename -p DATASET ASIDE (the current data, with its newer snapshots, kept aside)
 *   4. zfs rename TMP DATASET
 *   5. mountpoint back as it was (inherit, or the local value): this mounts it.
 * The unmount comes first, so a busy dataset stops the restore before anything changed.
 */
import { argv, type Argv } from "../model/argv.js";
import type { HostLive, PropertyValue } from "../model/live.js";
import type { Step } from "../model/plan.js";
import { datasetNameProblem, poolOf, snapshotComponentProblem, snapshotNameProblem } from "../zfs/names.js";
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

export interface RestoreInput {
  host: string;
  dataset: string;
  target: RestoreTarget;
  /** this stack's lineage (null: the stack has no state, so it owns nothing) */
  lineage: string | null;
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
  discard: boolean;
  steps: Step[];
  /** the commands that undo the restore (not run; printed and documented) */
  undo: Argv[];
}

/** UTC, to the second, in a form a ZFS name component allows: 20261126T081530Z. */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

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
  const type = i.properties.get("type")?.value;
  if (type !== "filesystem") refuse("filesystems only", `${dataset} is a ${type ?? "dataset of unknown type"}; restore handles filesystems (a volume has no mountpoint to swap)`);
  const encryption = i.properties.get("encryption")?.value;
  if (encryption !== undefined && encryption !== "off") refuse("not encrypted", `${dataset} is encrypted (${encryption}): a clone shares its origin's encryption root, and the swap is not tested for that yet; restore it by hand (docs/restore.md)`);
  const children = [...live.datasets.keys()].filter((n) => n.startsWith(`${dataset}/`)).sort();
  if (children.length > 0) refuse("no child datasets", `${dataset} has child datasets (${children.join(", ")}); a restore would leave them under the kept-aside copy or orphan their mountpoints — restore each dataset on its own after moving the children`);

  const target = findTarget(i);
  const at = i.snapshots.indexOf(target);
  const newer = i.snapshots.slice(at + 1);
  const newerNames = new Set(newer.map((s) => s.name));
  const clones = [...live.datasets].filter(([, p]) => newerNames.has(p.get("origin")?.value ?? "")).map(([n, p]) => `${n} (clone of ${p.get("origin")!.value})`).sort();
  if (clones.length > 0) refuse("no clones of newer snapshots", `${clones.join(", ")} depend on snapshots newer than ${target.name}; destroy or promote them first`);
  if (i.discard && !i.allowDestroy) refuse("--allow-destroy", `--discard destroys the current data of ${dataset} and ${newer.length} newer snapshot${newer.length === 1 ? "" : "s"}; pass --allow-destroy too`);
  const held = newer.filter((s) => s.userrefs > 0).map((s) => s.name);
  if (i.discard && held.length > 0) refuse("no held snapshots discarded", `${held.join(", ")} ${held.length === 1 ? "is" : "are"} held (zfs holds); release the holds or restore without --discard`);
  const mountpoint = i.properties.get("mountpoint");
  const mounted = i.properties.get("mounted")?.value === "yes";
  if (mounted && mountpoint?.value === "legacy") refuse("legacy mount", `${dataset} is mounted with mountpoint=legacy (by fstab or by hand): unmount it first with umount`);

  const stamp = utcStamp(i.now);
  const tmp = `${dataset}-backplane-restore-${stamp}`;
  const aside = `${pool}/backplane-pre-restore-${stamp}/${dataset.slice(pool.length + 1)}`;
  const asideParent = `${pool}/backplane-pre-restore-${stamp}`;
  for (const [what, name] of [["the temporary clone", tmp], ["the kept-aside copy", aside]] as const) {
    const p = datasetNameProblem(name);
    if (p) refuse("names fit", `${what} would be ${name}: ${p}`);
    if (live.datasets.has(name)) refuse("names free", `${what} would be ${name}, which exists already on ${i.host}`);
  }
  if (live.datasets.has(asideParent)) refuse("names free", `${asideParent} exists already on ${i.host} (another restore in the same second?); run again`);

  // every property set on the dataset itself goes onto the clone — native and user ones, the
  // ownership marker included — except the mountpoint: the clone is made unmounted (none) so
  // it cannot cover the dataset, and gets its mountpoint back after the swap
  const locals = [...i.properties].filter(([k, v]) => v.source.kind === "local" && k !== "mountpoint").sort(([a], [b]) => a.localeCompare(b));
  const mountBack: Argv = mountpoint?.source.kind === "local" ? argv("zfs", "set", `mountpoint=${mountpoint.value}`, dataset) : argv("zfs", "inherit", "mountpoint", dataset);
  const canmountOn = (i.properties.get("canmount")?.value ?? "on") === "on";
  // with its own mountpoint the kept copy would claim the same directory at the next boot
  const quietAside = mountpoint?.source.kind === "local" && canmountOn;
  const steps: Step[] = [
    ...(mounted ? [{ command: argv("zfs", "unmount", dataset), label: "Unmounting" }] : []),
    { command: argv("zfs", "clone", "-o", "mountpoint=none", ...locals.flatMap(([k, v]) => ["-o", `${k}=${v.value}`]), target.name, tmp), label: "Cloning the target snapshot" },
    { command: argv("zfs", "promote", tmp), label: "Promoting the clone" },
    { command: argv("zfs", "rename", "-p", dataset, aside), label: "Keeping the current data aside" },
    ...(quietAside ? [{ command: argv("zfs", "set", "canmount=noauto", aside), label: "Keeping the aside copy unmounted" }] : []),
    { command: argv("zfs", "rename", tmp, dataset), label: "Putting the restored data in place" },
    { command: mountBack, label: "Mounting" },
    { command: argv("zfs", "get", "-Hp", "-o", "value", "guid", dataset), label: "Reading guid", captures: "guid" },
    ...(i.discard ? [
      { command: argv("zfs", "destroy", "-r", aside), label: "Discarding the kept-aside copy" },
      { command: argv("zfs", "destroy", asideParent), label: "Removing its empty parent" },
    ] : []),
  ];
  const undo: Argv[] = [
    ...(canmountOn ? [argv("zfs", "unmount", dataset)] : []),
    argv("zfs", "rename", dataset, tmp),
    argv("zfs", "rename", aside, dataset),
    argv("zfs", "promote", dataset),
    ...(quietAside ? [argv("zfs", "set", "canmount=on", dataset)] : []),
    ...(canmountOn ? [argv("zfs", "mount", dataset)] : []),
    argv("zfs", "destroy", tmp),
    argv("zfs", "destroy", asideParent),
  ];
  const headWritten = writtenOf(i.properties);
  const writtenSinceTarget = headWritten === null || newer.some((s) => s.written === null) ? null : newer.reduce((sum, s) => sum + s.written!, headWritten);
  return { dataset, target, newer, headWritten, writtenSinceTarget, tmp, aside, discard: i.discard, steps, undo };
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
  const limit = Math.floor(t.time.getTime() / 1000);
  const candidates = i.snapshots.filter((s) => s.creation <= limit && i.live.snapshots.has(s.name));
  if (candidates.length === 0) throw new RestoreRefused("snapshot exists", `${i.dataset} has no snapshot created at or before ${t.text}${i.snapshots.length ? ` (the oldest is ${i.snapshots[0]!.name}, ${new Date(i.snapshots[0]!.creation * 1000).toISOString()})` : ""}`);
  return candidates[candidates.length - 1]!;
}
