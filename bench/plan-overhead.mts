/**
 * Where a plan's time goes (#17: "a plan of one host with 100 datasets takes 2.3× the bare round
 * trip running the same script"): `backplane plan --no-synth` of one ns-tier host with D datasets
 * (applied first, on a lab of its own), the packed CLI of this checkout against the packed CLI of
 * --before (a git revision), and the floor: one cold `ssh host sh -s` running the refresh
 * script. Each plan's own debug log (BACKPLANE_LOG=debug) gives its round trip's time, so a
 * plan splits into: before its SSH command starts, the round trip, and after it.
 *
 *   npx tsx bench/plan-overhead.mts --before <rev> [--datasets 100] [--runs 11] [--record]
 */
import { execa } from "execa";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../test/e2e/helpers.js";
import { installedCli, machine, median, min } from "./measure.js";
import { benchHosts, benchLab, benchStack, coldSsh, refreshScript } from "./bench-hosts.js";
import { labDown } from "../test/lab/vm.js";

const { values } = parseArgs({ options: {
  before: { type: "string" }, datasets: { type: "string", default: "100" }, runs: { type: "string", default: "11" },
  record: { type: "boolean", default: false },
} });
if (!values.before) throw new Error("--before <git revision> is required: the CLI to compare with");
const runs = Number(values.runs);
const lab = "/var/tmp/backplane-bench-overhead";
const env = { ...process.env, BACKPLANE_INVENTORY: join(lab, "hosts.json"), NO_COLOR: "1", BACKPLANE_LOG: "debug" };
const work = mkdtempSync(join(tmpdir(), "bp-bench-overhead-"));

// the CLI at --before: a worktree of that revision, built with this checkout's node_modules
const tree = join(work, "before");
await execa("git", ["worktree", "add", "--detach", tree, values.before], { cwd: ROOT });
try {
  await execa("ln", ["-s", join(ROOT, "node_modules"), join(tree, "node_modules")]);
  const before = installedCli(tree, join(work, "b"));
  const now = installedCli(ROOT, join(work, "n"));
  // one host with the datasets (a stack's inventory names prod and dr), applied by this checkout's CLI
  const { hosts: [prod] } = await benchLab(lab, 2);
  const { reset, verify } = benchHosts(lab);
  await reset([prod!]);
  const project = await benchStack([prod!], Number(values.datasets), `bench-overhead-1x${values.datasets}`);
  const applied = await execa("node", [now, "apply", "--auto-approve"], { cwd: project, env: { ...env, BACKPLANE_LOG: "" }, reject: false });
  if (applied.exitCode !== 0) throw new Error(`apply: ${applied.stdout}\n${applied.stderr}`);
  await verify([prod!], Number(values.datasets), "backplane");
  const host = "prod";
  const script = join(work, "refresh.sh");
  writeFileSync(script, refreshScript());

  interface Split { wall: number; roundTrip: number }
  async function plan(bin: string): Promise<Split> {
    const t0 = performance.now();
    const r = await execa("node", [bin, "plan", "--no-synth"], { cwd: project, env, reject: false });
    const wall = (performance.now() - t0) / 1000;
    if (r.exitCode !== 0 || !r.stdout.includes("No changes.")) throw new Error(`plan: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    const m = / exit 0 after ([\d.]+)s/.exec(r.stderr);
    if (!m) throw new Error(`no round trip in the debug log:\n${r.stderr}`);
    return { wall, roundTrip: Number(m[1]) };
  }
  async function floor(): Promise<number> {
    const t0 = performance.now();
    await execa("sh", ["-c", `ssh ${coldSsh(join(lab, "ssh_config"))} ${host} sh -s < ${script} > /dev/null`]);
    return (performance.now() - t0) / 1000;
  }
  async function nodeStart(): Promise<number> {
    const t0 = performance.now();
    await execa("node", ["-e", "0"]);
    return (performance.now() - t0) / 1000;
  }

  const rows = { before: [] as Split[], now: [] as Split[], floor: [] as number[], node: [] as number[] };
  for (let i = 0; i <= runs; i++) {
    const b = await plan(before), n = await plan(now), f = await floor(), s = await nodeStart();
    if (i === 0) continue;
    rows.before.push(b); rows.now.push(n); rows.floor.push(f); rows.node.push(s);
  }
  const f = median(rows.floor);
  const line = (name: string, xs: Split[]) => {
    const w = median(xs.map((x) => x.wall)), rt = median(xs.map((x) => x.roundTrip));
    return `| ${name} | ${min(xs.map((x) => x.wall)).toFixed(2)} / ${w.toFixed(2)} s | ${rt.toFixed(2)} s | ${(w - rt).toFixed(2)} s | ${(w / f).toFixed(2)}x |`;
  };
  const rev = (await execa("git", ["rev-parse", "--short", values.before], { cwd: ROOT })).stdout;
  const table = [
    `## Where a plan's time goes (\`npx tsx bench/plan-overhead.mts --before ${rev} --datasets ${values.datasets} --runs ${runs}\`), ${new Date().toISOString().slice(0, 10)}`,
    "",
    `${await machine()}; ns-tier host prod with one pool and ${values.datasets} datasets; \`backplane plan --no-synth\` of the packed CLI (as installed), ${runs} runs after a warm-up, interleaved; min / median.`,
    "",
    "| what | wall | its SSH round trip | the CLI's own time | ratio to the floor |",
    "|---|---|---|---|---|",
    line(`before (${rev})`, rows.before),
    line("now", rows.now),
    `| floor: cold \`ssh prod sh -s\` running the refresh script | ${min(rows.floor).toFixed(2)} / ${f.toFixed(2)} s | ${f.toFixed(2)} s | – | 1 |`,
    `| node -e 0 | ${min(rows.node).toFixed(2)} / ${median(rows.node).toFixed(2)} s | – | – | – |`,
    "",
  ].join("\n");
  console.log(table);
  if (values.record) appendFileSync(join(ROOT, "bench", "RESULTS.md"), `\n${table}`);
} finally {
  await execa("git", ["worktree", "remove", "--force", tree], { cwd: ROOT, reject: false });
  await labDown(() => undefined, lab);
}
