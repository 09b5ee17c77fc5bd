/**
 * backplane_probe: a declared health check evaluated by `backplane probe` (docs/probes.md).
 * A probe has no object on the host: plan and apply pass it by, state never records it.
 * Each check reads its own thresholds; a threshold of another check is refused, so a typo'd
 * intent (max_lag on a pool) fails at load instead of checking nothing.
 */
import { z } from "zod";
import { type KindSpec, str, num, checked } from "../attr.js";
import { datasetNameProblem, poolNameProblem, snapshotComponentProblem } from "../../zfs/names.js";
import { interfaceNameProblem } from "../../wg/net.js";
import { parseDuration } from "../../model/duration.js";
import { parseSize } from "../../zfs/units.js";

export const PROBE_CHECKS = ["pool_health", "dataset_space", "replication_lag", "wireguard_handshake", "io_latency", "snapshot_freshness"] as const;
export type ProbeCheck = (typeof PROBE_CHECKS)[number];

/** Which thresholds belong to which check (the others are refused on it). */
export const PROBE_THRESHOLDS: Record<ProbeCheck, readonly string[]> = {
  pool_health: ["max_capacity_percent", "max_errors", "max_scrub_age"],
  dataset_space: ["max_used_percent", "min_available"],
  replication_lag: ["max_lag"],
  wireguard_handshake: ["max_handshake_age"],
  io_latency: ["max_p99_ms", "sample_seconds", "top"],
  snapshot_freshness: ["max_age", "snapshot_prefix"],
};

/** What `target` names, per check. */
const TARGET_RULE: Record<ProbeCheck, { what: string; problem: (v: string) => string | null }> = {
  pool_health: { what: "a pool", problem: poolNameProblem },
  dataset_space: { what: "a dataset", problem: datasetNameProblem },
  replication_lag: { what: "the source dataset of a backplane_replication on this host", problem: datasetNameProblem },
  wireguard_handshake: { what: "a WireGuard interface", problem: interfaceNameProblem },
  io_latency: { what: "a pool or dataset (it and the filesystems below it are measured)", problem: datasetNameProblem },
  snapshot_freshness: { what: "a dataset", problem: datasetNameProblem },
};

export function durationProblem(v: string): string | null {
  try {
    return parseDuration(v, "duration") > 0 ? null : "must be longer than 0";
  } catch (e) {
    return (e as Error).message.replace(/^duration: /, "");
  }
}

function sizeProblem(v: string): string | null {
  const r = parseSize(v);
  return r.ok ? null : `is not a size: ${r.reason}`;
}

export const probe: KindSpec = {
  type: "backplane_probe",
  kind: "resource",
  engineSupport: "full",
  description: "A health check evaluated by `backplane probe` (and `backplane drift --probes`): pool health, dataset space, replication lag, WireGuard handshake age, I/O latency per dataset (bpftrace) or snapshot freshness. It has no object on the host; plan and apply pass it by.",
  attributes: {
    check: str(`What to check: ${PROBE_CHECKS.join(", ")}.`, z.enum(PROBE_CHECKS), { required: true, example: "pool_health" }),
    target: str("What the check looks at: a pool (pool_health), a dataset (dataset_space, snapshot_freshness), a pool or dataset and the filesystems below it (io_latency), a WireGuard interface (wireguard_handshake), the source dataset of a replication on this host (replication_lag).", z.string().min(1).max(255, { message: "must be at most 255 characters" }), { required: true, example: "tank" }),
    max_capacity_percent: num("pool_health: fails when the pool is fuller than this (percent of its size).", z.number().min(0).max(100), { default: 80 }),
    max_errors: num("pool_health: fails when the read + write + checksum errors of any vdev exceed this.", z.number().int().min(0), { default: 0 }),
    max_scrub_age: str("pool_health: fails when the last completed scrub is older than this (e.g. 35d), or none ever ran. Unset: scrub age is reported, not checked.", checked(durationProblem), { example: "35d" }),
    max_used_percent: num("dataset_space: fails when used exceeds this percent of the quota (of used + available when the dataset has no quota).", z.number().min(0).max(100), { example: "90" }),
    min_available: str("dataset_space: fails when less than this is available (e.g. 10G).", checked(sizeProblem), { example: "10G" }),
    max_lag: str("replication_lag: fails when the target has been behind the source for longer than this (e.g. 1h); a target never replicated fails.", checked(durationProblem), { example: "1h" }),
    max_handshake_age: str("wireguard_handshake: fails when a peer's latest handshake is older than this; a peer that never completed a handshake fails.", checked(durationProblem), { default: "3m" }),
    max_p99_ms: num("io_latency: fails when a dataset's p99 read or write latency exceeds this many milliseconds.", z.number().positive(), { default: 100 }),
    sample_seconds: num("io_latency: how long bpftrace samples on the host.", z.number().int().min(1).max(60), { default: 5 }),
    top: num("io_latency: how many datasets are reported, slowest first.", z.number().int().min(1).max(100), { default: 5 }),
    max_age: str("snapshot_freshness: fails when the newest snapshot is older than this (e.g. 1h), or there is none.", checked(durationProblem), { example: "1h" }),
    snapshot_prefix: str("snapshot_freshness: only snapshots whose name (after @) starts with this count.", checked(snapshotComponentProblem), { example: "backplane-repl-" }),
  },
  refine(v, report) {
    const check = v.check as ProbeCheck | undefined;
    if (!check || !(check in TARGET_RULE)) return;
    const rule = TARGET_RULE[check];
    if (typeof v.target === "string") {
      const p = rule.problem(v.target);
      if (p) report("target", `must name ${rule.what}: ${p}`);
    }
    const own = new Set(PROBE_THRESHOLDS[check]);
    for (const [c, names] of Object.entries(PROBE_THRESHOLDS)) {
      if (c === check) continue;
      for (const n of names) if (v[n] !== undefined && !own.has(n)) report(n, `belongs to ${c}, not to ${check} (${check} takes ${PROBE_THRESHOLDS[check].join(", ")})`);
    }
    if (check === "dataset_space" && v.max_used_percent === undefined && v.min_available === undefined) report("max_used_percent", "dataset_space needs a threshold: max_used_percent, min_available or both");
    if (check === "replication_lag" && v.max_lag === undefined) report("max_lag", "replication_lag needs max_lag (how far behind the target may fall)");
    if (check === "snapshot_freshness" && v.max_age === undefined) report("max_age", "snapshot_freshness needs max_age (how old the newest snapshot may be)");
  },
};

/** A probe's thresholds with defaults applied, for the evaluator (configuration already valid). */
export interface ProbeThresholds {
  maxCapacityPercent: number;
  maxErrors: number;
  maxScrubAgeS: number | null;
  maxUsedPercent: number | null;
  minAvailable: bigint | null;
  maxLagS: number | null;
  maxHandshakeAgeS: number;
  maxP99Ms: number;
  sampleSeconds: number;
  top: number;
  maxAgeS: number | null;
  snapshotPrefix: string | null;
}

export function probeThresholds(c: Record<string, unknown>): ProbeThresholds {
  const secs = (v: unknown) => (typeof v === "string" ? parseDuration(v, "duration") / 1000 : null);
  const size = (v: unknown) => {
    if (typeof v !== "string") return null;
    const r = parseSize(v);
    return r.ok ? r.value : null;
  };
  return {
    maxCapacityPercent: typeof c.max_capacity_percent === "number" ? c.max_capacity_percent : 80,
    maxErrors: typeof c.max_errors === "number" ? c.max_errors : 0,
    maxScrubAgeS: secs(c.max_scrub_age),
    maxUsedPercent: typeof c.max_used_percent === "number" ? c.max_used_percent : null,
    minAvailable: size(c.min_available),
    maxLagS: secs(c.max_lag),
    maxHandshakeAgeS: secs(c.max_handshake_age) ?? 180,
    maxP99Ms: typeof c.max_p99_ms === "number" ? c.max_p99_ms : 100,
    sampleSeconds: typeof c.sample_seconds === "number" ? c.sample_seconds : 5,
    top: typeof c.top === "number" ? c.top : 5,
    maxAgeS: secs(c.max_age),
    snapshotPrefix: typeof c.snapshot_prefix === "string" ? c.snapshot_prefix : null,
  };
}
