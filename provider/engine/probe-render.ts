/**
 * A probe report three ways: a table for people, JSON for machines (docs/probes.md), and
 * the Prometheus text exposition format (node_exporter's textfile collector, or scraped from
 * `backplane probe --listen`). Pure.
 */
import type { MetricSample, ProbeReport, ProbeResult, ProbeStatus } from "../model/probe.js";
import { probeExitCode } from "../model/probe.js";

/** Every metric backplane exports, with its help text (docs/probes.md lists the same). */
export const METRICS: Record<string, string> = {
  backplane_probe_status: "State of each probe result: 1 for its current status (ok, failing, unsupported, error), 0 for the others.",
  backplane_probe_duration_seconds: "How long the evaluation of all probes took.",
  backplane_probe_timestamp_seconds: "When the probes were evaluated (Unix time).",
  backplane_pool_healthy: "1 when the pool's state is ONLINE, else 0.",
  backplane_pool_errors: "Read, write and checksum errors counted by the pool's devices since they were last cleared.",
  backplane_pool_data_errors: "1 when zpool status reports data errors (damaged files, ZFS-8000-8A), else 0.",
  backplane_pool_capacity_ratio: "Allocated / size of the pool.",
  backplane_pool_last_scrub_timestamp_seconds: "When the last completed scrub finished (Unix time).",
  backplane_pool_scrub_age_seconds: "Seconds since the last completed scrub finished (0 while one runs).",
  backplane_dataset_used_bytes: "Space used by the dataset and its descendants.",
  backplane_dataset_available_bytes: "Space available to the dataset.",
  backplane_dataset_quota_bytes: "The dataset's quota (0: none).",
  backplane_dataset_used_ratio: "Used / quota (used / (used + available) without a quota).",
  backplane_replication_lag_seconds: "How long the replication target has been behind its source (0 when in sync).",
  backplane_replication_snapshots_behind: "Source snapshots newer than the newest one the target has.",
  backplane_replication_unreplicated_bytes: "Bytes written to the source since its newest snapshot.",
  backplane_wireguard_last_handshake_timestamp_seconds: "Latest handshake with the peer (Unix time; 0: never).",
  backplane_wireguard_handshake_age_seconds: "Seconds since the latest handshake with the peer.",
  backplane_snapshot_newest_timestamp_seconds: "Creation time of the dataset's newest (matching) snapshot.",
  backplane_snapshot_age_seconds: "Age of the dataset's newest (matching) snapshot.",
  backplane_io_operations: "Reads or writes of files on the dataset that completed during the sample.",
  backplane_io_inflight: "Reads or writes still running when the sample ended.",
  backplane_io_latency_p50_seconds: "Median read or write latency during the sample (upper bound of its bucket: at most 10 % above the true value).",
  backplane_io_latency_p99_seconds: "99th percentile of read or write latency during the sample (upper bound of its bucket: at most 10 % above the true value).",
  backplane_io_sample_seconds: "Length of the I/O latency sample.",
};

const STATUSES: readonly ProbeStatus[] = ["ok", "failing", "unsupported", "error"];

/** The short name people know a probe by: its construct path without the stack and the L1 leaf. */
export function probeName(r: Pick<ProbeResult, "path" | "address">): string {
  const parts = r.path.split("/");
  if (parts[parts.length - 1] === "resource") parts.pop();
  return parts.length > 1 ? parts.slice(1).join("/") : r.address;
}

export function renderProbeTable(report: ProbeReport, opts: { color?: boolean } = {}): string {
  const paint = (s: ProbeStatus, text: string) => {
    if (!opts.color) return text;
    const code = s === "ok" ? 32 : s === "failing" || s === "error" ? 31 : 33;
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const head = ["PROBE", "HOST", "SUBJECT", "STATUS", "VALUE", "THRESHOLD"];
  const rows = report.results.map((r) => [probeName(r), r.host, r.subject, r.status, r.value, r.threshold]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], status?: ProbeStatus) => cells.map((c, i) => {
    const padded = i === cells.length - 1 ? c : c.padEnd(width[i]!);
    return i === 3 && status ? paint(status, padded) : padded;
  }).join("  ").trimEnd();
  const out = [line(head)];
  report.results.forEach((r, i) => {
    out.push(line(rows[i]!, r.status));
    for (const why of r.reasons) out.push(`    ${r.status === "ok" ? "" : `${r.status}: `}${why}`);
  });
  const count = (s: ProbeStatus) => report.results.filter((r) => r.status === s).length;
  out.push("", `Probes: ${count("ok")} ok, ${count("failing")} failing, ${count("unsupported")} unsupported, ${count("error")} error (${report.results.length} results in ${(report.elapsedMs / 1000).toFixed(1)} s).`);
  return out.join("\n") + "\n";
}

export function renderProbeJson(report: ProbeReport): string {
  return JSON.stringify({
    format_version: "1",
    stack: report.stack,
    at: report.at,
    elapsed_ms: report.elapsedMs,
    exit_code: probeExitCode(report),
    results: report.results.map((r) => ({
      probe: probeName(r), address: r.address, path: r.path, check: r.check, host: r.host, subject: r.subject, status: r.status, value: r.value, threshold: r.threshold, reasons: r.reasons,
      metrics: r.samples.map((s) => ({ name: s.metric, labels: s.labels, value: s.value })),
    })),
  }, null, 2);
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Prometheus text format 0.0.4: one family per metric, HELP and TYPE once, one line per distinct label set. */
export function renderPrometheus(report: ProbeReport): string {
  const samples: MetricSample[] = [];
  for (const r of report.results) {
    for (const s of STATUSES) samples.push({ metric: "backplane_probe_status", labels: { probe: probeName(r), check: r.check, host: r.host, subject: r.subject, status: s }, value: r.status === s ? 1 : 0 });
    samples.push(...r.samples);
  }
  samples.push({ metric: "backplane_probe_duration_seconds", labels: { stack: report.stack }, value: report.elapsedMs / 1000 });
  samples.push({ metric: "backplane_probe_timestamp_seconds", labels: { stack: report.stack }, value: Math.floor(Date.parse(report.at) / 1000) });
  const families = new Map<string, Map<string, number>>();
  for (const s of samples) {
    if (!(s.metric in METRICS)) throw new Error(`metric ${s.metric} is not documented in METRICS`);
    const labels = Object.keys(s.labels).sort().map((k) => `${k}="${escapeLabel(s.labels[k]!)}"`).join(",");
    const f = families.get(s.metric) ?? new Map<string, number>();
    // two probes of one object (different thresholds) measure the same series: exported once
    if (!f.has(labels)) f.set(labels, s.value);
    families.set(s.metric, f);
  }
  const out: string[] = [];
  for (const [metric, series] of families) {
    out.push(`# HELP ${metric} ${escapeHelp(METRICS[metric]!)}`, `# TYPE ${metric} gauge`);
    for (const [labels, value] of series) out.push(`${metric}${labels ? `{${labels}}` : ""} ${formatValue(value)}`);
  }
  return out.join("\n") + "\n";
}
