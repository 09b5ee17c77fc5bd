/**
 * ZFS facts: each is a command (argv) plus a strict pure parser of its output. Parsers
 * check exact column counts, refuse duplicates, and keep the `source` column so inherited,
 * default and received values are never mistaken for drift.
 */
import { argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { ZfsVersion, PoolRow, Source, PropertyTable, PropertyValue, SnapshotRow } from "../model/live.js";
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
 * snapshots (only a local marker counts; children inherit it). Read as JSON (OpenZFS 2.3,
 * `zfs get -j`): a user property value may hold tabs and newlines, which in the tab-separated
 * form could forge another object's line — a marker included.
 */
export const localProperties: Fact<PropertyTable> = {
  name: "zfs get -j -s local",
  command: argv("zfs", "get", "-j", "-p", "-s", "local", "-t", "filesystem,volume,snapshot", "all"),
  parse: (stdout) => zfsGetJson("zfs get -j -s local", stdout),
};

/** The same for OpenZFS before 2.3 (no -j): tab-separated, with the ambiguity that brings. */
export const localPropertiesTabs: Fact<PropertyTable> = {
  name: "zfs get -s local",
  command: argv("zfs", "get", "-Hp", "-s", "local", "-t", "filesystem,volume,snapshot", "-o", "name,property,value,source", "all"),
  parse: (stdout) => propertyTable("zfs get -s local", stdout),
};

const JSON_SOURCES: Record<string, Source["kind"]> = { LOCAL: "local", DEFAULT: "default", INHERITED: "inherited", RECEIVED: "received", TEMPORARY: "temporary", NONE: "none" };

/** `zfs get -j` output, strictly: every object named as its key, every value a string, every source known. */
export function zfsGetJson(fact: string, stdout: string): PropertyTable {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new ParseError(fact, 1, `not JSON: ${(e as Error).message}`);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObj(doc) || !isObj(doc.output_version) || doc.output_version.command !== "zfs get") throw new ParseError(fact, 1, "not the JSON of zfs get");
  const table: PropertyTable = new Map();
  const datasets = doc.datasets ?? {};
  if (!isObj(datasets)) throw new ParseError(fact, 1, "'datasets' is not an object");
  for (const [name, d] of Object.entries(datasets)) {
    if (!isObj(d) || d.name !== name || !isObj(d.properties ?? {})) throw new ParseError(fact, 1, `${JSON.stringify(name)}: not a dataset entry named as its key`);
    const row = new Map<string, PropertyValue>();
    for (const [property, p] of Object.entries((d.properties ?? {}) as Record<string, unknown>)) {
      if (!isObj(p) || !isObj(p.source) || (typeof p.value !== "string" && typeof p.value !== "number")) throw new ParseError(fact, 1, `${name} ${property}: not a value with a source`);
      const kind = JSON_SOURCES[String(p.source.type)];
      if (!kind) throw new ParseError(fact, 1, `${name} ${property}: unknown source type ${JSON.stringify(p.source.type)}`);
      const source: Source = kind === "inherited" ? { kind, from: String(p.source.data) } : ({ kind } as Source);
      row.set(property, { value: String(p.value), source });
    }
    table.set(name, row);
  }
  return table;
}

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
