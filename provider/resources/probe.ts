/**
 * backplane_probe: each check decided from what the refresh read (pure). A probe fails only on
 * a measured value past its threshold or a state that is plainly unhealthy; a fact the host
 * could not give makes it an error, a capability the host lacks makes it unsupported — never a
 * made-up number.
 */
import type { HostLive, Readable, VdevStatus, WgInterface } from "../model/live.js";
import type { Plan, Sync } from "../model/plan.js";
import type { DesiredResource } from "../model/desired.js";
import type { MetricSample, ProbeResult, ProbeStatus } from "../model/probe.js";
import type { ProbeCheck, ProbeThresholds } from "../schema/kinds/probe.js";
import type { IoSample } from "../zfs/io-latency.js";
import { lastRunFailure } from "../systemd/timers.js";
import { policyUnitName, SNAPSHOT_POLICY } from "./snapshot-policy.js";
import { replicationId } from "./replication.js";

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
  /** the epoch seconds the replications' lag was computed at (the operator's clock): lag is moved onto the source host's clock */
  planNow?: number;
  /** this host's timers whose last run failed (snapshot policies, scheduled replications) */
  failedRuns?: readonly FailedRun[];
}

/** A timer of the stack whose last run failed, and what it covers. */
export interface FailedRun {
  host: string;
  kind: "snapshot" | "replicate";
  dataset: string;
  /** a recursive snapshot policy covers the tree under `dataset` */
  recursive: boolean;
  reason: string;
}

/** The stack's timers (by unit name, from the lineage) whose last run failed on the hosts read. */
export function scheduleFailures(resources: readonly DesiredResource[], lineage: string, live: ReadonlyMap<string, HostLive>): FailedRun[] {
  const out: FailedRun[] = [];
  for (const r of resources) {
    const timers = live.get(r.host)?.timers;
    if (!timers) continue;
    const policy = r.type === SNAPSHOT_POLICY;
    if (!policy && !(r.type === "backplane_replication" && r.config.every !== undefined)) continue;
    const unit = policy ? policyUnitName(lineage, r.address) : `backplane-replicate-${replicationId(lineage, r.address)}`;
    const f = lastRunFailure(unit, timers);
    if (!f) continue;
    const when = f.at !== null ? ` at ${new Date(f.at * 1000).toISOString()}` : "";
    const reason = `the last run of ${unit}.timer${policy ? "" : ` on ${r.host}`} failed (${f.result}${f.exitStatus !== null ? `, exit ${f.exitStatus}` : ""})${when}: journalctl -u ${unit}.service`;
    if (policy) out.push({ host: r.host, kind: "snapshot", dataset: String(r.config.dataset), recursive: r.config.recursive === true, reason });
    else {
      out.push({ host: r.host, kind: "replicate", dataset: String(r.config.source_dataset), recursive: false, reason });
      // the target's snapshots are what the source's timer sends: their freshness fails with it
      out.push({ host: String(r.config.target_host), kind: "snapshot", dataset: String(r.config.target_dataset), recursive: false, reason });
    }
  }
  return out;
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
  if (p.check === "replication_lag") return [withFailedRuns(replicationLag(p, c), (c.failedRuns ?? []).filter((f) => f.kind === "replicate" && f.dataset === p.target))];
  if (!c.live) return [row(p, p.target, "error", "-", "-", [`host ${p.host} could not be read: ${c.unread ?? "unknown reason"}`], [])];
  const live = c.live;
  if (p.check === "io_latency") return ioLatency(p, c.io, live);
  if (p.check === "wireguard_handshake") return wireguardHandshake(p, live, c.peerNames);
  if (!live.health) return [row(p, p.target, "error", "-", "-", ["health facts were not read (internal: refresh without health)"], [])];
  if (p.check === "pool_health") return [poolHealth(p, live)];
  if (p.check === "dataset_space") return [datasetSpace(p, live)];
  return [withFailedRuns(snapshotFreshness(p, live), (c.failedRuns ?? []).filter((f) => f.kind === "snapshot" && (f.dataset === p.target || (f.recursive && p.target.startsWith(`${f.dataset}/`)))))];
}

/** A check of what a timer produces fails when that timer's last run failed, whatever the numbers say. */
function withFailedRuns(r: ProbeResult, failed: readonly FailedRun[]): ProbeResult {
  if (failed.length === 0 || r.status === "error") return r;
  return { ...r, status: "failing", reasons: [...r.reasons, ...failed.map((f) => f.reason)] };
}

/**
 * Errors of a pool: the devices' own counters (leaves), or an interior vdev's when it counted
 * more (raidz reconstruction errors are counted on the raidz); never both added up, which
 * would count one error twice.
 */
export function poolErrors(vdevs: readonly VdevStatus[]): { read: number; write: number; checksum: number; bad: string[] } {
  const rows = vdevs.filter((v) => !v.spare);
  const leaf = (i: number) => i === rows.length - 1 || rows[i + 1]!.depth <= rows[i]!.depth;
  const sum = { read: 0, write: 0, checksum: 0 };
  const bad: string[] = [];
  const describe = (v: VdevStatus) => `${v.name}: ${[v.read ? `${v.read} read` : "", v.write ? `${v.write} write` : "", v.checksum ? `${v.checksum} checksum` : ""].filter(Boolean).join(", ")}`;
  rows.forEach((v, i) => {
    if (!leaf(i)) return;
    sum.read += v.read;
    sum.write += v.write;
    sum.checksum += v.checksum;
    if (v.read + v.write + v.checksum > 0) bad.push(describe(v));
  });
  for (const v of rows.filter((_, i) => !leaf(i))) {
    for (const k of ["read", "write", "checksum"] as const) if (v[k] > sum[k]) {
      sum[k] = v[k];
      if (!bad.some((b) => b.startsWith(`${v.name}: `))) bad.push(describe(v));
    }
  }
  return { ...sum, bad };
}

function poolHealth(p: ProbeInput, live: HostLive): ProbeResult {
  const h = live.health!;
  const threshold = [`ONLINE`, `errors ≤ ${p.t.maxErrors}`, `capacity ≤ ${p.t.maxCapacityPercent} %`, ...(p.t.maxScrubAgeS !== null ? [`scrub ≤ ${ago(p.t.maxScrubAgeS)} ago`] : [])].join(", ");
  const pools = fact(h.pools);
  if (typeof pools === "string") return row(p, p.target, "error", "-", threshold, [`zpool status could not be read: ${pools}`], []);
  const st = pools.get(p.target);
  const labels = { host: p.host, pool: p.target };
  if (!st) return row(p, p.target, "failing", "absent", threshold, [`pool ${p.target} does not exist on ${p.host}`], [{ metric: "backplane_pool_healthy", labels, value: 0 }]);
  if (st.problem) return row(p, p.target, "error", st.state || "-", threshold, [`its zpool status was not understood: ${st.problem}`], []);
  const reasons: string[] = [];
  const inconclusive: string[] = [];
  if (st.state !== "ONLINE") reasons.push(`state ${st.state}`);
  for (const v of st.vdevs) if (v.depth > 0 && !v.spare && v.state !== "ONLINE") reasons.push(`${v.name} is ${v.state}`);
  const sum = poolErrors(st.vdevs);
  const errors = sum.read + sum.write + sum.checksum;
  if (errors > p.t.maxErrors) reasons.push(`${errors} I/O error${errors === 1 ? "" : "s"} (${sum.bad.join("; ")})`);
  // permanent errors in files survive `zpool clear` and leave the pool ONLINE (ZFS-8000-8A)
  if (st.errorsLine === null) inconclusive.push("zpool status printed no errors: line");
  else if (st.errorsLine !== "No known data errors") reasons.push(`data errors: ${st.errorsLine}`);
  const lp = live.pools.get(p.target);
  const size = lp && /^\d+$/.test(lp.row.size) ? Number(lp.row.size) : null;
  const alloc = lp && /^\d+$/.test(lp.row.allocated) ? Number(lp.row.allocated) : null;
  const percent = fact(h.capacity);
  // byte counts where the pool list has them; an old ZFS's whole percent otherwise
  const capacity = size && alloc !== null ? (alloc / size) * 100 : typeof percent === "string" ? null : percent.get(p.target) ?? null;
  if (capacity === null) inconclusive.push(`the capacity of ${p.target} could not be read (zpool list gave no byte counts)`);
  else if (capacity > p.t.maxCapacityPercent) reasons.push(`capacity ${pct(capacity)} > ${p.t.maxCapacityPercent} %`);
  // a pool younger than the allowed scrub age is not overdue for its first scrub
  const space = fact(h.space);
  const created = typeof space === "string" ? null : space.get(p.target)?.creation ?? null;
  const poolAge = created !== null ? h.now - created : null;
  const scan = st.scan;
  const scrub = scan && scan.kind === "scrub" ? scan : null;
  // a running scrub: the last completed one is at least as old as its start (zfs-fuse prints no start)
  const scrubAge = scrub && scrub.time !== null ? h.now - scrub.time : scrub?.state === "in progress" ? 0 : null;
  if (p.t.maxScrubAgeS !== null) {
    const max = p.t.maxScrubAgeS;
    if (!scan || scan.kind === "none") {
      if (poolAge === null || poolAge > max) reasons.push(`never scrubbed${poolAge !== null ? ` (pool created ${ago(poolAge)} ago)` : ""}`);
    } else if (scan.kind === "resilver") reasons.push(`the last scan was a resilver (${scan.state}); zpool status does not show when the last scrub ran`);
    else if (scan.kind === "other") inconclusive.push(`the scan line '${scan.text}' is not one backplane knows: when the last scrub ran is not known`);
    else if (scrub && scrub.state !== "finished" && scrub.state !== "in progress") reasons.push(`the last scrub was ${scrub.state} ${ago(scrubAge ?? 0)} ago`);
    else if (scrub?.state === "in progress" && scrubAge !== null && scrubAge > max) reasons.push(`a scrub has been running for ${ago(scrubAge)}: the last completed one is older than ${ago(max)}`);
    else if (scrub?.state === "finished" && scrubAge !== null && scrubAge > max) reasons.push(`last scrub ${ago(scrubAge)} ago > ${ago(max)}`);
  }
  if (scrub?.state === "finished" && scrub.errors) reasons.push(`the last scrub found ${scrub.errors} unrepaired error${scrub.errors === 1 ? "" : "s"}`);
  const samples: MetricSample[] = [
    { metric: "backplane_pool_healthy", labels, value: st.state === "ONLINE" ? 1 : 0 },
    ...(["read", "write", "checksum"] as const).map((type) => ({ metric: "backplane_pool_errors", labels: { ...labels, type }, value: sum[type] })),
    { metric: "backplane_pool_data_errors", labels, value: st.errorsLine === "No known data errors" ? 0 : 1 },
    ...(capacity !== null ? [{ metric: "backplane_pool_capacity_ratio", labels, value: capacity / 100 }] : []),
    ...(scrub?.state === "finished" ? [{ metric: "backplane_pool_last_scrub_timestamp_seconds", labels, value: scrub.time! }] : []),
    ...(scrub?.state === "finished" && scrubAge !== null ? [{ metric: "backplane_pool_scrub_age_seconds", labels, value: scrubAge }] : []),
  ];
  const scanText = scrub?.state === "in progress" ? "scrub running" : scrub?.state === "finished" ? `scrub ${ago(scrubAge!)} ago` : scan?.kind === "resilver" ? "resilvered" : scan?.kind === "other" ? "scan ?" : scrub ? `scrub ${scrub.state}` : `never scrubbed${poolAge !== null ? ` (created ${ago(poolAge)} ago)` : ""}`;
  const value = [st.state, `${errors} errors`, capacity !== null ? pct(capacity) : "capacity ?", scanText].join(", ");
  if (reasons.length) return row(p, p.target, "failing", value, threshold, reasons, samples);
  // a threshold that could not be checked is not a pass
  if (inconclusive.length) return row(p, p.target, "error", value, threshold, inconclusive, samples);
  return row(p, p.target, "ok", value, threshold, [], samples);
}

function datasetSpace(p: ProbeInput, live: HostLive): ProbeResult {
  const threshold = [...(p.t.maxUsedPercent !== null ? [`used ≤ ${p.t.maxUsedPercent} %`] : []), ...(p.t.minAvailable !== null ? [`available ≥ ${bytes(p.t.minAvailable)}`] : [])].join(", ");
  const space = fact(live.health!.space);
  if (typeof space === "string") return row(p, p.target, "error", "-", threshold, [`dataset space could not be read: ${space}`], []);
  const s = space.get(p.target);
  if (!s) return row(p, p.target, "failing", "absent", threshold, [`dataset ${p.target} does not exist on ${p.host}`], []);
  // of the quota when there is one (refquota counts without snapshots), else of what the dataset could reach
  // the tighter of the quota and what the pool can still give (a 500G quota on an 800M pool)
  const reach = s.used + s.available;
  const limit = s.quota > 0n && s.quota < reach ? s.quota : reach;
  const used = limit > 0n ? (Number(s.used) / Number(limit)) * 100 : 0;
  const reasons: string[] = [];
  if (p.t.maxUsedPercent !== null && used > p.t.maxUsedPercent) reasons.push(`used ${pct(used)} of ${limit === s.quota ? `its quota ${bytes(s.quota)}` : `${bytes(limit)} (used + available${s.quota > 0n ? `, less than its quota ${bytes(s.quota)}` : "; no quota"})`} > ${p.t.maxUsedPercent} %`);
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
    // a peer the stack does not know is named by its whole public key (public; two keys may share a prefix)
    const name = peerNames.get(peer.publicKey) ?? peer.publicKey;
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
  // in sync: nothing on the source the target lacks, however long ago the last snapshot was;
  // otherwise counted by the source host's clock, as every age a probe reports
  const skew = c.planNow !== undefined && c.live.health ? c.live.health.now - c.planNow : 0;
  const lag = s.status === "in sync" ? 0 : Math.max(0, s.lagSeconds + skew);
  samples.push({ metric: "backplane_replication_lag_seconds", labels, value: lag });
  const what = s.status === "in sync" ? "in sync" : [s.status === "interrupted" ? "interrupted transfer" : "", s.behind ? `${s.behind} snapshot${s.behind === 1 ? "" : "s"} behind` : "", s.written ? `${bytes(BigInt(s.written))} written since` : ""].filter(Boolean).join(", ");
  const failing = lag > p.t.maxLagS!;
  return row(p, subject, failing ? "failing" : "ok", s.status === "in sync" ? "in sync" : `${ago(lag)} behind (${what})`, threshold, failing ? [`the target has been behind for ${ago(lag)} (${what}) > ${ago(p.t.maxLagS!)}`] : [], samples);
}

function ioLatency(p: ProbeInput, io: IoSample | undefined, live: HostLive): ProbeResult[] {
  const threshold = `p99 ≤ ${p.t.maxP99Ms} ms`;
  if (!io) return [row(p, p.target, "error", "-", threshold, ["the host was not sampled"], [])];
  if ("unsupported" in io) return [row(p, p.target, "unsupported", "-", threshold, [io.unsupported], [])];
  if ("failed" in io) return [row(p, p.target, "error", "-", threshold, [io.failed], [])];
  const under = (d: string) => d === p.target || d.startsWith(`${p.target}/`);
  // "no I/O" is only true of something that exists and could have been seen
  if (!live.datasets.has(p.target)) return [row(p, p.target, "failing", "absent", threshold, [`${p.target} does not exist on ${p.host}`], [])];
  if (!io.mounted.some(under)) return [row(p, p.target, "unsupported", "-", threshold, [`no file system at or below ${p.target} is mounted on ${p.host} (a volume, canmount=off or unmounted): io_latency measures file I/O on mounted ZFS file systems`], [])];
  const mine = io.datasets.filter((d) => under(d.dataset));
  if (mine.length === 0) return [row(p, p.target, "ok", `no I/O in ${io.seconds} s`, threshold, [], [{ metric: "backplane_io_sample_seconds", labels: { host: p.host, dataset: p.target }, value: io.seconds }])];
  const worst = (d: (typeof mine)[number]) => Math.max(d.read?.p99Us ?? 0, d.write?.p99Us ?? 0, d.read?.oldestInflightUs ?? 0, d.write?.oldestInflightUs ?? 0);
  const busy = (d: (typeof mine)[number]) => (d.read?.ops ?? 0) + (d.write?.ops ?? 0);
  // slowest first; equal latencies: the busier dataset first
  const sorted = [...mine].sort((a, b) => worst(b) - worst(a) || busy(b) - busy(a) || a.dataset.localeCompare(b.dataset));
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
        { metric: "backplane_io_inflight", labels: { ...labels, op }, value: x.inflight },
      );
      if (x.ops) {
        samples.push(
          { metric: "backplane_io_latency_p50_seconds", labels: { ...labels, op }, value: x.p50Us / 1e6 },
          { metric: "backplane_io_latency_p99_seconds", labels: { ...labels, op }, value: x.p99Us / 1e6 },
        );
        parts.push(`${op} ${x.ops} ops p50 ≤ ${ms(x.p50Us)} p99 ≤ ${ms(x.p99Us)}`);
        // the quantile's bucket upper bound: at most 10 % above the true value, never below it
        if (x.p99Us / 1000 > p.t.maxP99Ms) reasons.push(`${op} p99 ≤ ${ms(x.p99Us)} (≥ ${ms(x.p99LowUs)}) > ${p.t.maxP99Ms} ms (${x.ops} ops in ${io.seconds} s)`);
      }
      if (x.inflight) {
        parts.push(`${x.inflight} ${op}${x.inflight === 1 ? "" : "s"} still running (oldest ${ms(x.oldestInflightUs)})`);
        // a call that never returned is slower than anything that did
        if (x.oldestInflightUs / 1000 > p.t.maxP99Ms) reasons.push(`${x.inflight} ${op}${x.inflight === 1 ? "" : "s"} still running at the end of the sample, the oldest for ${ms(x.oldestInflightUs)} > ${p.t.maxP99Ms} ms`);
      }
    }
    return row(p, d.dataset, reasons.length ? "failing" : "ok", parts.join("; "), threshold, reasons, samples);
  });
}
