/** backplane_snapshot: a named snapshot, optionally recursive, with optional retention of a prefix. */
import { z } from "zod";
import { type KindSpec, str, num, bool, computed, checked } from "../attr.js";
import { datasetNameProblem, snapshotComponentProblem, snapshotNameProblem } from "../../zfs/names.js";

export const snapshot: KindSpec = {
  type: "backplane_snapshot",
  kind: "resource",
  engineSupport: "full",
  description: "A named snapshot of a dataset. Snapshots are immutable: changing the name or dataset replaces it.",
  attributes: {
    dataset: str("Dataset to snapshot.", checked(datasetNameProblem), { required: true, createOnly: true, example: "tank/srv/uploads" }),
    name: str("Snapshot name (the part after '@').", checked(snapshotComponentProblem), { required: true, createOnly: true, example: "release-1" }),
    recursive: bool("Snapshot descendants too (`-r`).", { default: false, createOnly: true }),
    retain_prefix: str("Snapshots of this dataset whose names start with this prefix are pruned to `retain_count`.", checked(snapshotComponentProblem)),
    retain_count: num("How many snapshots with `retain_prefix` to keep (newest first).", z.number().int().min(1).max(100000)),
    guid: computed("Snapshot GUID."),
    createtxg: computed("Transaction group that created the snapshot."),
  },
  refine(v, report) {
    if (typeof v.dataset === "string" && typeof v.name === "string" && datasetNameProblem(v.dataset) === null && snapshotComponentProblem(v.name) === null) {
      const p = snapshotNameProblem(`${v.dataset}@${v.name}`);
      if (p) report("name", p);
    }
    if ((v.retain_prefix === undefined) !== (v.retain_count === undefined)) {
      report("retain_count", "retain_prefix and retain_count go together");
    }
  },
};
