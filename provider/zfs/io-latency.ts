/**
 * io_latency: per-dataset read/write latency of ZFS filesystems, sampled on the host with
 * bpftrace. kprobes on OpenZFS's `zpl_iter_read`/`zpl_iter_write` (every read(2)/write(2) on a
 * ZFS file passes there) time each call; each latency is counted under its value rounded down
 * to two significant digits (1 µs steps below 100 µs, 10 µs below 1 ms, 100 µs below 10 ms …:
 * a quantile is known to within 10 %), keyed by the superblock's device number, which
 * /proc/self/mountinfo maps to the dataset. Calls still running when the sample ends are
 * printed too (a hung disk is not "no I/O"). A host that cannot run it says why (exit 3 and
 * the reason), and the probe reports `unsupported` with it. Pure: the command and the parsers.
 */
import { argv, type Argv } from "../model/argv.js";
import { ParseError } from "../model/fact.js";

export interface IoOp {
  ops: number;
  /** the bucket the quantile falls in, in microseconds: [low, high) */
  p50Us: number;
  p50LowUs: number;
  p99Us: number;
  p99LowUs: number;
  /** calls that had not returned when the sample ended, and how long the oldest had run */
  inflight: number;
  oldestInflightUs: number;
}

export interface IoDataset {
  dataset: string;
  read: IoOp | null;
  write: IoOp | null;
}

export type IoSample = { unsupported: string } | { failed: string } | { seconds: number; datasets: IoDataset[]; mounted: string[] };

/** The exit code by which the host script says "cannot trace here" (its stdout says why). */
export const IO_UNSUPPORTED_EXIT = 3;

export function ioTraceProgram(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw new Error(`sample seconds must be an integer 1..60, not ${seconds}`);
  const entry = (fn: string, op: number) => `kprobe:${fn} { @start[tid] = nsecs; @dev[tid] = ((struct kiocb *)arg0)->ki_filp->f_inode->i_sb->s_dev; @op[tid] = ${op}; }`;
  return [
    entry("zpl_iter_read", 0),
    entry("zpl_iter_write", 1),
    "kretprobe:zpl_iter_read, kretprobe:zpl_iter_write /@start[tid]/ {",
    "  $us = (nsecs - @start[tid]) / 1000;",
    "  if ($us < 100) { $k = $us; } else if ($us < 1000) { $k = $us / 10 * 10; } else if ($us < 10000) { $k = $us / 100 * 100; } else if ($us < 100000) { $k = $us / 1000 * 1000; } else if ($us < 1000000) { $k = $us / 10000 * 10000; } else if ($us < 10000000) { $k = $us / 100000 * 100000; } else { $k = $us / 1000000 * 1000000; }",
    "  @lat[@dev[tid], @op[tid], $k] = count();",
    "  delete(@start[tid]); delete(@dev[tid]); delete(@op[tid]);",
    "}",
    `interval:s:${seconds} { exit(); }`,
    'END { printf("now %llu\\n", nsecs); print(@start); print(@dev); print(@op); clear(@start); clear(@dev); clear(@op); }',
  ].join("\n");
}

/** The width of the bucket a latency of `k` µs was counted under (two significant digits). */
export function bucketWidth(k: number): number {
  let w = 1;
  for (let limit = 100; k >= limit; limit *= 10) w *= 10;
  return w;
}

/**
 * Checks in the order an operator fixes them, each with its exact reason, then bpftrace. The
 * program is one argv word ($1), never part of the script text.
 */
export function ioTraceCommand(seconds: number): Argv {
  const u = IO_UNSUPPORTED_EXIT;
  return argv("sh", "-c", [
    `[ -d /sys/module/zfs ] || { echo 'no OpenZFS kernel module (/sys/module/zfs is absent): ZFS runs in user space here (zfs-fuse?), there is no kernel I/O path to trace'; exit ${u}; }`,
    `command -v bpftrace >/dev/null 2>&1 || { echo 'bpftrace is not installed (Debian: apt-get install bpftrace)'; exit ${u}; }`,
    `[ "$(id -u)" = 0 ] || { echo "bpftrace needs root (CAP_BPF, CAP_PERFMON); this host's SSH user is $(id -un)"; exit ${u}; }`,
    // a module's symbol is followed by its [module]; a built-in one ends the line
    `grep -Eq '[[:space:]]zpl_iter_read([[:space:]]|$)' /proc/kallsyms || { echo 'the kernel lists no zpl_iter_read in /proc/kallsyms (kprobes cannot reach OpenZFS here)'; exit ${u}; }`,
    `exec bpftrace -f json -e "$1"`,
  ].join("\n"), "sh", ioTraceProgram(seconds));
}

export const mountInfoCommand: Argv = argv("cat", "/proc/self/mountinfo");

/** mountinfo escapes space, tab, newline and backslash as \ooo */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** device number (as the kernel's s_dev: major << 20 | minor) → dataset, for ZFS mounts. */
export function parseZfsMounts(stdout: string): Map<number, string> {
  const out = new Map<number, string>();
  stdout.split("\n").forEach((l, i) => {
    if (!l) return;
    const dash = l.indexOf(" - ");
    const left = l.slice(0, dash).split(" ");
    const right = l.slice(dash + 3).split(" ");
    if (dash < 0 || left.length < 6 || right.length < 2) throw new ParseError("mountinfo", i + 1, `not a mountinfo line: ${JSON.stringify(l)}`);
    if (right[0] !== "zfs") return;
    const mm = /^(\d+):(\d+)$/.exec(left[2]!);
    if (!mm) throw new ParseError("mountinfo", i + 1, `device '${left[2]}' is not major:minor`);
    // a dataset mounted twice (bind mounts) has one device and one name
    out.set((Number(mm[1]) << 20) | Number(mm[2]), unescapeMount(right[1]!));
  });
  return out;
}

/** The bucket in which the q-quantile falls: [low, high) µs. */
function quantile(buckets: readonly [number, number][], total: number, q: number): { low: number; high: number } {
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [k, count] of buckets) {
    seen += count;
    if (seen >= rank) return { low: k, high: k + bucketWidth(k) };
  }
  const [k] = buckets[buckets.length - 1]!;
  return { low: k, high: k + bucketWidth(k) };
}

const JSON_LINE = (l: string, n: number): { type?: string; data?: unknown } => {
  try {
    return JSON.parse(l);
  } catch {
    throw new ParseError("bpftrace", n, `not JSON: ${JSON.stringify(l.slice(0, 200))}`);
  }
};

/** bpftrace's JSON lines → per-dataset latencies and calls in flight, named by the mount table. */
export function parseIoTrace(stdout: string, mounts: ReadonlyMap<number, string>, seconds: number): IoSample {
  const counts = new Map<string, Map<number, number>>(); // "dev,op" → bucket → count
  const maps: Record<string, Record<string, number>> = {};
  let now: bigint | null = null;
  stdout.split("\n").forEach((l, i) => {
    if (!l.trim()) return;
    const doc = JSON_LINE(l, i + 1);
    if (doc.type === "printf") {
      const m = /^now (\d+)\n?$/.exec(String(doc.data));
      if (m) now = BigInt(m[1]!);
      return;
    }
    if (doc.type !== "map") return; // attached_probes, warnings …: nothing to count
    for (const [map, byKey] of Object.entries((doc.data ?? {}) as Record<string, Record<string, unknown>>)) {
      if (!["@lat", "@start", "@dev", "@op"].includes(map)) throw new ParseError("bpftrace", i + 1, `unexpected map ${map}`);
      for (const [key, value] of Object.entries(byKey ?? {})) {
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new ParseError("bpftrace", i + 1, `${map}[${key}]: ${JSON.stringify(value)} is not a count`);
        if (map === "@lat") {
          const m = /^(\d+),([01]),(\d+)$/.exec(key);
          if (!m) throw new ParseError("bpftrace", i + 1, `@lat key '${key}' is not dev,op,µs`);
          const k = `${m[1]},${m[2]}`;
          const b = counts.get(k) ?? new Map<number, number>();
          b.set(Number(m[3]), (b.get(Number(m[3])) ?? 0) + value);
          counts.set(k, b);
        } else {
          if (!/^\d+$/.test(key)) throw new ParseError("bpftrace", i + 1, `${map} key '${key}' is not a thread id`);
          (maps[map] ??= {})[key] = value;
        }
      }
    }
  });
  // calls that had not returned: their age at the end, per device and operation
  const inflight = new Map<string, { n: number; oldestUs: number }>();
  for (const [tid, start] of Object.entries(maps["@start"] ?? {})) {
    const dev = maps["@dev"]?.[tid];
    const op = maps["@op"]?.[tid];
    if (dev === undefined || op === undefined || now === null) continue;
    const k = `${dev},${op}`;
    const ageUs = Number((now - BigInt(start)) / 1000n);
    const e = inflight.get(k) ?? { n: 0, oldestUs: 0 };
    inflight.set(k, { n: e.n + 1, oldestUs: Math.max(e.oldestUs, ageUs) });
  }
  const byDev = new Map<number, { read: IoOp | null; write: IoOp | null }>();
  for (const k of new Set([...counts.keys(), ...inflight.keys()])) {
    const [dev, op] = k.split(",").map(Number) as [number, number];
    const buckets = [...(counts.get(k) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
    const ops = buckets.reduce((n, [, c]) => n + c, 0);
    const p50 = ops ? quantile(buckets, ops, 0.5) : { low: 0, high: 0 };
    const p99 = ops ? quantile(buckets, ops, 0.99) : { low: 0, high: 0 };
    const f = inflight.get(k) ?? { n: 0, oldestUs: 0 };
    const e = byDev.get(dev) ?? { read: null, write: null };
    e[op === 0 ? "read" : "write"] = { ops, p50Us: p50.high, p50LowUs: p50.low, p99Us: p99.high, p99LowUs: p99.low, inflight: f.n, oldestInflightUs: f.oldestUs };
    byDev.set(dev, e);
  }
  const datasets: IoDataset[] = [];
  for (const [dev, e] of byDev) {
    // a file system unmounted while sampling has no name any more: left out, not guessed
    const dataset = mounts.get(dev);
    if (dataset !== undefined) datasets.push({ dataset, ...e });
  }
  return { seconds, datasets: datasets.sort((a, b) => a.dataset.localeCompare(b.dataset)), mounted: [...new Set(mounts.values())].sort() };
}
