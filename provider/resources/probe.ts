/**
 * backplane_probe: each check decided from what the refresh read (pure). A probe fails only on
 * a measured value past its threshold or a state that is plainly unhealthy; a fact the host
 * could not give makes it an error, a capability the host lacks makes it unsupported — never a
 * made-up number.
 */
import type { HostLive, Readable, WgInterface } from "../model/live.js";
import type { Plan, Sync } from "../model/plan.js";
import type { DesiredResource } from "../model/desired.js";
import type { MetricSample, ProbeResult, ProbeStatus } from "../model/probe.js";
import type { ProbeCheck, ProbeThresholds } from "../schema/kinds/probe.js";
import type { IoSample } from "../zfs/io-latency.js";

export interface ProbeInput {
  address: string;
  path: string;
  host: string;
  check: ProbeCheck;
  target: string;
  t: ProbeThresholds;
}

/** A replication the stack declares, with the transfer the plan worked out for it. */
export interface ReplicationView {
  address: string;
  sourceHost: string;
  sourceDataset: string;
  targetHost: string;
  targetDataset: string;
  sync: Sync | null;
  /** why there is no sync (a host not read, a plan error of the replication or its datasets) */
  noSync?: string;
}

/** Each declared replication with the plan's transfer for it, or why there is none (never "behind" by default). */
export function replicationViews(resources: readonly DesiredResource[], plan: Plan, unread: ReadonlyMap<string, string>): ReplicationView[] {
  const syncs = new Map((plan.syncs ?? []).map((s) => [s.address, s]));
  return resources.filter((r) => r.type === "backplane_replication").map((r) => {
    const [targetHost, sourceHost] = [String(r.config.target_host), r.host];
    const planned = syncs.get(r.address) ?? null;
    const why = planned ? undefined
      : unread.has(targetHost) ? `the target host ${targetHost} could not be read: ${unread.get(targetHost)}`
      : unread.has(sourceHost) ? `the source host ${sourceHost} could not be read: ${unread.get(sourceHost)}`
      : plan.errors.filter((e) => e.address === r.address).map((e) => e.message).join("; ") || `the replication could not be planned: ${plan.errors.map((e) => `${e.address}: ${e.message}`).slice(0, 3).join("; ") || "no reason given"}`;
    return { address: r.address, sourceHost, sourceDataset: String(r.config.source_dataset), targetHost, targetDataset: String(r.config.target_dataset), sync: planned, ...(why ? { noSync: why } : {}) };
  });
}

export interface ProbeContext {
  /** the probe's host as read (health facts included); null when it could not be read */
  live: HostLive | null;
  /** why the host could not be read */
  unread: string | null;
  replications: readonly ReplicationView[];
  /** WireGuard public key → "host/interface" of the stack's other ends, to name peers */
  peerNames: ReadonlyMap<string, string>;
  /** io_latency's sample of this host (absent: not sampled) */
  io?: IoSample;
}

// ---- formatting ------------------------------------------------------------------------

export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ""}`;
}

const pct = (x: number) => `${x.toFixed(1)} %`;

function bytes(b: bigint): string {
  const units = ["B", "K", "M", "G", "T", "P", "E"];
  let v = Number(b);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : 1)}${units[i]}`;
}

const ms = (us: number) => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;

// ---- evaluation ------------------------------------------------------------------------

function row(p: ProbeInput, subject: string, status: ProbeStatus, value: string, threshold: string, reasons: string[], samples: MetricSample[]): ProbeResult {
  return { address: p.address, path: p.path, check: p.check, host: p.host, subject, status, value, threshold, reasons, samples };
}

const fact = <T>(r: Readable<T>): T | string => ("value" in r ? r.value : r.unreadable);

export function evaluateProbe(p: ProbeInput, c: ProbeContext): ProbeResult[] {
  if (p.check === "replication_lag") return [replicationLag(p, c)];
  if (!c.live) return [row(p, p.target, "error", "-", "-", [`host ${p.host} could not be read: ${c.unread ?? "unknown reason"}`], [])];
  const live = c.live;
  if (p.check === "io_latency") return ioLatency(p, c.io);
  if (p.check === "wireguard_handshake") return wireguardHandshake(p, live, c.peerNames);
  if (!live.health) return [row(p, p.target, "error", "-", "-", ["health facts were not read (internal: refresh without health)"], [])];
  if (p.check === "pool_health") return [poolHealth(p, live)];
  if (p.check === "dataset_space") return [datasetSpace(p, live)];
  return [snapshotFreshness(p, live)];
}

function poolHealth(p: ProbeInput, live: HostLive): ProbeResult {
  const h = live.health!;
  const threshold = [`ONLINE`, `errors ≤ ${p.t.maxErrors}`, `capacity ≤ ${p.t.maxCapacityPercent} %`, ...(p.t.maxScrubAgeS !== null ? [`scrub ≤ ${ago(p.t.maxScrubAgeS)} ago`] : [])].join(", ");
  const pools = fact(h.pools);
  if (typeof pools === "string") return row(p, p.target, "error", "-", threshold, [`zpool status could not be read: ${pools}`], []);
  const st = pools.get(p.target);
  const labels = { host: p.host, pool: p.target };
  if (!st) return row(p, p.target, "failing", "absent", threshold, [`pool ${p.target} does not exist on ${p.host}`], [{ metric: "backplane_pool_healthy", labels, value: 0 }]);
  const reasons: string[] = [];
  if (st.state !== "ONLINE") reasons.push(`state ${st.state}`);
  const sum = { read: 0, write: 0, checksum: 0 };
  const bad: string[] = [];
  for (const v of st.vdevs) {
    // the pool's own row repeats what its vdevs saw on some versions: count devices only
    if (v.depth === 0 && st.vdevs.length > 1) continue;
    sum.read += v.read;
    sum.write += v.write;
    sum.checksum += v.checksum;
    if (v.read + v.write + v.checksum > 0) bad.push(`${v.name}: ${[v.read ? `${v.read} read` : "", v.write ? `${v.write} write` : "", v.checksum ? `${v.checksum} checksum` : ""].filter(Boolean).join(", ")}`);
    if (v.depth > 0 && !["ONLINE", "AVAIL", "INUSE"].includes(v.state)) reasons.push(`${v.name} is ${v.state}`);
  }
  const errors = sum.read + sum.write + sum.checksum;
  if (errors > p.t.maxErrors) reasons.push(`${errors} I/O error${errors === 1 ? "" : "s"} (${bad.join("; ")})`);
  const lp = live.pools.get(p.target);
  const size = lp && /^\d+$/.test(lp.row.size) ? Number(lp.row.size) : null;
  const alloc = lp && /^\d+$/.test(lp.row.allocated) ? Number(lp.row.allocated) : null;
  const percent = fact(h.capacity);
  // byte counts where the pool list has them; an old ZFS's whole percent otherwise
  const capacity = size && alloc !== null ? (alloc / size) * 100 : typeof percent === "string" ? null : percent.get(p.target) ?? null;
  if (capacity !== null && capacity > p.t.maxCapacityPercent) reasons.push(`capacity ${pct(capacity)} > ${p.t.maxCapacityPercent} %`);
  const scan = st.scan;
  // (zfs-fuse prints no start time for a running scrub)
  const scrubbed = scan && scan.kind === "scrub" && (scan.time !== null || scan.state === "in progress") ? scan : null;
  const scrubAge = scrubbed ? (scrubbed.state === "in progress" ? 0 : h.now - scrubbed.time!) : null;
  // a pool younger than the allowed scrub age is not overdue for its first scrub
  const space = fact(h.space);
  const created = typeof space === "string" ? null : space.get(p.target)?.creation ?? null;
  const poolAge = created !== null ? h.now - created : null;
  if (p.t.maxScrubAgeS !== null) {
    if (!scan || scan.kind === "none") {
      if (poolAge === null || poolAge > p.t.maxScrubAgeS) reasons.push(`never scrubbed${poolAge !== null ? ` (pool created ${ago(poolAge)} ago)` : ""}`);
    }
    else if (scan.kind === "resilver") reasons.push(`the last scan was a resilver (${scan.state}); zpool status does not show when the last scrub ran`);
    else if (scrubbed && scrubbed.state !== "finished" && scrubbed.state !== "in progress") reasons.push(`the last scrub was ${scrubbed.state} ${ago(h.now - scrubbed.time!)} ago`);
    else if (scrubAge !== null && scrubAge > p.t.maxScrubAgeS) reasons.push(`last scrub ${ago(scrubAge)} ago > ${ago(p.t.maxScrubAgeS)}`);
  }
  if (scrubbed?.state === "finished" && scrubbed.errors) reasons.push(`the last scrub found ${scrubbed.errors} unrepaired error${scrubbed.errors === 1 ? "" : "s"}`);
  const samples: MetricSample[] = [
    { metric: "backplane_pool_healthy", labels, value: st.state === "ONLINE" ? 1 : 0 },
    ...(["read", "write", "checksum"] as const).map((type) => ({ metric: "backplane_pool_errors", labels: { ...labels, type }, value: sum[type] })),
    ...(capacity !== null ? [{ metric: "backplane_pool_capacity_ratio", labels, value: capacity / 100 }] : []),
    ...(scrubbed?.state === "finished" ? [{ metric: "backplane_pool_last_scrub_timestamp_seconds", labels, value: scrubbed.time! }] : []),
    ...(scrubAge !== null ? [{ metric: "backplane_pool_scrub_age_seconds", labels, value: scrubAge }] : []),
  ];
  const value = [st.state, `${errors} errors`, capacity !== null ? pct(capacity) : "capacity ?", scrubAge !== null ? (scrubbed!.state === "in progress" ? "scrub running" : `scrub ${ago(scrubAge)} ago`) : scan?.kind === "resilver" ? "resilvered" : `never scrubbed${poolAge !== null ? ` (created ${ago(poolAge)} ago)` : ""}`].join(", ");
  // a threshold that could not be checked is not a pass
  if (!reasons.length && capacity === null) return row(p, p.target, "error", value, threshold, [`the capacity of ${p.target} could not be read (zpool list gave no byte counts)`], samples);
  return row(p, p.target, reasons.length ? "failing" : "ok", value, threshold, reasons, samples);
}

function datasetSpace(p: ProbeInput, live: HostLive): ProbeResult {
  const threshold = [...(p.t.maxUsedPercent !== null ? [`used ≤ ${p.t.maxUsedPercent} %`] : []), ...(p.t.minAvailable !== null ? [`available ≥ ${bytes(p.t.minAvailable)}`] : [])].join(", ");
  const space = fact(live.health!.space);
  if (typeof space === "string") return row(p, p.target, "error", "-", threshold, [`dataset space could not be read: ${space}`], []);
  const s = space.get(p.target);
  if (!s) return row(p, p.target, "failing", "absent", threshold, [`dataset ${p.target} does not exist on ${p.host}`], []);
  // of the quota when there is one (refquota counts without snapshots), else of what the dataset could reach
  const limit = s.quota > 0n ? s.quota : s.used + s.available;
  const used = limit > 0n ? (Number(s.used) / Number(limit)) * 100 : 0;
  const reasons: string[] = [];
  if (p.t.maxUsedPercent !== null && used > p.t.maxUsedPercent) reasons.push(`used ${pct(used)} of ${s.quota > 0n ? `its quota ${bytes(s.quota)}` : `${bytes(limit)} (used + available; no quota)`} > ${p.t.maxUsedPercent} %`);
  if (p.t.minAvailable !== null && s.available < p.t.minAvailable) reasons.push(`available ${bytes(s.available)} < ${bytes(p.t.minAvailable)}`);
  const labels = { host: p.host, dataset: p.target };
  const samples: MetricSample[] = [
    { metric: "backplane_dataset_used_bytes", labels, value: Number(s.used) },
    { metric: "backplane_dataset_available_bytes", labels, value: Number(s.available) },
    { metric: "backplane_dataset_quota_bytes", labels, value: Number(s.quota) },
    { metric: "backplane_dataset_used_ratio", labels, value: used / 100 },
  ];
  return row(p, p.target, reasons.length ? "failing" : "ok", `used ${bytes(s.used)} (${pct(used)}), available ${bytes(s.available)}`, threshold, reasons, samples);
}

function snapshotFreshness(p: ProbeInput, live: HostLive): ProbeResult {
  const prefix = p.t.snapshotPrefix ?? "";
  const threshold = `newest${prefix ? ` ${prefix}*` : ""} ≤ ${ago(p.t.maxAgeS!)} old`;
  const snaps = fact(live.health!.snapshots);
  if (typeof snaps === "string") return row(p, p.target, "error", "-", threshold, [`snapshots could not be read: ${snaps}`], []);
  let newest: { name: string; creation: number } | null = null;
  for (const [name, s] of snaps) if (name.startsWith(`${p.target}@${prefix}`) && (!newest || s.creation > newest.creation)) newest = { name, creation: s.creation };
  const labels = { host: p.host, dataset: p.target };
  if (!newest) return row(p, p.target, "failing", "none", threshold, [`${p.target} has no snapshot${prefix ? ` named ${prefix}*` : ""}`], []);
  const age = live.health!.now - newest.creation;
  const reasons = age > p.t.maxAgeS! ? [`newest snapshot ${newest.name} is ${ago(age)} old > ${ago(p.t.maxAgeS!)}`] : [];
  return row(p, p.target, reasons.length ? "failing" : "ok", `${newest.name.slice(newest.name.indexOf("@"))} ${ago(age)} ago`, threshold, reasons, [
    { metric: "backplane_snapshot_newest_timestamp_seconds", labels, value: newest.creation },
    { metric: "backplane_snapshot_age_seconds", labels, value: age },
  ]);
}

function wireguardHandshake(p: ProbeInput, live: HostLive, peerNames: ReadonlyMap<string, string>): ProbeResult[] {
  const threshold = `handshake ≤ ${ago(p.t.maxHandshakeAgeS)} ago`;
  const i: WgInterface | undefined = live.wg.interfaces.get(p.target);
  if (!i) return [row(p, p.target, "failing", "down", threshold, [`WireGuard interface ${p.target} is not up on ${p.host}`], [])];
  if (i.peers.size === 0) return [row(p, p.target, "failing", "no peers", threshold, [`${p.target} has no peers`], [])];
  const now = live.health?.now ?? Math.floor(Date.now() / 1000);
  return [...i.peers.values()].map((peer) => {
    const name = peerNames.get(peer.publicKey) ?? `${peer.publicKey.slice(0, 8)}…`;
    const labels = { host: p.host, interface: p.target, peer: name };
    const samples: MetricSample[] = [{ metric: "backplane_wireguard_last_handshake_timestamp_seconds", labels, value: peer.latestHandshake }];
    if (peer.latestHandshake === 0) return row(p, `${p.target} → ${name}`, "failing", "never", threshold, [`${name} never completed a handshake`], samples);
    const age = now - peer.latestHandshake;
    samples.push({ metric: "backplane_wireguard_handshake_age_seconds", labels, value: age });
    return row(p, `${p.target} → ${name}`, age > p.t.maxHandshakeAgeS ? "failing" : "ok", `${ago(age)} ago`, threshold, age > p.t.maxHandshakeAgeS ? [`latest handshake with ${name} ${ago(age)} ago > ${ago(p.t.maxHandshakeAgeS)}`] : [], samples);
  });
}

function replicationLag(p: ProbeInput, c: ProbeContext): ProbeResult {
  const threshold = `lag ≤ ${ago(p.t.maxLagS!)}`;
  const r = c.replications.find((x) => x.sourceHost === p.host && x.sourceDataset === p.target);
  if (!r) return row(p, p.target, "error", "-", threshold, [`no backplane_replication of this stack sends ${p.target} from ${p.host}`], []);
  const subject = `${p.target} → ${r.targetHost}:${r.targetDataset}`;
  if (!c.live) return row(p, subject, "error", "-", threshold, [`host ${p.host} could not be read: ${c.unread ?? "unknown reason"}`], []);
  if (!r.sync) return row(p, subject, "error", "-", threshold, [r.noSync ?? "the replication could not be planned"], []);
  const s = r.sync;
  const labels = { host: p.host, dataset: p.target, target_host: r.targetHost, target_dataset: r.targetDataset };
  const samples: MetricSample[] = [{ metric: "backplane_replication_snapshots_behind", labels, value: s.behind }];
  if (s.written !== null) samples.push({ metric: "backplane_replication_unreplicated_bytes", labels, value: s.written });
  if (s.status === "never replicated" || s.lagSeconds === null) return row(p, subject, "failing", "never replicated", threshold, [`${r.targetHost}:${r.targetDataset} has no snapshot in common with the source`], samples);
  // in sync: nothing on the source the target lacks, however long ago the last snapshot was
  const lag = s.status === "in sync" ? 0 : s.lagSeconds;
  samples.push({ metric: "backplane_replication_lag_seconds", labels, value: lag });
  const what = s.status === "in sync" ? "in sync" : [s.status === "interrupted" ? "interrupted transfer" : "", s.behind ? `${s.behind} snapshot${s.behind === 1 ? "" : "s"} behind` : "", s.written ? `${bytes(BigInt(s.written))} written since` : ""].filter(Boolean).join(", ");
  const failing = lag > p.t.maxLagS!;
  return row(p, subject, failing ? "failing" : "ok", s.status === "in sync" ? "in sync" : `${ago(lag)} behind (${what})`, threshold, failing ? [`the target has been behind for ${ago(lag)} (${what}) > ${ago(p.t.maxLagS!)}`] : [], samples);
}

function ioLatency(p: ProbeInput, io: IoSample | undefined): ProbeResult[] {
  const threshold = `p99 ≤ ${p.t.maxP99Ms} ms`;
  if (!io) return [row(p, p.target, "error", "-", threshold, ["the host was not sampled"], [])];
  if ("unsupported" in io) return [row(p, p.target, "unsupported", "-", threshold, [io.unsupported], [])];
  if ("failed" in io) return [row(p, p.target, "error", "-", threshold, [io.failed], [])];
  const mine = io.datasets.filter((d) => d.dataset === p.target || d.dataset.startsWith(`${p.target}/`));
  if (mine.length === 0) return [row(p, p.target, "ok", `no I/O in ${io.seconds} s`, threshold, [], [{ metric: "backplane_io_sample_seconds", labels: { host: p.host, dataset: p.target }, value: io.seconds }])];
  const p99 = (d: (typeof mine)[number]) => Math.max(d.read?.p99Us ?? 0, d.write?.p99Us ?? 0);
  // slowest first; equal latencies: the busier dataset first
  const sorted = [...mine].sort((a, b) => p99(b) - p99(a) || ((b.read?.ops ?? 0) + (b.write?.ops ?? 0)) - ((a.read?.ops ?? 0) + (a.write?.ops ?? 0)) || a.dataset.localeCompare(b.dataset));
  return sorted.slice(0, p.t.top).map((d) => {
    const labels = { host: p.host, dataset: d.dataset };
    const samples: MetricSample[] = [{ metric: "backplane_io_sample_seconds", labels, value: io.seconds }];
    const parts: string[] = [];
    const reasons: string[] = [];
    for (const op of ["read", "write"] as const) {
      const x = d[op];
      if (!x) continue;
      samples.push(
        { metric: "backplane_io_operations", labels: { ...labels, op }, value: x.ops },
        { metric: "backplane_io_latency_seconds", labels: { ...labels, op, quantile: "0.5" }, value: x.p50Us / 1e6 },
        { metric: "backplane_io_latency_seconds", labels: { ...labels, op, quantile: "0.99" }, value: x.p99Us / 1e6 },
      );
      parts.push(`${op} ${x.ops} ops p50 ≤ ${ms(x.p50Us)} p99 ≤ ${ms(x.p99Us)}`);
      // the quantile is known to a log2 bucket: failing only when the whole bucket is past the threshold
      if (x.p99LowUs / 1000 > p.t.maxP99Ms) reasons.push(`${op} p99 ${ms(x.p99LowUs)}–${ms(x.p99Us)} > ${p.t.maxP99Ms} ms (${x.ops} ops in ${io.seconds} s)`);
    }
    return row(p, d.dataset, reasons.length ? "failing" : "ok", parts.join("; "), threshold, reasons, samples);
  });
}
