/** backplane_snapshot_policy: sanoid-style scheduled snapshots and retention, run on the host by a systemd timer. */
import { z } from "zod";
import { type KindSpec, str, num, bool, strMap, computed, checked, stringMap } from "../attr.js";
import { datasetNameProblem, snapshotComponentProblem, snapshotNameProblem } from "../../zfs/names.js";
import { periodProblem, periodMinutes, SANOID_LABELS } from "../../zfs/snapshot-schedule.js";

const count = (what: string) => num(`${what} snapshots kept (newest first); 0 or unset: none taken.`, z.number().int().min(0).max(10000));

export const snapshotPolicy: KindSpec = {
  type: "backplane_snapshot_policy",
  kind: "resource",
  engineSupport: "full",
  description: "Snapshots a dataset on a schedule and prunes them to retention counts, sanoid's way, from a systemd timer backplane installs on the host: it runs without backplane. Prunes only its own snapshots (`<snapshot_prefix><label>-<UTC period start>`, marked by this stack), never a held one. Removing the policy removes the timer; its snapshots stay.",
  attributes: {
    dataset: str("Dataset to snapshot.", checked(datasetNameProblem), { required: true, example: "tank/srv/logs" }),
    recursive: bool("Snapshot the dataset and its descendants atomically (`zfs snapshot -r`); each dataset of the tree is pruned to the same counts.", { default: false }),
    snapshot_prefix: str("Prefix of the snapshots the policy takes and owns.", checked(snapshotComponentProblem), { default: "bp-auto-" }),
    frequently: count("Every `frequent_period`:"),
    frequent_period: str("The period of `frequently` (sanoid's frequent_period).", checked((v) => periodProblem(v)), { default: "15m" }),
    hourly: count("Hourly"),
    daily: count("Daily (00:00 UTC)"),
    weekly: count("Weekly (Monday 00:00 UTC)"),
    monthly: count("Monthly (the 1st, 00:00 UTC)"),
    every: strMap("Custom buckets: period → count kept, e.g. { \"5m\": \"12\" } (periods: minutes that divide an hour, hours that divide a day, 1d, 1w). The L2 construct takes a list of { every, keep }.", z.record(z.string(), z.string())),
    unit: computed("The systemd unit (backplane-snapshot-<id>) that runs the policy on the host."),
    files: computed("sha256 of each installed file (drift: an edit on the host).", ["map", "string"]),
  },
  refine(v, report) {
    const custom = stringMap(v.every);
    for (const [period, keep] of Object.entries(custom)) {
      const p = periodProblem(period);
      if (p) report(["every", period], p);
      else if (!/^(0|[1-9]\d{0,4})$/.test(keep)) report(["every", period], `'${keep}' is not a count of snapshots to keep (a whole number, 0 to 99999)`);
    }
    const used = new Map<number, string>();
    const sanoid: Array<[string, number | null]> = [["frequently", periodProblem(String(v.frequent_period ?? "15m")) ? null : periodMinutes(String(v.frequent_period ?? "15m"))], ["hourly", 60], ["daily", 1440], ["weekly", 10080]];
    for (const [label, minutes] of sanoid) if (minutes !== null && typeof v[label] === "number" && (v[label] as number) > 0) used.set(minutes, label);
    for (const [period, keep] of Object.entries(custom)) {
      if (periodProblem(period) || Number(keep) === 0) continue;
      const m = periodMinutes(period);
      if (used.has(m)) report(["every", period], `has the same period as ${used.get(m)}: one bucket per period`);
      used.set(m, period);
    }
    // the longest name a run makes must be a valid snapshot name (a longer one would fail every run)
    if (typeof v.dataset === "string" && !datasetNameProblem(v.dataset)) {
      const prefix = typeof v.snapshot_prefix === "string" ? v.snapshot_prefix : "bp-auto-";
      const longest = [...SANOID_LABELS, ...Object.keys(custom)].reduce((a, b) => (b.length > a.length ? b : a), "");
      const p = snapshotNameProblem(`${v.dataset}@${prefix}${longest}-20261126T170000Z`);
      if (p) report("snapshot_prefix", `the snapshots' names (${v.dataset}@${prefix}${longest}-<UTC yyyymmddThhmmssZ>) would be invalid: ${p}`);
    }
    const counts = [...SANOID_LABELS.map((l) => v[l]), ...Object.values(custom).map(Number)];
    if (!counts.some((c) => typeof c === "number" && c > 0)) report("", `takes no snapshot: give at least one of ${SANOID_LABELS.join(", ")} or every a count above 0`);
  },
};
