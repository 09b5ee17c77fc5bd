/**
 * Refresh: what one host looks like, read in ONE round trip (a batched script) and parsed
 * by the facts' pure parsers. `refreshItems` and `parseRefresh` are pure; `refreshHost`
 * is the I/O.
 */
import { randomBytes } from "node:crypto";
import { argv } from "../model/argv.js";
import type { Transport } from "../transport/transport.js";
import { wgDump, wgHost, ipAddr, ipLink } from "../wg/facts.js";
import { batchCommands, batchScript, splitSections, type BatchItem, type SectionResult } from "./batch.js";
import { zfsVersion, pools, poolProperties, datasetProperties, datasetPropertiesTabs, allPropertiesOldZfs, objectNames, snapshots, localProperties, localPropertiesTabs } from "../zfs/facts.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import { replicationDatasets, replicationKeys, replicationSnapshots } from "../zfs/replication-facts.js";
import type { HostHealth, HostLive, Readable, ReplicationSnapshotRow, HostWireGuard, LivePool, PropertyTable, PropertyValue, SnapshotRow } from "../model/live.js";
import { poolStatus, datasetSpace, datasetSpaceLegacy, poolCapacity } from "../zfs/health-facts.js";
import { hostSaid } from "../model/echo.js";
import { timerFacts } from "../systemd/timers.js";

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
  datasets: allPropertiesOldZfs.command,
  snapshots: argv("true"),
};

/** What a refresh reads beyond the usual facts. */
export interface RefreshOptions {
  /** the stack declares a replication: snapshot times and holds, `written`, resume tokens, replication keys */
  replication?: boolean;
  /** probes are evaluated: pool status, dataset space, snapshot times and the host's clock */
  health?: boolean;
  /** the stack or its state has schedules: backplane's systemd timers, their files and last runs */
  timers?: boolean;
}

const REPLICATION_ITEMS: BatchItem[] = [
  // `written` counts what reached a committed transaction group: flush the open one first, or a
  // write of the last seconds reads as "in sync" (its result is not read; an old ZFS lacks it)
  { key: "repl-flush", command: argv("zpool", "sync") },
  { key: "repl-snapshots", command: replicationSnapshots.command },
  { key: "repl-datasets", command: replicationDatasets.command },
  { key: "repl-keys", command: replicationKeys.command },
];

const HEALTH_ITEMS: BatchItem[] = [
  { key: "health-now", command: argv("date", "+%s") },
  // zfs-fuse's zpool status takes no -p (its counters are small numbers either way)
  { key: "health-pools", command: poolStatus.command, fallbacks: [{ name: "no-p", command: argv("env", "TZ=UTC0", "zpool", "status") }] },
  { key: "health-space", command: datasetSpace.command, fallbacks: [{ name: "legacy", command: datasetSpaceLegacy.command }] },
  { key: "health-capacity", command: poolCapacity.command },
];

export function refreshItems(userProperties: readonly string[], options: RefreshOptions = {}): BatchItem[] {
  const items = [...baseItems(userProperties), ...(options.replication ? REPLICATION_ITEMS : [])];
  if (options.health) items.push(...HEALTH_ITEMS, ...(options.replication ? [] : REPLICATION_ITEMS.filter((i) => i.key === "repl-snapshots")));
  if (options.timers) items.push({ key: "timers", command: timerFacts.command });
  return items;
}

function baseItems(userProperties: readonly string[]): BatchItem[] {
  const legacy = (command: BatchItem["command"]) => [{ name: "legacy", command }];
  return [
    { key: "version", command: zfsVersion.command },
    { key: "kernel", command: argv("uname", "-r") },
    { key: "pools", command: pools.command, fallbacks: legacy(LEGACY.pools) },
    { key: "pool-properties", command: poolProperties.command, fallbacks: legacy(LEGACY.poolProperties) },
    // names cannot be forged by a value: the tab-separated reads below are checked against them
    { key: "names", command: objectNames.command, fallbacks: legacy(argv("true")) },
    // JSON on OpenZFS 2.3 (no value can forge a row); checked tab-separated rows before it;
    // an old ZFS (zfs-fuse) answers neither, and `zfs get all` is all it has
    { key: "datasets", command: datasetProperties(userProperties).command, fallbacks: [{ name: "tabs", command: datasetPropertiesTabs(userProperties).command }, ...legacy(LEGACY.datasets)] },
    { key: "snapshots", command: snapshots.command, fallbacks: legacy(LEGACY.snapshots) },
    // the same forms for what is set locally; an old ZFS's markers come from `zfs get all`
    { key: "local-properties", command: localProperties.command, fallbacks: [{ name: "tabs", command: localPropertiesTabs.command }] },
    { key: "wg", command: wgDump.command },
    { key: "wg-host", command: wgHost.command },
    { key: "ip-addr", command: ipAddr.command },
    { key: "ip-link", command: ipLink.command },
  ];
}

/** The section's output, or that of the first fallback that answered when the primary command failed. */
function section(host: string, sections: Map<string, SectionResult>, key: string, fallbacks: readonly string[] = []): SectionResult & { via: string } {
  const s = sections.get(key);
  if (!s) throw new RefreshError(host, key, "section missing from the batch output (script interrupted?)");
  if (s.exitCode === 0) return { ...s, via: "primary" };
  const tried: string[] = [];
  for (const name of fallbacks) {
    const f = sections.get(`${key}.${name}`);
    if (!f) break;
    if (f.exitCode === 0) return { ...f, via: name };
    tried.push(`${name}: exit ${f.exitCode}: ${hostSaid(f.stderr)}`);
  }
  throw new RefreshError(host, key, `exit ${s.exitCode}: ${hostSaid(s.stderr)}${tried.length ? ` (fallbacks: ${tried.join("; ")})` : ""}`);
}

export function parseRefresh(host: string, sections: Map<string, SectionResult>, userProperties: readonly string[], options: RefreshOptions = {}): HostLive {
  // An old ZFS has no `zfs version`: that failure is itself the fact (not OpenZFS).
  const v = sections.get("version");
  if (!v) throw new RefreshError(host, "version", "section missing from the batch output");
  const version = v.exitCode === 0 ? zfsVersion.parse(v.stdout) : { userland: null, kernel: null, raw: hostSaid(v.stderr.split("\n")[0] ?? "", 200) };
  const kernel = section(host, sections, "kernel").stdout.trim();
  const poolRows = pools.parse(section(host, sections, "pools", ["legacy"]).stdout);
  const poolProps = poolProperties.parse(section(host, sections, "pool-properties", ["legacy"]).stdout);
  const livePools = new Map<string, LivePool>();
  for (const row of poolRows) {
    const properties = poolProps.get(row.name) ?? new Map();
    const features = new Set<string>();
    for (const [k, v] of properties) {
      if (k.startsWith("feature@") && (v.value === "enabled" || v.value === "active")) features.add(k.slice("feature@".length));
    }
    livePools.set(row.name, { row, properties, features });
  }
  const ds = section(host, sections, "datasets", ["tabs", "legacy"]);
  const names = () => objectNames.parse(section(host, sections, "names").stdout);
  const table = ds.via === "primary" ? datasetProperties(userProperties).parse(ds.stdout)
    : ds.via === "tabs" ? datasetPropertiesTabs(userProperties).parse(ds.stdout, names())
    : allPropertiesOldZfs.parse(ds.stdout);
  const snaps = new Map<string, SnapshotRow>();
  const datasets: PropertyTable = new Map();
  const snapshotProps = new Map<string, Map<string, PropertyValue>>();
  for (const [name, props] of table) {
    if (name.includes("@")) snapshotProps.set(name, props);
    else datasets.set(name, props);
  }
  const localMarker = (props: Map<string, PropertyValue> | undefined) => {
    const m = props?.get(MANAGED_PROPERTY);
    return m?.source.kind === "local" ? m.value : null;
  };
  if (ds.via === "legacy") {
    // `zfs get all` of an old ZFS lists snapshots too: derive the snapshot fact from it
    // (creation time orders them where createtxg cannot be read).
    for (const [name, props] of snapshotProps) {
      const at = name.indexOf("@");
      snaps.set(name, { name, dataset: name.slice(0, at), snapshot: name.slice(at + 1), guid: props.get("guid")?.value ?? "", createtxg: BigInt(props.get("creation")?.value ?? "0"), marker: localMarker(props) });
    }
  } else {
    // the checked tab grid carries snapshots' markers; on 2.3 they come from the JSON of local properties
    for (const s of snapshots.parse(section(host, sections, "snapshots", ["legacy"]).stdout)) snaps.set(s.name, { ...s, marker: localMarker(snapshotProps.get(s.name)) });
    const lp = section(host, sections, "local-properties", ["tabs"]);
    if (lp.via === "primary") mergeLocalProperties(localProperties.parse(lp.stdout), datasets, snaps, true);
    else mergeLocalProperties(localPropertiesTabs.parse(lp.stdout, names()), datasets, snaps, false);
  }
  const legacy = ds.via === "legacy" || version.userland === null;
  const wgh = wgHost.parse(section(host, sections, "wg-host").stdout);
  const wg: HostWireGuard = {
    implementation: wgh.implementation,
    persisted: wgh.persisted,
    markers: wgh.markers,
    interfaces: wgDump.parse(section(host, sections, "wg").stdout),
    addresses: ipAddr.parse(section(host, sections, "ip-addr").stdout),
    links: ipLink.parse(section(host, sections, "ip-link").stdout),
  };
  const replication = options.replication
    ? {
        snapshots: replicationSnapshots.parse(section(host, sections, "repl-snapshots").stdout),
        datasets: replicationDatasets.parse(section(host, sections, "repl-datasets").stdout),
        keys: replicationKeys.parse(section(host, sections, "repl-keys").stdout),
      }
    : undefined;
  const health = options.health ? parseHealth(host, sections, replication?.snapshots) : undefined;
  const timers = options.timers ? timerFacts.parse(section(host, sections, "timers").stdout) : undefined;
  return { host, legacy, zfs: version, kernel, pools: livePools, datasets, snapshots: snaps, wg, ...(replication ? { replication } : {}), ...(health ? { health } : {}), ...(timers ? { timers } : {}) };
}

function parseHealth(host: string, sections: Map<string, SectionResult>, snapshotTimes: Map<string, ReplicationSnapshotRow> | undefined): HostHealth {
  const now = section(host, sections, "health-now").stdout.trim();
  if (!/^\d+$/.test(now)) throw new RefreshError(host, "health-now", `the host's clock read '${hostSaid(now, 40)}', not epoch seconds`);
  // a health fact this host cannot give (an old ZFS) fails the probes that need it, not the read
  const readable = <T>(key: string, parse: (stdout: string) => T, fallbacks: string[] = []): Readable<T> => {
    try {
      return { value: parse(section(host, sections, key, fallbacks).stdout) };
    } catch (e) {
      return { unreadable: e instanceof Error ? e.message : String(e) };
    }
  };
  return {
    now: Number(now),
    pools: readable("health-pools", poolStatus.parse, ["no-p"]),
    space: readable("health-space", (out) => (sections.get("health-space")?.exitCode === 0 ? datasetSpace : datasetSpaceLegacy).parse(out), ["legacy"]),
    capacity: readable("health-capacity", poolCapacity.parse),
    snapshots: snapshotTimes ? { value: snapshotTimes } : readable("repl-snapshots", replicationSnapshots.parse),
  };
}

/**
 * Locally set properties complete the picture: user properties the configuration no longer
 * names (so their removal can be planned) and, when read as JSON, snapshots' own ownership
 * markers (`markers`: never from a read a value could forge).
 */
function mergeLocalProperties(local: PropertyTable, datasets: PropertyTable, snaps: Map<string, SnapshotRow>, markers: boolean): void {
  for (const [name, props] of local) {
    const snap = snaps.get(name);
    if (snap) {
      const m = props.get(MANAGED_PROPERTY);
      if (m && markers) snap.marker = m.value;
      continue;
    }
    const row = datasets.get(name);
    if (!row) continue;
    for (const [k, v] of props) if (k.includes(":") && !row.has(k)) row.set(k, v);
  }
}

/** One SSH round trip per host, whatever the number of datasets. */
export async function refreshHost(t: Transport, userProperties: readonly string[], options: RefreshOptions = {}): Promise<HostLive> {
  const nonce = randomBytes(8).toString("hex");
  const items = refreshItems(userProperties, options);
  const r = await t.script(batchScript(items, nonce, { timed: false }), { commands: batchCommands(items) });
  if (r.exitCode !== 0) throw new RefreshError(t.host, "batch", `exit ${r.exitCode}: ${hostSaid(r.stderr)}`);
  return parseRefresh(t.host, splitSections(r.stdout, nonce), userProperties, options);
}
