/**
 * Cold start of the `backplane` command as users get it: the packed package (`npm pack`,
 * which builds dist/) installed in an empty folder, its bin run by node — against the peer
 * `node -e 0` in the same run, interleaved so a busy machine weighs on both alike. 3 warm-ups,
 * then 21 runs each; prints min/median and the ratio to node, and appends the table to
 * bench/RESULTS.md with `--record`. Targets (issue #16): --version ≤ 300 ms and --help ≤ 400 ms
 * median on this machine.
 *
 *   npx tsx bench/cold-start.mts [--record]
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { installedCli } from "./measure.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;

const work = mkdtempSync(join(tmpdir(), "bp-cold-"));
try {
  const bin = installedCli(root, work);
  const app = join(work, "app");

  const cases: [name: string, args: string[]][] = [
    ["peer: node -e 0", ["-e", "0"]],
    ["backplane --version", [bin, "--version"]],
    ["backplane --help", [bin, "--help"]],
    ["backplane version -json", [bin, "version", "-json"]],
  ];
  const once = (args: string[]): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: app, stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`node ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const times = new Map(cases.map(([n]) => [n, [] as number[]]));
  for (let i = 0; i < 24; i++) {
    for (const [name, args] of cases) {
      const ms = once(args);
      if (i >= 3) times.get(name)!.push(ms);
    }
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
  };
  const peer = stat(times.get(cases[0]![0])!).median;
  const rows = cases.map(([name]) => {
    const s = stat(times.get(name)!);
    return `| ${name} | ${s.min.toFixed(0)} ms | ${s.median.toFixed(0)} ms | ${(s.median / peer).toFixed(2)}x |`;
  });
  const table = [
    `## Cold start (\`npx tsx bench/cold-start.mts\`), ${new Date().toISOString().slice(0, 10)}`,
    "",
    `backplane ${version} packed and installed in an empty folder (compiled JavaScript, no tsx), run by node ${process.version};`,
    `${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end; 21 runs each after 3 warm-ups, interleaved.`,
    "",
    "| command | min | median | ratio to node -e 0 |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  console.log(table);
  if (process.argv.includes("--record")) appendFileSync(join(root, "bench", "RESULTS.md"), `\n${table}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
