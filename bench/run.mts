/**
 * `npm run bench [-- --record]`: the benchmarks sized to fit in ≈15 minutes on this machine (2
 * cores; from its parts' times in bench/RESULTS.md, the set not yet timed whole), one after another, each against its peer in the same run; `--record` appends their
 * tables to bench/RESULTS.md. Not part of `npm test`. The long ones run alone (bench/RESULTS.md
 * names each table's command): the full scale matrix (`bench/scale.mts --hosts 1,5,20 --datasets
 * 10,100,500`), 5,000 datasets (`bench/cli.mts`), the vm tier, replication.
 */
import { execa } from "execa";
import { join } from "node:path";
import { ROOT } from "../test/e2e/helpers.js";

const record = process.argv.includes("--record") ? ["--record"] : [];
const set: [string, string[]][] = [
  ["bench/refresh-parse.ts", []],
  ["bench/cold-start.mts", record],
  ["bench/cli.mts", ["--datasets", "1000", "--runs", "5", ...record]],
  ["bench/scale.mts", ["--tier", "ns", "--hosts", "1,5", "--datasets", "10,100", "--runs", "3", "--ansible-budget", "60", ...record]],
];
const times: string[] = [];
let failed = 0;
for (const [script, args] of set) {
  const t0 = Date.now();
  console.log(`\n── ${script} ${args.join(" ")} ──`);
  const r = await execa(join(ROOT, "node_modules", ".bin", "tsx"), [script, ...args], { cwd: ROOT, stdio: "inherit", reject: false });
  if (r.exitCode !== 0) failed++;
  times.push(`${script}: exit ${r.exitCode}, ${Math.round((Date.now() - t0) / 1000)} s`);
}
console.log(`\nbench:\n  ${times.join("\n  ")}`);
process.exitCode = failed ? 1 : 0;
