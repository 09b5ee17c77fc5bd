/**
 * Refresh: what one host looks like, read in ONE round trip (a batched script) and parsed
 * by the facts' pure parsers. `refreshItems` and `parseRefresh` are pure; `refreshHost`
 * is the I/O.
 */
import { randomBytes } from "node:crypto";
import { argv } from "../model/argv.js";
import type { Transport } from "../transport/transport.js";
import { wgDump, wgHost, ipAddr, ipLink } from "../wg/facts.js";
import { batchScript, splitSections, type BatchItem, type SectionResult } from "./batch.js";
import { zfsVersion, pools, poolProperties, datasetProperties, snapshots, localProperties, localPropertiesTabs } from "../zfs/facts.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import type { HostLive, HostWireGuard, LivePool, PropertyTable, SnapshotRow } from "../model/live.js";

export class RefreshError extends Error {
  constructor(readonly host: string, readonly fact: string, detail: string) {
    super(`${host}: reading ${fact} failed: ${detail.trim()}`);
    this.name = "RefreshError";
  }
}

/** What an old ZFS (zfs-fuse, pool v23) answers instead: no -p on zpool/zfs list, no feature flags. */
const LEGACY = {
  pools: argv("zpool", "list", "-H", "-o", "name,health,guid,size,allocated,free"),
  poolProperties: argv("true"),
  datasets: argv("zfs", "get", "-Hp", "-o", "name,property,value,source", "all"),
  snapshots: argv("true"),
};

export function refreshItems(userProperties: readonly string[]): BatchItem[] {
  return [
    { key: "version", command: zfsVersion.command },
    { key: "kernel", command: argv("uname", "-r") },
    { key: "pools", command: pools.command, fallback: LEGACY.pools },
    { key: "pool-properties", command: poolProperties.command, fallback: LEGACY.poolProperties },
    { key: "datasets", command: datasetProperties(userProperties).command, fallback: LEGACY.datasets },
    { key: "snapshots", command: snapshots.command, fallback: LEGACY.snapshots },
    // JSON on OpenZFS 2.3; the tab-separated form before it; an old ZFS (zfs-fuse) answers
    // neither, and its snapshots and markers come from `zfs get all` instead
    { key: "local-properties", command: localProperties.command, fallback: localPropertiesTabs.command },
    { key: "wg", command: wgDump.command },
    { key: "wg-host", command: wgHost.command },
    { key: "ip-addr", command: ipAddr.command },
    { key: "ip-link", command: ipLink.command },
  ];
}

/** The section's output, or its legacy fallback's when the primary command failed. */
function section(host: string, sections: Map<string, SectionResult>, key: string): SectionResult & { legacy: boolean } {
  const s = sections.get(key);
  if (!s) throw new RefreshError(host, key, "section missing from the batch output (script interrupted?)");
  if (s.exitCode === 0) return { ...s, legacy: false };
  const l = sections.get(`${key}.legacy`);
  if (l && l.exitCode === 0) return { ...l, legacy: true };
  throw new RefreshError(host, key, `exit ${s.exitCode}: ${s.stderr}${l ? ` (fallback: exit ${l.exitCode}: ${l.stderr})` : ""}`);
}

export function parseRefresh(host: string, sections: Map<string, SectionResult>, userProperties: readonly string[]): HostLive {
  // An old ZFS has no `zfs version`: that failure is itself the fact (not OpenZFS).
  const v = sections.get("version");
  if (!v) throw new RefreshError(host, "version", "section missing from the batch output");
  const version = v.exitCode === 0 ? zfsVersion.parse(v.stdout) : { userland: null, kernel: null, raw: (v.stderr.split("\n")[0] ?? "").trim() };
  const kernel = section(host, sections, "kernel").stdout.trim();
  const poolRows = pools.parse(section(host, sections, "pools").stdout);
  const poolProps = poolProperties.parse(section(host, sections, "pool-properties").stdout);
  const livePools = new Map<string, LivePool>();
  for (const row of poolRows) {
    const properties = poolProps.get(row.name) ?? new Map();
    const features = new Set<string>();
    for (const [k, v] of properties) {
      if (k.startsWith("feature@") && (v.value === "enabled" || v.value === "active")) features.add(k.slice("feature@".length));
    }
    livePools.set(row.name, { row, properties, features });
  }
  const ds = section(host, sections, "datasets");
  const table = datasetProperties(userProperties).parse(ds.stdout);
  const snaps = new Map<string, SnapshotRow>();
  const datasets: PropertyTable = new Map();
  for (const [name, props] of table) {
    const at = name.indexOf("@");
    if (at < 0) {
      datasets.set(name, props);
    } else if (ds.legacy) {
      // `zfs get all` of an old ZFS lists snapshots too: derive the snapshot fact from it
      // (creation time orders them where createtxg cannot be read).
      const m = props.get(MANAGED_PROPERTY);
      snaps.set(name, { name, dataset: name.slice(0, at), snapshot: name.slice(at + 1), guid: props.get("guid")?.value ?? "", createtxg: BigInt(props.get("creation")?.value ?? "0"), marker: m?.source.kind === "local" ? m.value : null });
    }
  }
  if (!ds.legacy) for (const s of snapshots.parse(section(host, sections, "snapshots").stdout)) snaps.set(s.name, { ...s, marker: null });
  if (!ds.legacy) {
    const lp = section(host, sections, "local-properties");
    mergeLocalProperties((lp.legacy ? localPropertiesTabs : localProperties).parse(lp.stdout), datasets, snaps);
  }
  const legacy = ds.legacy || version.userland === null;
  const wgh = wgHost.parse(section(host, sections, "wg-host").stdout);
  const wg: HostWireGuard = {
    implementation: wgh.implementation,
    persisted: wgh.persisted,
    interfaces: wgDump.parse(section(host, sections, "wg").stdout),
    addresses: ipAddr.parse(section(host, sections, "ip-addr").stdout),
    links: ipLink.parse(section(host, sections, "ip-link").stdout),
  };
  return { host, legacy, zfs: version, kernel, pools: livePools, datasets, snapshots: snaps, wg };
}

/**
 * Locally set properties complete the picture: user properties the configuration no longer
 * names (so their removal can be planned) and snapshots' own ownership markers.
 */
function mergeLocalProperties(local: PropertyTable, datasets: PropertyTable, snaps: Map<string, SnapshotRow>): void {
  for (const [name, props] of local) {
    const snap = snaps.get(name);
    if (snap) {
      const m = props.get(MANAGED_PROPERTY);
      if (m) snap.marker = m.value;
      continue;
    }
    const row = datasets.get(name);
    if (!row) continue;
    for (const [k, v] of props) if (k.includes(":") && !row.has(k)) row.set(k, v);
  }
}

/** One SSH round trip per host, whatever the number of datasets. */
export async function refreshHost(t: Transport, userProperties: readonly string[]): Promise<HostLive> {
  const nonce = randomBytes(8).toString("hex");
  const r = await t.script(batchScript(refreshItems(userProperties), nonce));
  if (r.exitCode !== 0) throw new RefreshError(t.host, "batch", `exit ${r.exitCode}: ${r.stderr}`);
  return parseRefresh(t.host, splitSections(r.stdout, nonce), userProperties);
}
