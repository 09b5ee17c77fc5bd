/** SnapshotPolicy: the construct of snapshots on a schedule, its props and the schedule. */
import { Construct } from "constructs";
import { SnapshotPolicy as SnapshotPolicyL1 } from "./gen/snapshot-policy/index.js";
import { snapshotPolicy as policyKind } from "../provider/schema/kinds/snapshot-policy.js";
import { validateAtSynth } from "./validation.js";
import type { Host } from "./host.js";
import type { Dataset } from "./dataset.js";

/** The schedule: sanoid's counts, and/or custom buckets. */
export interface SnapshotSchedule {
  /** snapshots every `frequentPeriod` (default 15m) kept */
  frequently?: number;
  frequentPeriod?: string;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  /** custom buckets, e.g. [{ every: "5m", keep: 12 }] */
  every?: Array<{ every: string; keep: number }>;
  /** the tree under the dataset too (zfs snapshot -r) */
  recursive?: boolean;
  /** default "bp-auto-" */
  snapshotPrefix?: string;
}

/** A schedule for one dataset on a host (Dataset's `snapshots` prop makes one for its dataset). */
export interface SnapshotPolicyProps extends SnapshotSchedule {
  host: Host;
  dataset: string | Dataset;
}

/**
 * SnapshotPolicy: snapshots taken and pruned on the host by a systemd timer (sanoid's
 * vocabulary), so "the backup is a snapshot that already happened" without anyone running
 * backplane. docs/schedules.md has the naming, the timer and what the host runs.
 */
export class SnapshotPolicy extends Construct {
  readonly resource: SnapshotPolicyL1;
  constructor(scope: Construct, id: string, props: SnapshotPolicyProps) {
    super(scope, id);
    const dataset = typeof props.dataset === "string" ? props.dataset : props.dataset.name;
    const every = props.every?.length ? Object.fromEntries(props.every.map((e) => [e.every, String(e.keep)])) : undefined;
    const config = {
      dataset, recursive: props.recursive, snapshot_prefix: props.snapshotPrefix, frequently: props.frequently, frequent_period: props.frequentPeriod,
      hourly: props.hourly, daily: props.daily, weekly: props.weekly, monthly: props.monthly, every,
    };
    validateAtSynth(this, policyKind, () => config);
    this.resource = new SnapshotPolicyL1(this, "resource", {
      provider: props.host.provider, dataset, recursive: props.recursive, snapshotPrefix: props.snapshotPrefix, frequently: props.frequently,
      frequentPeriod: props.frequentPeriod, hourly: props.hourly, daily: props.daily, weekly: props.weekly, monthly: props.monthly, every,
      dependsOn: typeof props.dataset === "string" ? undefined : [props.dataset.resource],
    });
  }
}
