/**
 * What the benchmarks that compare backplane with a peer share: running a command while counting
 * its SSH round trips and the CPU it and the machine spent, and summarising runs.
 *
 * Round trips are counted by wrappers named `ssh`, `scp` and `sftp` put first on the PATH of the
 * measured command: each invocation that runs something on a host appends a line to a counter
 * file, then execs the real program. `ssh -O …` (asking a ControlMaster to exit or report) is not
 * a round trip to the host and is not counted. Both backplane and Ansible start `ssh` from PATH.
 */
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { splitSections } from "../provider/engine/batch.js";
import { parseRefresh } from "../provider/engine/live.js";

export interface Measured {
  /** wall seconds */
  wall: number;
  /** SSH, scp and sftp invocations that reached a host */
  roundTrips: number;
  /** CPU seconds of the command and the children it waited for (user + system) */
  controllerCpu: number;
  /** the command's peak resident memory, MiB (GNU time: the largest of it and its children) */
  maxRssMiB: number;
  /** CPU seconds the whole machine spent meanwhile (every ns host's sshd, zfs-fuse, zfs, python…) */
  machineCpu: number;
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A folder of counting wrappers; `env(counter)` puts it first on PATH for one run. */
export function roundTripCounter(dir: string) {
  mkdirSync(dir, { recursive: true });
  for (const tool of ["ssh", "scp", "sftp"]) {
    const real = `/usr/bin/${tool}`;
    const path = join(dir, tool);
    writeFileSync(path, [
      "#!/bin/sh",
      // `ssh -O exit|check …` talks to the local ControlMaster only
      `case " $* " in *" -O "*) ;; *) echo ${tool} >> "$BP_BENCH_ROUND_TRIPS" ;; esac`,
      `exec ${real} "$@"`,
      "",
    ].join("\n"));
    chmodSync(path, 0o755);
  }
  return {
    env(counterFile: string): Record<string, string> {
      return { PATH: `${dir}:${process.env.PATH ?? ""}`, BP_BENCH_ROUND_TRIPS: counterFile };
    },
  };
}

/** CPU seconds the machine has spent so far (all cores, every mode but idle and iowait). */
function machineCpuSeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** Runs `file args` under GNU time, with the round-trip wrappers first on PATH. */
export async function measure(
  counter: ReturnType<typeof roundTripCounter>,
  work: string,
  file: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<Measured> {
  mkdirSync(work, { recursive: true });
  const count = join(work, "round-trips");
  const times = join(work, "time");
  rmSync(count, { force: true });
  writeFileSync(count, "");
  const cpu0 = machineCpuSeconds();
  const t0 = performance.now();
  const r = await execa("/usr/bin/time", ["-f", "%U %S %M", "-o", times, file, ...args], {
    cwd: opts.cwd, reject: false, input: opts.input ?? "", env: { ...opts.env, ...counter.env(count) },
  });
  const wall = (performance.now() - t0) / 1000;
  const machineCpu = machineCpuSeconds() - cpu0;
  const [u, s, rssKiB] = readFileSync(times, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  const roundTrips = readFileSync(count, "utf8").split("\n").filter(Boolean).length;
  return { wall, roundTrips, controllerCpu: u! + s!, maxRssMiB: rssKiB! / 1024, machineCpu, stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
export const min = (xs: readonly number[]) => Math.min(...xs);

/** "min / median" in seconds with the run count, e.g. `1.23 / 1.30 s (n=3)`. */
export function minMedian(xs: readonly number[], digits = 2): string {
  return `${min(xs).toFixed(digits)} / ${median(xs).toFixed(digits)} s`;
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

/** The machine, for the results' header. */
export async function machine(): Promise<string> {
  const kernel = (await execa("uname", ["-r"])).stdout.trim();
  const commit = (await execa("git", ["rev-parse", "--short", "HEAD"], { reject: false })).stdout.trim();
  return `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${kernel}, node ${process.version}, backplane at ${commit || "?"}`;
}

export function ensureDir(dir: string): string {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * backplane as users get it: the packed package (`npm pack`, which builds dist/) installed in
 * `work`/app, so its bin runs the compiled JavaScript (a checkout's bin runs the TypeScript
 * sources through tsx). Returns the path of the installed bin.
 */
export function installedCli(root: string, work: string): string {
  mkdirSync(work, { recursive: true });
  // stderr piped: a failed build inside prepack shows in the thrown error
  const stdout = execFileSync("npm", ["pack", "--pack-destination", work, "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  // the build's own lines come first, then npm's JSON report
  const packed = JSON.parse(stdout.slice(stdout.lastIndexOf("\n[\n") + 1)) as { filename: string }[];
  const app = join(work, "app");
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "bench-app", private: true }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, packed[0]!.filename)], { cwd: app, stdio: "ignore" });
  return join(app, "node_modules", "backplane", "bin", "backplane.mjs");
}

/**
 * The peer of a parse benchmark: lines split on tabs (a line of JSON, as OpenZFS ≥ 2.3 answers,
 * read with JSON.parse) into name → property → value, nothing checked (no column counts,
 * duplicates or sources). Its ratio says what strictness costs.
 */
export function naiveSplit(text: string): Map<string, Map<string, string>> {
  const m = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    // OpenZFS ≥ 2.3 answers `zfs get -j` in one line of JSON: read into the same maps, no checks
    if (line.startsWith("{")) {
      const doc = JSON.parse(line) as { datasets?: Record<string, { properties?: Record<string, { value: string }> }> };
      for (const [name, d] of Object.entries(doc.datasets ?? {})) {
        const row = new Map<string, string>();
        for (const [prop, p] of Object.entries(d.properties ?? {})) row.set(prop, p.value);
        m.set(name, row);
      }
      continue;
    }
    const [name, prop, value] = line.split("\t");
    if (!name || !prop) continue;
    let row = m.get(name);
    if (!row) m.set(name, (row = new Map()));
    row.set(prop, value ?? "");
  }
  return m;
}

/**
 * The strict parse of a captured refresh against naiveSplit, interleaved, `runs` times after
 * `warmups` uncounted ones (ms): what bench/cli.mts and bench/parse-capture.mts both time.
 */
export function timeParses(raw: string, nonce: string, runs: number, warmups = 3): { strict: number[]; naive: number[] } {
  const strict: number[] = [], naive: number[] = [];
  for (let i = 0; i < runs + warmups; i++) {
    let t0 = performance.now();
    parseRefresh("prod", splitSections(raw, nonce), []);
    const a = performance.now() - t0;
    t0 = performance.now();
    naiveSplit(raw);
    const b = performance.now() - t0;
    if (i >= warmups) { strict.push(a); naive.push(b); }
  }
  return { strict, naive };
}
