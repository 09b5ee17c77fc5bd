/** backplane_clone: a clone of dataset@snap, or of the newest snapshot (dataset@latest: staging). */
import { z } from "zod";
import { type KindSpec, str, strMap, bool, computed, checked, reportEach, stringMap, withMap } from "../attr.js";
import { canonicalPropertyNames, propertyProblems } from "../../zfs/assignments.js";
import { datasetNameProblem, snapshotNameProblem } from "../../zfs/names.js";

export const clone: KindSpec = {
  type: "backplane_clone",
  kind: "resource",
  engineSupport: "full",
  description: "A writable clone of a snapshot. `origin = \"pool/ds@latest\"` clones the newest snapshot, resolved when the clone is planned and pinned in state as `origin_snapshot` (the seed's staging = clone of prod@latest): a newer snapshot never re-clones it.",
  attributes: {
    name: str("Name of the clone.", checked(datasetNameProblem), { required: true, createOnly: true, example: "tank/staging/ticket-4521" }),
    origin: str("Snapshot to clone: dataset@snapshot or dataset@latest.", checked(snapshotNameProblem), { required: true, createOnly: true, example: "tank/srv/postgres@latest" }),
    properties: strMap("Properties for the clone (`zfs clone -o`): native ones through the property catalogue, user ones (`module:name`) as zfs_prop_user.", z.record(z.string(), z.string())),
    ephemeral: bool("Throw-away data (a CI or staging clone): allows sync=disabled, and removing the clone needs no `--allow-destroy` (a clone that is not ephemeral is removed only with it).", { default: false }),
    promote: bool("Promote the clone (it becomes the origin's parent).", { default: false }),
    origin_snapshot: computed("The snapshot actually cloned (resolves @latest)."),
    guid: computed("Clone GUID."),
  },
  refine(v, report) {
    const origin = v.origin as string;
    const name = v.name as string;
    if (origin && name && origin.split("@")[0] === name) report("name", "a clone cannot have the name of its origin dataset");
    reportEach(report, "properties", propertyProblems(stringMap(v.properties), { kind: "either", target: "clone", ephemeral: v.ephemeral === true, userProperties: "not-read" }));
  },
  canonical: (v) => withMap(v, "properties", canonicalPropertyNames),
};
