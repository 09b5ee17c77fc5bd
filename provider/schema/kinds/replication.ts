/** backplane_replication: zfs send | ssh <wg peer> zfs recv, incremental, resumable, hold-protected. */
import { z } from "zod";
import { type KindSpec, str, num, bool, strMap, computed, checked, reportEach, stringMap, withMap } from "../attr.js";
import { canonicalPropertyNames, propertyProblems } from "../../zfs/assignments.js";
import { datasetNameProblem, snapshotComponentProblem } from "../../zfs/names.js";
import { hostProblem } from "../../wg/net.js";
import { aliasProblem } from "./host.js";
import { periodProblem } from "../../zfs/snapshot-schedule.js";

export const replication: KindSpec = {
  type: "backplane_replication",
  kind: "resource",
  engineSupport: "full",
  description: "Replicates a dataset from this host to `target_host` over its WireGuard address. Incremental from the newest common snapshot, resumable, holds on the chain; a diverged target is refused unless `allow_rollback_target`.",
  attributes: {
    source_dataset: str("Dataset on this host.", checked(datasetNameProblem), { required: true, createOnly: true, example: "tank/srv/uploads" }),
    target_host: str("Provider alias of the receiving host.", checked(aliasProblem), { required: true, createOnly: true, example: "dr" }),
    target_address: str("Address the stream is sent to (the target's WireGuard address).", checked(hostProblem), { required: true, example: "10.201.0.2" }),
    target_dataset: str("Dataset on the target host. backplane creates it by the first receive (`readonly=on`, `canmount=noauto`); its parent must exist.", checked(datasetNameProblem), { required: true, createOnly: true, example: "backup/prod/uploads" }),
    target_port: num("SSH port of the target host at `target_address` (the tunnel address, not the operator's route to it).", z.number().int().min(1).max(65535), { default: 22 }),
    retain_source: num("Replication snapshots kept on the source (newest first; the newest, held, is always kept).", z.number().int().min(1).max(10000), { default: 3 }),
    retain_target: num("Replication snapshots kept on the target (newest first).", z.number().int().min(1).max(10000), { default: 10 }),
    snapshot_prefix: str("Prefix of the snapshots replication takes and owns.", checked(snapshotComponentProblem), { default: "backplane-repl-" }),
    raw: bool("Send raw (encrypted datasets stay encrypted in transit and at rest).", { default: false }),
    every: str("Run the replication from a systemd timer on the source host at this period (e.g. 15m; minutes that divide an hour, hours that divide a day, 1d, 1w): DR follows production between applies. The same script as `backplane replicate`, the same key and safety rules; a cut transfer resumes at the next run.", checked((v) => periodProblem(v)), { example: "15m" }),
    allow_rollback_target: bool("Allow `zfs recv -F` on a diverged target (destroys target-only changes).", { default: false }),
    receive_properties: strMap("Properties set on the target at receive (`recv -o`), checked by the ZFS property catalogue.", z.record(z.string(), z.string())),
    key_id: computed("The replication's id: names its key files, hold tag and authorized_keys line (docs/replication.md)."),
    public_key: computed("Public half of the replication's own SSH key (the private key never leaves the source host)."),
    last_snapshot: computed("Newest snapshot both sides have, as of the last replication."),
    last_guid: computed("GUID of `last_snapshot`."),
    unit: computed("The systemd unit (backplane-replicate-<key_id>) of a scheduled replication on the source host."),
    files: computed("sha256 of each installed file of the timer (drift: an edit on the host).", ["map", "string"]),
  },
  refine(v, report) {
    const received = stringMap(v.receive_properties);
    reportEach(report, "receive_properties", propertyProblems(received, { kind: "either", target: "receive", ephemeral: false, userProperties: "inline" }));
    // the target's guard against drift is backplane's: it receives with readonly=on, canmount=noauto
    for (const k of ["readonly", "rdonly", "canmount", "exec", "setuid", "devices", "dev", "mountpoint", "sharenfs", "sharesmb"]) if (k in received) report(["receive_properties", k], "is set by backplane on every replication target (readonly=on, canmount=noauto, exec/setuid/devices off, mountpoint and shares inherited) so the target cannot drift and a stream cannot place anything on the target's host");
    for (const [k, val] of Object.entries(received)) if (/[\x00-\x1f\x7f"\\]/.test(k + val)) report(["receive_properties", k], "must not contain control characters, double quotes or backslashes (it is written into the target's authorized_keys forced command)");
  },
  canonical: (v) => withMap(v, "receive_properties", canonicalPropertyNames),
};
