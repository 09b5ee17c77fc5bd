/**
 * Which stream brings a replication target up to its source: a pure function of the two
 * snapshot lists, the target's resume token and whether the target was written to since its
 * newest snapshot (zrepl's IncrementalPath idea). Snapshots are matched by GUID, never by
 * name: a snapshot renamed or re-made under the same name on either side is not common.
 */

export interface ChainSnapshot {
  /** the part after '@' */
  name: string;
  guid: string;
  createtxg: bigint;
  /** epoch seconds */
  creation: number;
}

export interface TargetSide {
  exists: boolean;
  snapshots: readonly ChainSnapshot[];
  resumeToken: string | null;
  /** bytes written since the target's newest snapshot */
  written: number;
}

/** Why a target cannot simply receive the next increment: typed, with the evidence. */
export type Conflict =
  /** the target exists but shares no snapshot with the source */
  | { type: "no-common"; targetSnapshots: string[] }
  /** the target has snapshots newer than the newest common one that the source does not have */
  | { type: "diverged"; common: ChainSnapshot; targetOnly: string[] }
  /** the target was written to after the newest common snapshot */
  | { type: "modified"; common: ChainSnapshot; written: number };

export type ReplicationPath =
  | { kind: "full" }
  /** an interrupted `zfs recv -s`: `zfs send -t <token>` finishes it first */
  | { kind: "resume"; token: string }
  /** from the newest common snapshot; `behind` = source snapshots newer than it */
  | { kind: "incremental"; from: ChainSnapshot; behind: ChainSnapshot[] }
  | { kind: "conflict"; conflict: Conflict };

const byTxg = (a: ChainSnapshot, b: ChainSnapshot) => (a.createtxg < b.createtxg ? -1 : a.createtxg > b.createtxg ? 1 : 0);

/** The newest snapshot (by the source's createtxg) whose GUID both sides hold. */
export function newestCommon(source: readonly ChainSnapshot[], target: readonly ChainSnapshot[]): ChainSnapshot | null {
  const onTarget = new Set(target.map((s) => s.guid));
  return [...source].sort(byTxg).reverse().find((s) => onTarget.has(s.guid)) ?? null;
}

export function incrementalPath(source: readonly ChainSnapshot[], target: TargetSide): ReplicationPath {
  // a resume token means a receive is half done; finishing it comes before anything else
  if (target.resumeToken) return { kind: "resume", token: target.resumeToken };
  if (!target.exists) return { kind: "full" };
  const common = newestCommon(source, target.snapshots);
  if (!common) return { kind: "conflict", conflict: { type: "no-common", targetSnapshots: [...target.snapshots].sort(byTxg).map((s) => s.name) } };
  const commonOnTarget = target.snapshots.find((s) => s.guid === common.guid)!;
  const sourceGuids = new Set(source.map((s) => s.guid));
  const targetOnly = [...target.snapshots].sort(byTxg).filter((s) => s.createtxg > commonOnTarget.createtxg && !sourceGuids.has(s.guid)).map((s) => s.name);
  if (targetOnly.length > 0) return { kind: "conflict", conflict: { type: "diverged", common, targetOnly } };
  // written counts from the target's newest snapshot; with nothing newer than the common one, that is the common one
  if (target.written > 0) return { kind: "conflict", conflict: { type: "modified", common, written: target.written } };
  const behind = [...source].sort(byTxg).filter((s) => s.createtxg > common.createtxg);
  return { kind: "incremental", from: common, behind };
}

/** The conflict in words, naming both sides and what to do. */
export function describeConflict(c: Conflict, target: string, source: string): string {
  switch (c.type) {
    case "no-common":
      return `${target} exists but shares no snapshot with ${source}${c.targetSnapshots.length ? ` (it has ${c.targetSnapshots.map((s) => `@${s}`).join(", ")})` : " (it has no snapshot)"}: backplane never overwrites it; receive into a new dataset, or destroy it yourself`;
    case "diverged":
      return `${target} diverged from ${source}: the newest common snapshot is @${c.common.name}, and only the target has ${c.targetOnly.map((s) => `@${s}`).join(", ")}; backplane does not overwrite a diverged target unless the replication sets allow_rollback_target (zfs recv -F destroys them)`;
    case "modified":
      return `${target} was modified since the common snapshot @${c.common.name} (${c.written} bytes written): backplane does not roll it back unless the replication sets allow_rollback_target (zfs recv -F discards those writes)`;
  }
}
