/** backplane_replication: zfs send | ssh <wg peer> zfs recv, incremental, resumable, hold-protected. */
import { z } from "zod";
import { type KindSpec, str, bool, strMap, computed, checked, reportEach, stringMap, withMap } from "../attr.js";
import { canonicalPropertyNames, propertyProblems } from "../../zfs/assignments.js";
import { datasetNameProblem, snapshotComponentProblem } from "../../zfs/names.js";
import { hostProblem } from "../../wg/net.js";
import { aliasProblem } from "./host.js";

export const replication: KindSpec = {
  type: "backplane_replication",
  kind: "resource",
  engineSupport: "later",
  description: "Replicates a dataset from this host to `target_host` over its WireGuard address. Incremental from the newest common snapshot, resumable, holds on the chain; a diverged target is refused unless `allow_rollback_target`.",
  attributes: {
    source_dataset: str("Dataset on this host.", checked(datasetNameProblem), { required: true, createOnly: true, example: "tank/srv/uploads" }),
    target_host: str("Provider alias of the receiving host.", checked(aliasProblem), { required: true, createOnly: true, example: "dr" }),
    target_address: str("Address the stream is sent to (the target's WireGuard address).", checked(hostProblem), { required: true, example: "10.201.0.2" }),
    target_dataset: str("Dataset on the target host.", checked(datasetNameProblem), { required: true, createOnly: true, example: "backup/prod/uploads" }),
    snapshot_prefix: str("Prefix of the snapshots replication takes and owns.", checked(snapshotComponentProblem), { default: "backplane-repl-" }),
    raw: bool("Send raw (encrypted datasets stay encrypted in transit and at rest).", { default: false }),
    allow_rollback_target: bool("Allow `zfs recv -F` on a diverged target (destroys target-only changes).", { default: false }),
    receive_properties: strMap("Properties set on the target at receive (`recv -o`), checked by the ZFS property catalogue.", z.record(z.string(), z.string())),
    last_snapshot: computed("Newest snapshot both sides have."),
  },
  refine(v, report) {
    reportEach(report, "receive_properties", propertyProblems(stringMap(v.receive_properties), { kind: "either", target: "receive", ephemeral: false, userProperties: "inline" }));
  },
  canonical: (v) => withMap(v, "receive_properties", canonicalPropertyNames),
};
