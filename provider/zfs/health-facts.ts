/**
 * What probes read of ZFS beyond the refresh's usual facts, in the same round trip: each
 * pool's state, per-vdev error counters and last scan (`zpool status -p`, in the C locale and
 * UTC so the scan time means one instant), and each dataset's space (`zfs list -Hp`).
 * Commands plus strict pure parsers: a line that fits no known shape fails the read.
 */
import { argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { DatasetSpace, PoolScan, PoolStatus, VdevStatus } from "../model/live.js";
import { columns, lines } from "./facts.js";

const STATUS = "zpool status -p";
const VDEV_STATES = "ONLINE|DEGRADED|FAULTED|OFFLINE|UNAVAIL|REMOVED|AVAIL|INUSE|SPLIT";
// NAME (may hold spaces: a file vdev's path) STATE [READ WRITE CKSUM] [note such as
// "(resilvering)", "was /dev/sdb1", "currently in use"]; zpool pads with trailing blanks
const VDEV_ROW = new RegExp(`^\\t( *)(\\S.*?)\\s+(${VDEV_STATES})(?:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+))?(?:\\s+(\\S.*?))?\\s*$`);
// logs, cache, spares, special, dedup: printed as "\t%s\t" (a trailing tab) by OpenZFS 2.x
const CLASS_HEADING = /^\t {0,2}(logs|cache|spares|special|dedup)\s*$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** ctime(3) in UTC ("Thu Nov 26 14:12:38 2026") → epoch seconds; null when it is not one. */
export function ctimeUtc(text: string): number | null {
  const m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(text.trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return null;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
}

/**
 * The last scan. A wording not listed here (a newer OpenZFS, an error scrub, a sequential
 * rebuild) is kept as `other` with its text: it hides when the last scrub ran, which a probe
 * with a scrub age to check reports, and it never blinds the other checks.
 */
export function parseScan(text: string): PoolScan {
  const at = (t: string) => ctimeUtc(t);
  let m = /^(scrub|resilver) in progress since (.*)$/.exec(text);
  if (m && at(m[2]!) !== null) return { kind: m[1] as "scrub" | "resilver", state: "in progress", time: at(m[2]!), errors: null, text };
  // "in 00:00:01" (2.x), "in 0 days 00:00:01" (0.8)
  m = /^scrub repaired \S+ in .+? with (\d+) errors on (.*)$/.exec(text);
  if (m && at(m[2]!) !== null) return { kind: "scrub", state: "finished", time: at(m[2]!), errors: Number(m[1]), text };
  // a sequential rebuild names its vdev: "resilvered (mirror-0) 1.20G in …"
  m = /^resilvered (?:\(\S+\) )?\S+ in .+? with (\d+) errors on (.*)$/.exec(text);
  if (m && at(m[2]!) !== null) return { kind: "resilver", state: "finished", time: at(m[2]!), errors: Number(m[1]), text };
  m = /^(scrub|resilver) canceled on (.*)$/.exec(text);
  if (m && at(m[2]!) !== null) return { kind: m[1] as "scrub" | "resilver", state: "canceled", time: at(m[2]!), errors: null, text };
  // zfs-fuse (pool v23) words it the old way, with no start time while running
  m = /^scrub completed after \S+ with (\d+) errors on (.*)$/.exec(text);
  if (m && at(m[2]!) !== null) return { kind: "scrub", state: "finished", time: at(m[2]!), errors: Number(m[1]), text };
  if (/^scrub in progress for \S+, /.test(text)) return { kind: "scrub", state: "in progress", time: null, errors: null, text };
  m = /^scrub paused since (.*)$/.exec(text);
  if (m && at(m[1]!) !== null) return { kind: "scrub", state: "paused", time: at(m[1]!), errors: null, text };
  if (text === "none requested") return { kind: "none", state: "none", time: null, errors: null, text };
  return { kind: "other", state: "none", time: null, errors: null, text };
}

const FIELDS = /^ *(pool|state|status|action|see|scan|scrub|config|errors|remove|checkpoint|comment|dedup|prefetch|expand|id): ?(.*)$/;

/**
 * Every pool: state, the vdev table of its config and its last scan. Continuation lines
 * (status:/action: prose, scan progress) are indented by a tab and belong to the field above;
 * the vdev table ends at the first blank line after it. A line of a pool's block that fits
 * no known shape makes that pool unreadable (`problem`), not the others.
 */
export const poolStatus: Fact<Map<string, PoolStatus>> = {
  name: STATUS,
  command: argv("env", "TZ=UTC0", "zpool", "status", "-p"),
  parse(stdout) {
    const out = new Map<string, PoolStatus>();
    if (stdout.trim() === "no pools available") return out;
    let pool: PoolStatus | null = null;
    // "config:", a blank line, the vdev table, a blank line
    let config: "none" | "heading" | "table" = "none";
    let spares = false;
    lines(stdout).forEach((l, i) => {
      const n = i + 1;
      const refuse = (why: string) => {
        if (!pool) throw new ParseError(STATUS, n, why);
        pool.problem ??= `${STATUS}: line ${n}: ${why}`;
      };
      if (l.trim() === "") {
        if (config === "table") config = "none";
        return;
      }
      const head = config === "none" ? FIELDS.exec(l) : null;
      if (head) {
        const [field, value] = [head[1]!, head[2]!];
        if (field === "pool") {
          if (out.has(value)) throw new ParseError(STATUS, n, `pool ${value} listed twice`);
          pool = { name: value, state: "", vdevs: [], scan: null, errorsLine: null, problem: null };
          out.set(value, pool);
          spares = false;
          return;
        }
        if (!pool) throw new ParseError(STATUS, n, `'${field}:' before any pool`);
        if (field === "state") pool.state = value;
        else if (field === "scan" || field === "scrub") pool.scan = parseScan(value);
        else if (field === "config") config = "heading";
        else if (field === "errors") pool.errorsLine = value;
        return;
      }
      if (!pool) throw new ParseError(STATUS, n, `line before any pool: ${JSON.stringify(l)}`);
      if (config !== "none") {
        if (/^\tNAME\s+STATE\s+READ\s+WRITE\s+CKSUM\s*$/.test(l)) {
          config = "table";
          return;
        }
        if (config === "heading") return refuse(`expected the vdev table's heading, got ${JSON.stringify(l)}`);
        const heading = CLASS_HEADING.exec(l);
        if (heading) {
          spares = heading[1] === "spares";
          return;
        }
        const m = VDEV_ROW.exec(l);
        // only a spare is listed without counters
        if (!m || (m[4] === undefined && !spares)) return refuse(`vdev row not understood: ${JSON.stringify(l)}`);
        const counts = m[4] === undefined ? { read: 0, write: 0, checksum: 0 } : { read: Number(m[4]), write: Number(m[5]), checksum: Number(m[6]) };
        pool.vdevs.push({ name: m[2]!, depth: m[1]!.length / 2, state: m[3]!, ...counts, note: m[7] ?? null, spare: spares });
        return;
      }
      // a continuation of the field above (status/action prose, scan progress)
      if (l.startsWith("\t")) return;
      refuse(`line not understood: ${JSON.stringify(l)}`);
    });
    for (const p of out.values()) if (!p.state) p.problem ??= `${STATUS}: pool ${p.name} has no state line`;
    return out;
  },
};

const SPACE = "zfs list used,available,quota,refquota,creation";
export const datasetSpace: Fact<Map<string, DatasetSpace>> = {
  name: SPACE,
  command: argv("zfs", "list", "-Hp", "-t", "filesystem,volume", "-o", "name,used,available,quota,refquota,creation"),
  parse(stdout) {
    const out = new Map<string, DatasetSpace>();
    columns(SPACE, stdout, 6).forEach(([name, ...raw], i) => {
      // quota and refquota are filesystem properties: a volume prints "-" (no quota)
      const nums = raw.map((v, j) => (v === "-" && (j === 2 || j === 3) ? "0" : v));
      for (const v of nums) if (!/^\d+$/.test(v)) throw new ParseError(SPACE, i + 1, `${name}: '${v}' is not a number of bytes`);
      if (out.has(name!)) throw new ParseError(SPACE, i + 1, `${name} listed twice`);
      const [used, available, quota, refquota, creation] = nums.map((v) => BigInt(v));
      out.set(name!, { used: used!, available: available!, quota: quota!, refquota: refquota!, creation: Number(creation!) });
    });
    return out;
  },
};

/**
 * An old ZFS (zfs-fuse) has no `zfs list -p`: the same five numbers from `zfs get -Hp`, one
 * row per property (snapshots, whose quota is "-", are left out).
 */
const SPACE_LEGACY = "zfs get used,available,quota,refquota,creation";
const SPACE_PROPERTIES = ["used", "available", "quota", "refquota", "creation"] as const;
export const datasetSpaceLegacy: Fact<Map<string, DatasetSpace>> = {
  name: SPACE_LEGACY,
  command: argv("zfs", "get", "-Hp", "-o", "name,property,value", SPACE_PROPERTIES.join(",")),
  parse(stdout) {
    const rows = new Map<string, Map<string, string>>();
    columns(SPACE_LEGACY, stdout, 3).forEach(([name, property, v], i) => {
      let value = v;
      if (name!.includes("@")) return;
      if (!(SPACE_PROPERTIES as readonly string[]).includes(property!)) throw new ParseError(SPACE_LEGACY, i + 1, `unexpected property ${property}`);
      if (value === "-" && (property === "quota" || property === "refquota")) value = "0";
      if (!/^\d+$/.test(value!)) throw new ParseError(SPACE_LEGACY, i + 1, `${name} ${property}: '${value}' is not a number`);
      const r = rows.get(name!) ?? new Map<string, string>();
      if (r.has(property!)) throw new ParseError(SPACE_LEGACY, i + 1, `${name} ${property} listed twice`);
      rows.set(name!, r.set(property!, value!));
    });
    const out = new Map<string, DatasetSpace>();
    for (const [name, r] of rows) {
      const missing = SPACE_PROPERTIES.filter((p) => !r.has(p));
      if (missing.length) throw new ParseError(SPACE_LEGACY, 0, `${name} lacks ${missing.join(", ")}`);
      out.set(name, { used: BigInt(r.get("used")!), available: BigInt(r.get("available")!), quota: BigInt(r.get("quota")!), refquota: BigInt(r.get("refquota")!), creation: Number(r.get("creation")!) });
    }
    return out;
  },
};

/** Each pool's capacity in whole percent, as every ZFS prints it (where zpool list gives no byte counts). */
const CAPACITY = "zpool list name,capacity";
export const poolCapacity: Fact<Map<string, number>> = {
  name: CAPACITY,
  command: argv("zpool", "list", "-H", "-o", "name,capacity"),
  parse(stdout) {
    const out = new Map<string, number>();
    columns(CAPACITY, stdout, 2).forEach(([name, cap], i) => {
      const m = /^(\d+)%?$/.exec(cap!);
      if (!m) throw new ParseError(CAPACITY, i + 1, `${name}: capacity '${cap}' is not a percent`);
      if (out.has(name!)) throw new ParseError(CAPACITY, i + 1, `${name} listed twice`);
      out.set(name!, Number(m[1]));
    });
    return out;
  },
};
