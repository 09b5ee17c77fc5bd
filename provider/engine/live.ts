/**
 * Refresh: what one host looks like, read in ONE round trip (a batched script) and parsed
 * by the facts' pure parsers. `refreshItems` and `parseRefresh` are pure; `refreshHost`
 * is the I/O.
 */
import { randomBytes } from "node:crypto";
import { argv } from "../transport/argv.js";
import type { Transport } from "../transport/transport.js";
import { batchScript, splitSections, type BatchItem, type SectionResult } from "./batch.js";
import {
  zfsVersion, pools, poolProperties, datasetProperties, snapshots,
  type ZfsVersion, type PoolRow, type PropertyTable, type PropertyValue, type SnapshotRow,
} from "../zfs/facts.js";

export interface LivePool {
  row: PoolRow;
  properties: Map<string, PropertyValue>;
  /** features that are enabled or active */
  features: Set<string>;
}

export interface HostLive {
  host: string;
  zfs: ZfsVersion;
  kernel: string;
  pools: Map<string, LivePool>;
  datasets: PropertyTable;
  snapshots: Map<string, SnapshotRow>;
}

export class RefreshError extends Error {
  constructor(readonly host: string, readonly fact: string, detail: string) {
    super(`${host}: reading ${fact} failed: ${detail.trim()}`);
    this.name = "RefreshError";
  }
}

export function refreshItems(userProperties: readonly string[]): BatchItem[] {
  return [
    { key: "version", command: zfsVersion.command },
    { key: "kernel", command: argv("uname", "-r") },
    { key: "pools", command: pools.command },
    { key: "pool-properties", command: poolProperties.command },
    { key: "datasets", command: datasetProperties(userProperties).command },
    { key: "snapshots", command: snapshots.command },
  ];
}

function section(host: string, sections: Map<string, SectionResult>, key: string): SectionResult {
  const s = sections.get(key);
  if (!s) throw new RefreshError(host, key, "section missing from the batch output (script interrupted?)");
  if (s.exitCode !== 0) throw new RefreshError(host, key, `exit ${s.exitCode}: ${s.stderr}`);
  return s;
}

export function parseRefresh(host: string, sections: Map<string, SectionResult>, userProperties: readonly string[]): HostLive {
  const version = zfsVersion.parse(section(host, sections, "version").stdout);
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
  const datasets = datasetProperties(userProperties).parse(section(host, sections, "datasets").stdout);
  const snaps = new Map(snapshots.parse(section(host, sections, "snapshots").stdout).map((s) => [s.name, s]));
  return { host, zfs: version, kernel, pools: livePools, datasets, snapshots: snaps };
}

/** One SSH round trip per host, whatever the number of datasets. */
export async function refreshHost(t: Transport, userProperties: readonly string[]): Promise<HostLive> {
  const nonce = randomBytes(8).toString("hex");
  const r = await t.script(batchScript(refreshItems(userProperties), nonce));
  if (r.exitCode !== 0) throw new RefreshError(t.host, "batch", `exit ${r.exitCode}: ${r.stderr}`);
  return parseRefresh(t.host, splitSections(r.stdout, nonce), userProperties);
}
