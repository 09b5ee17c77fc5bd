/**
 * What `backplane probe` found: one result per probe and subject (a WireGuard probe has one
 * per peer, an io_latency probe one per dataset measured), each with the samples it exports
 * as Prometheus metrics. Types only.
 */

export type ProbeStatus = "ok" | "failing" | "unsupported" | "error";

export interface MetricSample {
  /** a name of METRICS (provider/engine/probe-render.ts documents each) */
  metric: string;
  labels: Record<string, string>;
  value: number;
}

export interface ProbeResult {
  /** the probe's resource address */
  address: string;
  /** construct path, for messages */
  path: string;
  check: string;
  host: string;
  /** what this row is about: a pool, dataset, `interface peer`, replication target */
  subject: string;
  status: ProbeStatus;
  /** the measured value as a person reads it ("83 %", "4m12s", "p99 ≤ 2.0 ms") */
  value: string;
  /** the threshold as a person reads it ("≤ 80 %") */
  threshold: string;
  /** why it fails, is unsupported or could not be evaluated (empty when ok) */
  reasons: string[];
  samples: MetricSample[];
}

export interface ProbeReport {
  stack: string;
  /** ISO time the evaluation started */
  at: string;
  elapsedMs: number;
  results: ProbeResult[];
}

/** Exit code as `backplane probe` documents it: 0 all ok, 2 any failing, 1 an error; unsupported is reported, not failing. */
export function probeExitCode(r: ProbeReport): 0 | 1 | 2 {
  if (r.results.some((x) => x.status === "error")) return 1;
  if (r.results.some((x) => x.status === "failing")) return 2;
  return 0;
}
