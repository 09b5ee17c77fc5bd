/**
 * io_latency: per-dataset read/write latency of ZFS filesystems, sampled on the host with
 * bpftrace. kprobes on OpenZFS's `zpl_iter_read`/`zpl_iter_write` (every read(2)/write(2) on a
 * ZFS file passes there) time each call into a log2 histogram keyed by the superblock's
 * device number; /proc/self/mountinfo maps that number to the dataset. A host that cannot
 * run it says why (exit 3 and the reason), and the probe reports `unsupported` with it.
 * Pure: the command and the parsers.
 */
import { argv, type Argv } from "../model/argv.js";
import { ParseError } from "../model/fact.js";

export interface IoOp {
  ops: number;
  /** the log2 bucket the quantile falls in, in microseconds: [low, high] (bpftrace's hist) */
  p50Us: number;
  p50LowUs: number;
  p99Us: number;
  p99LowUs: number;
}

export interface IoDataset {
  dataset: string;
  read: IoOp | null;
  write: IoOp | null;
}

export type IoSample = { unsupported: string } | { failed: string } | { seconds: number; datasets: IoDataset[] };

/** The exit code by which the host script says "cannot trace here" (its stdout says why). */
export const IO_UNSUPPORTED_EXIT = 3;

export function ioTraceProgram(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw new Error(`sample seconds must be an integer 1..60, not ${seconds}`);
  return [
    "kprobe:zpl_iter_read, kprobe:zpl_iter_write { @start[tid] = nsecs; @dev[tid] = ((struct kiocb *)arg0)->ki_filp->f_inode->i_sb->s_dev; }",
    "kretprobe:zpl_iter_read /@start[tid]/ { @read[@dev[tid]] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); delete(@dev[tid]); }",
    "kretprobe:zpl_iter_write /@start[tid]/ { @write[@dev[tid]] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); delete(@dev[tid]); }",
    `interval:s:${seconds} { exit(); }`,
    "END { clear(@start); clear(@dev); }",
  ].join("\n");
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
    `grep -q '[[:space:]]zpl_iter_read[[:space:]]' /proc/kallsyms || { echo 'the kernel lists no zpl_iter_read in /proc/kallsyms (kprobes cannot reach OpenZFS here)'; exit ${u}; }`,
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

interface Bucket { min?: number; max: number; count: number }

/** The bucket in which the q-quantile falls (buckets in ascending order). */
function quantile(buckets: readonly Bucket[], total: number, q: number): { low: number; high: number } {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const b of buckets) {
    seen += b.count;
    if (seen >= rank && b.count > 0) return { low: Math.max(0, b.min ?? 0), high: b.max + 1 };
  }
  const last = buckets[buckets.length - 1]!;
  return { low: Math.max(0, last.min ?? 0), high: last.max + 1 };
}

function opOf(buckets: readonly Bucket[]): IoOp | null {
  const ops = buckets.reduce((n, b) => n + b.count, 0);
  if (ops === 0) return null;
  const p50 = quantile(buckets, ops, 0.5);
  const p99 = quantile(buckets, ops, 0.99);
  return { ops, p50Us: p50.high, p50LowUs: p50.low, p99Us: p99.high, p99LowUs: p99.low };
}

/** bpftrace's JSON lines → per-dataset histograms, named by the mount table. */
export function parseIoTrace(stdout: string, mounts: ReadonlyMap<number, string>, seconds: number): IoSample {
  const byDev = new Map<number, { read: IoOp | null; write: IoOp | null }>();
  stdout.split("\n").forEach((l, i) => {
    if (!l.trim()) return;
    let doc: { type?: string; data?: Record<string, Record<string, Bucket[]>> };
    try {
      doc = JSON.parse(l);
    } catch {
      throw new ParseError("bpftrace", i + 1, `not JSON: ${JSON.stringify(l.slice(0, 200))}`);
    }
    if (doc.type !== "hist") return; // attached_probes, printf …: nothing to count
    for (const [map, byKey] of Object.entries(doc.data ?? {})) {
      if (map !== "@read" && map !== "@write") throw new ParseError("bpftrace", i + 1, `unexpected map ${map}`);
      for (const [key, buckets] of Object.entries(byKey)) {
        if (!/^\d+$/.test(key) || !Array.isArray(buckets)) throw new ParseError("bpftrace", i + 1, `${map}: key '${key}' is not a device number`);
        for (const b of buckets) if (typeof b?.max !== "number" || typeof b.count !== "number") throw new ParseError("bpftrace", i + 1, `${map}[${key}]: bucket ${JSON.stringify(b)} lacks max/count`);
        const e = byDev.get(Number(key)) ?? { read: null, write: null };
        e[map === "@read" ? "read" : "write"] = opOf(buckets);
        byDev.set(Number(key), e);
      }
    }
  });
  const datasets: IoDataset[] = [];
  for (const [dev, e] of byDev) {
    if (!e.read && !e.write) continue;
    // a file system unmounted while sampling has no name any more: left out, not guessed
    const dataset = mounts.get(dev);
    if (dataset !== undefined) datasets.push({ dataset, ...e });
  }
  return { seconds, datasets: datasets.sort((a, b) => a.dataset.localeCompare(b.dataset)) };
}
