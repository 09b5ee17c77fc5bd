/**
 * ZFS facts: each is a command (argv) plus a strict pure parser of its output. Parsers
 * check exact column counts, refuse duplicates, and keep the `source` column so inherited,
 * default and received values are never mistaken for drift.
 */
import { argv, type Argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { ZfsVersion, PoolRow, Source, PropertyTable, PropertyValue, SnapshotRow } from "../model/live.js";
import { PROPERTIES, MANAGED_PROPERTY } from "./properties.js";

/** Output lines, without the empty one after the final newline. */
export function lines(stdout: string): string[] {
  const all = stdout.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

/** Tab-separated rows, each with exactly `count` columns (a ParseError naming the line otherwise). */
export function columns(fact: string, stdout: string, count: number): string[][] {
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

const datasetPropertyList = (userProperties: readonly string[]) => [...new Set([...DATASET_PROPERTIES, ...userProperties])];

/**
 * Every requested property of every filesystem and volume, as JSON (OpenZFS 2.3): a value
 * holding a tab or a newline stays inside its string, so no value can forge a row. Strict:
 * every dataset carries exactly the requested properties.
 */
export function datasetProperties(userProperties: readonly string[] = []): Fact<PropertyTable> {
  const props = datasetPropertyList(userProperties);
  return {
    name: "zfs get -j",
    command: argv("zfs", "get", "-j", "-p", "-t", "filesystem,volume", "-o", "name,property,value,source", props.join(",")),
    parse(stdout) {
      const table = zfsGetJson("zfs get -j", stdout);
      for (const [name, row] of table) {
        const missing = props.filter((p) => !row.has(p));
        if (missing.length > 0 || row.size !== props.length) throw new ParseError("zfs get -j", 1, `${name}: expected exactly the requested properties (missing: ${missing.join(",") || "none"})`);
      }
      return table;
    },
  };
}

/**
 * The same before OpenZFS 2.3 (no JSON), tab-separated and — since a value may hold a tab or
 * a newline — checked as a grid: every object of the unforgeable name list (`objectNames`:
 * names cannot hold either) has exactly one row per requested property, in the requested
 * order, in one contiguous block. A value that broke a row breaks the grid, and the read is
 * refused naming the object where it broke. Snapshots are read too: their ownership marker
 * with its source comes from here on these hosts (the `-s local` tab read cannot be checked).
 */
export function datasetPropertiesTabs(userProperties: readonly string[] = []): { command: Argv; parse(stdout: string, names: ReadonlySet<string>): PropertyTable } {
  const props = datasetPropertyList(userProperties);
  const fact = "zfs get -Hp";
  return {
    command: argv("zfs", "get", "-Hp", "-t", "filesystem,volume,snapshot", "-o", "name,property,value,source", props.join(",")),
    parse(stdout, names) {
      const rows = lines(stdout);
      const table: PropertyTable = new Map();
      for (let i = 0; i < rows.length; i++) {
        const cols = rows[i]!.split("\t");
        const name = cols[0]!;
        const expectedName = i % props.length === 0 ? name : rows[i - (i % props.length)]!.split("\t")[0]!;
        const expectedProp = props[i % props.length]!;
        const broken = (why: string) =>
          new ParseError(fact, i + 1, `ambiguous output near ${JSON.stringify(i % props.length === 0 && i > 0 ? rows[i - 1]!.split("\t")[0] : expectedName)}: ${why} — a property value holds a tab or a newline; on OpenZFS before 2.3 (no JSON output) backplane cannot read such a host safely: clear that value (zfs inherit) or upgrade to 2.3`);
        if (cols.length !== 4) throw broken(`expected 4 tab-separated columns, got ${cols.length}`);
        if (!names.has(name)) throw broken(`${JSON.stringify(name)} is not an object on the host (or it was created between the two reads: run again)`);
        if (name !== expectedName || cols[1] !== expectedProp) throw broken(`expected ${expectedName} ${expectedProp}, got ${name} ${cols[1]}`);
        if (i % props.length === 0 && table.has(name)) throw broken(`${name} listed twice`);
        const source = parseSource(cols[3]!);
        if (!source) throw broken(`unknown source '${cols[3]}'`);
        if (i % props.length === 0) table.set(name, new Map());
        table.get(name)!.set(expectedProp, { value: cols[2]!, source });
      }
      if (rows.length % props.length !== 0) throw new ParseError(fact, rows.length, `ambiguous output: ${rows.length} rows is not ${props.length} per object`);
      const unread = [...names].filter((n) => !table.has(n) && !n.includes("#"));
      if (unread.length > 0) throw new ParseError(fact, rows.length, `objects missing from the output: ${unread.slice(0, 5).join(", ")} (destroyed between the two reads? run again)`);
      return table;
    },
  };
}

/**
 * What an old ZFS (zfs-fuse, pool v23: no -t, no JSON) can answer: every property of every
 * object, tab-separated. Not checked as a grid (the rows per object vary); such hosts serve
 * capability checks in the lab, and a value there could forge a row.
 */
export const allPropertiesOldZfs: Fact<PropertyTable> = {
  name: "zfs get all",
  command: argv("zfs", "get", "-Hp", "-o", "name,property,value,source", "all"),
  parse: (stdout) => propertyTable("zfs get all", stdout),
};

/** The names of filesystems, volumes and snapshots: a name can hold neither tab nor newline, so this list cannot be forged. */
export const objectNames: Fact<Set<string>> = {
  name: "zfs list -o name",
  command: argv("zfs", "list", "-H", "-o", "name", "-t", "filesystem,volume,snapshot"),
  parse(stdout) {
    const names = new Set<string>();
    lines(stdout).forEach((n, i) => {
      if (n === "" || n.includes("\t")) throw new ParseError("zfs list -o name", i + 1, `not a name: ${JSON.stringify(n)}`);
      if (names.has(n)) throw new ParseError("zfs list -o name", i + 1, `${n} listed twice`);
      names.add(n);
    });
    return names;
  },
};

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

/**
 * The same for OpenZFS before 2.3 (no -j): tab-separated, where a value holding a tab and a
 * newline can forge a row. What can be checked is: every row names an object of the
 * unforgeable name list, says `local`, and each object's rows form one block. A forged row
 * for an object without local properties of its own still passes — so on these hosts this
 * read supplies only datasets' user properties the configuration no longer names (to plan
 * their removal on objects already owned), never an ownership marker (markers come from the
 * grid-checked `datasetPropertiesTabs`).
 */
export const localPropertiesTabs = {
  command: argv("zfs", "get", "-Hp", "-s", "local", "-t", "filesystem,volume,snapshot", "-o", "name,property,value,source", "all"),
  parse(stdout: string, names: ReadonlySet<string>): PropertyTable {
    const fact = "zfs get -s local";
    const table: PropertyTable = new Map();
    let previous = "";
    columns(fact, stdout, 4).forEach(([name, property, value, source], i) => {
      if (!names.has(name!)) throw new ParseError(fact, i + 1, `ambiguous output near ${JSON.stringify(previous)}: ${JSON.stringify(name)} is not an object on the host (a property value holds a tab or a newline)`);
      if (source !== "local") throw new ParseError(fact, i + 1, `ambiguous output near ${JSON.stringify(name)}: source '${source}' in a read of local properties`);
      if (name !== previous && table.has(name!)) throw new ParseError(fact, i + 1, `ambiguous output: the rows of ${name} are not one block (a property value holds a tab or a newline)`);
      if (!table.has(name!)) table.set(name!, new Map());
      const row = table.get(name!)!;
      if (row.has(property!)) throw new ParseError(fact, i + 1, `${name} ${property} listed twice`);
      row.set(property!, { value: value!, source: { kind: "local" } });
      previous = name!;
    });
    return table;
  },
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
