/**
 * The facts `backplane snapshots` and `backplane restore` read about ONE dataset: its
 * snapshots with their sizes, holds and ownership markers, and every property of the dataset
 * with its source. Each is one command (JSON on OpenZFS 2.3, tab-separated before it, and
 * what zfs-fuse answers), with a strict pure parser. No I/O.
 */
import { argv, type Argv } from "../model/argv.js";
import { ParseError } from "../model/fact.js";
import type { PropertyValue } from "../model/live.js";
import { parseSource, zfsGetJson } from "./facts.js";
import { MANAGED_PROPERTY } from "./properties.js";

/** One snapshot of a dataset, as `backplane snapshots` shows it. */
export interface SnapshotDetail {
  /** dataset@snapshot */
  name: string;
  /** the part after '@' */
  snapshot: string;
  guid: string;
  /** null where the host's ZFS has no createtxg (zfs-fuse): creation time and listing order decide */
  createtxg: bigint | null;
  /** seconds since the epoch */
  creation: number;
  /** bytes only this snapshot holds (freed if it alone were destroyed) */
  used: bigint;
  /** bytes written between the previous snapshot and this one; null where the host has no `written` */
  written: bigint | null;
  /** holds (`zfs hold`): a held snapshot cannot be destroyed */
  userrefs: number;
  /** the lineage of a `backplane:managed` marker set on the snapshot itself (inherited ones do not count) */
  marker: string | null;
}

/** The three forms a host may answer, tried in this order in one round trip. */
export type SnapshotForm = "json" | "tabs" | "legacy";

const PROPS = ["guid", "createtxg", "creation", "used", "written", "userrefs", MANAGED_PROPERTY] as const;
// zfs-fuse (pool v23) knows neither createtxg nor written, nor `zfs get -t`
const LEGACY_PROPS = ["guid", "creation", "used", "userrefs", MANAGED_PROPERTY] as const;

/**
 * The snapshots of `dataset` (not of its children): `zfs get -d 1 -t snapshot` with exactly
 * the listed properties, sources kept (only a *local* marker is ownership).
 */
export function snapshotsOf(dataset: string): { command: Argv; fallbacks: { name: "tabs" | "legacy"; command: Argv }[]; parse(stdout: string, form: SnapshotForm): SnapshotDetail[] } {
  const get = (flags: string[], props: readonly string[]) => argv("zfs", "get", ...flags, "-o", "name,property,value,source", props.join(","), dataset);
  return {
    command: get(["-j", "-p", "-d", "1", "-t", "snapshot"], PROPS),
    fallbacks: [
      { name: "tabs", command: get(["-Hp", "-d", "1", "-t", "snapshot"], PROPS) },
      // -d 1 lists the dataset and its children too: only dataset@… rows are kept
      { name: "legacy", command: get(["-Hp", "-d", "1"], LEGACY_PROPS) },
    ],
    parse(stdout, form) {
      const fact = `zfs get snapshots (${form})`;
      const table = form === "json" ? zfsGetJson(fact, stdout) : tabGrid(fact, stdout, form === "tabs" ? PROPS : LEGACY_PROPS);
      const rows: SnapshotDetail[] = [];
      for (const [name, props] of table) {
        if (form === "legacy" && !name.startsWith(`${dataset}@`)) continue;
        if (!name.startsWith(`${dataset}@`)) throw new ParseError(fact, 1, `${JSON.stringify(name)} is not a snapshot of ${dataset}`);
        rows.push(snapshotRow(fact, name, dataset, props, form !== "legacy"));
      }
      return sortByAge(rows);
    },
  };
}

function snapshotRow(fact: string, name: string, dataset: string, props: Map<string, PropertyValue>, modern: boolean): SnapshotDetail {
  const want = modern ? PROPS : LEGACY_PROPS;
  const missing = want.filter((p) => !props.has(p));
  if (missing.length > 0 || props.size !== want.length) throw new ParseError(fact, 1, `${name}: expected exactly ${want.join(",")} (missing: ${missing.join(",") || "none"})`);
  const num = (p: string): bigint => {
    const v = props.get(p)!.value;
    if (!/^\d+$/.test(v)) throw new ParseError(fact, 1, `${name} ${p}: '${v}' is not a number`);
    return BigInt(v);
  };
  const marker = props.get(MANAGED_PROPERTY)!;
  return {
    name,
    snapshot: name.slice(dataset.length + 1),
    guid: String(num("guid")),
    createtxg: modern ? num("createtxg") : null,
    creation: Number(num("creation")),
    used: num("used"),
    written: modern ? num("written") : null,
    userrefs: Number(num("userrefs")),
    marker: marker.source.kind === "local" && marker.value !== "-" ? marker.value : null,
  };
}

/** Oldest first: by createtxg where the host has it, else by creation time and the order zfs listed them. */
function sortByAge(rows: SnapshotDetail[]): SnapshotDetail[] {
  const order = new Map(rows.map((r, i) => [r.name, i]));
  return [...rows].sort((a, b) => {
    if (a.createtxg !== null && b.createtxg !== null && a.createtxg !== b.createtxg) return a.createtxg < b.createtxg ? -1 : 1;
    return a.creation - b.creation || order.get(a.name)! - order.get(b.name)!;
  });
}

/**
 * Tab-separated `zfs get` of a fixed property list, checked as a grid: one block per object,
 * one row per requested property in the requested order, no object twice. A value holding a
 * tab or newline breaks the grid and the read is refused (the only user property read here is
 * the marker; see docs/restore.md for what a forged marker value could still do).
 */
function tabGrid(fact: string, stdout: string, props: readonly string[]): Map<string, Map<string, PropertyValue>> {
  const lines = stdout.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const table = new Map<string, Map<string, PropertyValue>>();
  lines.forEach((line, i) => {
    const cols = line.split("\t");
    if (cols.length !== 4) throw new ParseError(fact, i + 1, `expected 4 tab-separated columns, got ${cols.length} (a value holding a tab or a newline?)`);
    const [name, property, value, sourceText] = cols as [string, string, string, string];
    const k = i % props.length;
    if (property !== props[k]) throw new ParseError(fact, i + 1, `expected property ${props[k]}, got ${JSON.stringify(property)}`);
    if (k === 0) {
      if (table.has(name)) throw new ParseError(fact, i + 1, `${name} listed twice`);
      table.set(name, new Map());
    } else if (!table.has(name) || [...table.keys()].pop() !== name) throw new ParseError(fact, i + 1, `${JSON.stringify(name)} in the middle of another object's rows`);
    const source = parseSource(sourceText);
    if (!source) throw new ParseError(fact, i + 1, `unknown source '${sourceText}'`);
    table.get(name)!.set(property, { value, source });
  });
  if (lines.length % props.length !== 0) throw new ParseError(fact, lines.length, `${lines.length} rows is not ${props.length} per object`);
  return table;
}

/**
 * Every property of one dataset with its source (`zfs get all DATASET`): what `restore` copies
 * onto the clone (the locally set ones), and `type`, `mounted`, `encryption`, `written`.
 * Strict: one object, each property once. A forged row for a native property is refused as a
 * duplicate (every native property is always listed); see docs/restore.md for user properties.
 */
export function propertiesOf(dataset: string): { command: Argv; fallbacks: { name: "tabs"; command: Argv }[]; parse(stdout: string, form: "json" | "tabs"): Map<string, PropertyValue> } {
  return {
    command: argv("zfs", "get", "-j", "-p", "-o", "name,property,value,source", "all", dataset),
    fallbacks: [{ name: "tabs", command: argv("zfs", "get", "-Hp", "-o", "name,property,value,source", "all", dataset) }],
    parse(stdout, form) {
      const fact = `zfs get all ${dataset} (${form})`;
      if (form === "json") {
        const table = zfsGetJson(fact, stdout);
        if (table.size !== 1 || !table.has(dataset)) throw new ParseError(fact, 1, `expected exactly ${dataset}, got ${[...table.keys()].join(", ") || "nothing"}`);
        return table.get(dataset)!;
      }
      const row = new Map<string, PropertyValue>();
      const lines = stdout.split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      lines.forEach((line, i) => {
        const cols = line.split("\t");
        if (cols.length !== 4) throw new ParseError(fact, i + 1, `expected 4 tab-separated columns, got ${cols.length} (a value holding a tab or a newline?)`);
        const [name, property, value, sourceText] = cols as [string, string, string, string];
        if (name !== dataset) throw new ParseError(fact, i + 1, `a row for ${JSON.stringify(name)}, not ${dataset} (a value holding a newline?)`);
        if (row.has(property)) throw new ParseError(fact, i + 1, `${property} listed twice (a value holding a newline?)`);
        const source = parseSource(sourceText);
        if (!source) throw new ParseError(fact, i + 1, `unknown source '${sourceText}'`);
        row.set(property, { value, source });
      });
      if (!row.has("type")) throw new ParseError(fact, lines.length, `no 'type' row: not the output of zfs get all ${dataset}`);
      return row;
    },
  };
}
