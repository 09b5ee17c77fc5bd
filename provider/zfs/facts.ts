/**
 * ZFS facts: each is a command (argv) plus a strict pure parser of its output. Parsers
 * check exact column counts, refuse duplicates, and keep the `source` column so inherited,
 * default and received values are never mistaken for drift.
 */
import { argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { ZfsVersion, PoolRow, Source, PropertyTable, SnapshotRow } from "../model/live.js";
import { PROPERTIES, MANAGED_PROPERTY } from "./properties.js";

function lines(stdout: string): string[] {
  const all = stdout.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

function columns(fact: string, stdout: string, count: number): string[][] {
  return lines(stdout).map((l, i) => {
    const cols = l.split("\t");
    if (cols.length !== count) throw new ParseError(fact, i + 1, `expected ${count} tab-separated columns, got ${cols.length}: ${JSON.stringify(l)}`);
    return cols;
  });
}

// ---- version -------------------------------------------------------------------------

export const zfsVersion: Fact<ZfsVersion> = {
  name: "zfs version",
  command: argv("zfs", "version"),
  parse(stdout) {
    const ls = lines(stdout);
    const u = /^zfs-(\d+\.\d+\.\d+)/.exec(ls[0] ?? "");
    const k = /^zfs-kmod-(\d+\.\d+\.\d+)/.exec(ls[1] ?? "");
    return { userland: u ? u[1]! : null, kernel: k ? k[1]! : null, raw: stdout.trim() };
  },
};

// ---- pools ---------------------------------------------------------------------------

export const pools: Fact<PoolRow[]> = {
  name: "zpool list",
  command: argv("zpool", "list", "-Hp", "-o", "name,health,guid,size,allocated,free"),
  parse(stdout) {
    const seen = new Set<string>();
    return columns("zpool list", stdout, 6).map(([name, health, guid, size, allocated, free], i) => {
      if (seen.has(name!)) throw new ParseError("zpool list", i + 1, `pool ${name} listed twice`);
      seen.add(name!);
      if (!/^\d+$/.test(guid!)) throw new ParseError("zpool list", i + 1, `guid '${guid}' is not a number`);
      return { name: name!, health: health!, guid: guid!, size: size!, allocated: allocated!, free: free! };
    });
  },
};

// ---- properties (zfs get / zpool get) ------------------------------------------------

export function parseSource(text: string): Source | null {
  switch (text) {
    case "local": return { kind: "local" };
    case "default": return { kind: "default" };
    case "received": return { kind: "received" };
    case "temporary": return { kind: "temporary" };
    case "-": return { kind: "none" };
  }
  const m = /^inherited from (.+)$/.exec(text);
  return m ? { kind: "inherited", from: m[1]! } : null;
}

function propertyTable(fact: string, stdout: string): PropertyTable {
  const table: PropertyTable = new Map();
  columns(fact, stdout, 4).forEach(([name, property, value, sourceText], i) => {
    const source = parseSource(sourceText!);
    if (!source) throw new ParseError(fact, i + 1, `unknown source '${sourceText}'`);
    let row = table.get(name!);
    if (!row) table.set(name!, (row = new Map()));
    if (row.has(property!)) throw new ParseError(fact, i + 1, `${name} ${property} listed twice`);
    row.set(property!, { value: value!, source });
  });
  return table;
}

/** Native properties read for every dataset, plus identity columns and the ownership marker. */
export const DATASET_PROPERTIES = ["type", "guid", "origin", ...PROPERTIES.map((p) => p.name), MANAGED_PROPERTY];

export function datasetProperties(userProperties: readonly string[] = []): Fact<PropertyTable> {
  const props = [...new Set([...DATASET_PROPERTIES, ...userProperties])];
  return {
    name: "zfs get",
    command: argv("zfs", "get", "-Hp", "-t", "filesystem,volume", "-o", "name,property,value,source", props.join(",")),
    parse: (stdout) => propertyTable("zfs get", stdout),
  };
}

/**
 * Every property set *locally* on a filesystem, volume or snapshot: the user properties the
 * configuration no longer names (so removing one inherits it) and the ownership marker of
 * snapshots (only a local marker counts; children inherit it).
 */
export const localProperties: Fact<PropertyTable> = {
  name: "zfs get -s local",
  command: argv("zfs", "get", "-Hp", "-s", "local", "-t", "filesystem,volume,snapshot", "-o", "name,property,value,source", "all"),
  parse: (stdout) => propertyTable("zfs get -s local", stdout),
};

export const poolProperties: Fact<PropertyTable> = {
  name: "zpool get",
  command: argv("zpool", "get", "-Hp", "-o", "name,property,value,source", "all"),
  parse: (stdout) => propertyTable("zpool get", stdout),
};

// ---- snapshots -----------------------------------------------------------------------

export const snapshots: Fact<SnapshotRow[]> = {
  name: "zfs list -t snapshot",
  command: argv("zfs", "list", "-Hp", "-t", "snapshot", "-o", "name,guid,createtxg"),
  parse(stdout) {
    const seen = new Set<string>();
    return columns("zfs list -t snapshot", stdout, 3).map(([name, guid, txg], i) => {
      const at = name!.indexOf("@");
      if (at < 0) throw new ParseError("zfs list -t snapshot", i + 1, `'${name}' is not a snapshot name`);
      if (seen.has(name!)) throw new ParseError("zfs list -t snapshot", i + 1, `${name} listed twice`);
      seen.add(name!);
      if (!/^\d+$/.test(txg!)) throw new ParseError("zfs list -t snapshot", i + 1, `createtxg '${txg}' is not a number`);
      return { name: name!, dataset: name!.slice(0, at), snapshot: name!.slice(at + 1), guid: guid!, createtxg: BigInt(txg!) };
    });
  },
};
