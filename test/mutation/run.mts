/**
 * `npm run test:mutation [-- GROUP...]`: Stryker over the pure core, one group after another
 * (test/mutation/groups.mjs), each incremental in reports/mutation/<group>/; then the per-module
 * table of every group that has a report. `--summary` prints the table only.
 */
import { execa } from "execa";
import { existsSync, readFileSync } from "node:fs";
import { GROUPS, SAFETY } from "./groups.mjs";
import { markdown, rowsOf, score, total, type Report } from "./summary.js";

const args = process.argv.slice(2);
const summaryOnly = args.includes("--summary");
const names = args.filter((a) => a !== "--summary");
for (const n of names) if (!(n in GROUPS)) throw new Error(`no such group: ${n} (groups: ${Object.keys(GROUPS).join(", ")})`);
const toRun = summaryOnly ? [] : names.length > 0 ? names : Object.keys(GROUPS);

let failed = 0;
for (const group of toRun) {
  const started = Date.now();
  console.log(`\n── mutation group ${group} ──`);
  const r = await execa("npx", ["stryker", "run"], { env: { BACKPLANE_MUTATION_GROUP: group }, stdio: "inherit", reject: false });
  console.log(`── ${group}: exit ${r.exitCode}, ${Math.round((Date.now() - started) / 1000)} s ──`);
  if (r.exitCode !== 0) failed++;
}

const reportOf = (g: string) => `reports/mutation/${g}/mutation.json`;
const present = Object.keys(GROUPS).filter((g) => existsSync(reportOf(g)));
const reports = present.map((g) => JSON.parse(readFileSync(reportOf(g), "utf8")) as Report);
const rows = rowsOf(reports);
const commit = (await execa("git", ["rev-parse", "--short", "HEAD"], { reject: false })).stdout;
const stamp = `${new Date().toISOString().slice(0, 10)}, ${commit}`;
const safety = rows.filter((r) => SAFETY.includes(r.module));
console.log(`\nmutation: reports of ${present.length} of ${Object.keys(GROUPS).length} groups (${present.join(", ") || "none"})\n`);
console.log(markdown(rows, [total("the safety-critical modules", safety), total(`all reported modules (${rows.length} files)`, rows)], stamp));
const whole = score(total("", rows));
if (whole !== null) console.log(`\nscore of the reported core: ${whole.toFixed(1)} %`);
process.exitCode = failed > 0 ? 1 : 0;
