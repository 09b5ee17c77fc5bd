/**
 * backplane's verdict on every row of test/fixtures/zfs-differential/cases.json: the same as
 * OpenZFS's (from its source and test suite), or the opposite with the reason written in the
 * row. A verdict is what backplane decides before touching the host: the value's own rules
 * and, at plan time, what the host's OpenZFS version and pool can take (capabilityProblems),
 * here with the live state of a real 2.3 host and a real 2.1 host (refresh fixtures). The
 * 2.3 verdicts are the table's (checked on the lab host by the e2e test); the 2.1 verdicts
 * were captured on a 2.1.11 lab host (host-2.1.11.json, test/lab/capture-differential.mts).
 */
import { describe, it, expect } from "vitest";
import { propertyProblems, type PropertyContext } from "../../provider/zfs/assignments.js";
import { poolPropertyProblems } from "../../provider/zfs/pool-properties.js";
import { userPropertyNameProblem, userPropertyValueProblem } from "../../provider/zfs/properties.js";
import { datasetNameProblem, poolNameProblem, snapshotNameProblem } from "../../provider/zfs/names.js";
import { table, rowKey, type Row } from "./helpers/differential.js";
import { capabilityProblems } from "../../provider/resources/zfs-common.js";
import { normalizeProperties } from "../../provider/resources/zfs-common.js";
import { liveFrom, ROOT } from "./helpers/seed.js";
import type { HostLive } from "../../provider/model/live.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const HOSTS: Record<string, HostLive> = {
  "2.3": liveFrom("zfs-2.3-prod-seed", "prod"),
  "2.1": liveFrom("zfs-2.1-prod-pool", "prod"),
};
const captured21 = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "zfs-differential", "host-2.1.11.json"), "utf8")) as { version: string; verdicts: { key: string; verdict: "accept" | "reject"; said: string }[] };
const host21 = new Map(captured21.verdicts.map((v) => [v.key, v]));


const CONTEXTS: Record<string, PropertyContext> = {
  filesystem: { kind: "filesystem", target: "dataset", ephemeral: false, userProperties: "separate" },
  volume: { kind: "volume", target: "dataset", ephemeral: false, userProperties: "separate" },
  clone: { kind: "either", target: "clone", ephemeral: false, userProperties: "not-read" },
  "pool-root": { kind: "filesystem", target: "pool-root", ephemeral: false, userProperties: "not-read" },
};

/** backplane's problems with one row on a host (empty: accepted). */
function backplaneProblems(row: Row, live: HostLive): string[] {
  const ctx = CONTEXTS[row.where];
  if (ctx) {
    const assigned = { ...row.with, [row.property]: row.value };
    const own = propertyProblems(assigned, ctx).map((p) => p.message);
    return own.length > 0 ? own : capabilityProblems(live, "tank", normalizeProperties(assigned), row.where, assigned);
  }
  const one = (p: string | null) => (p ? [p] : []);
  switch (row.where) {
    case "pool-create":
    case "pool-adopt":
      return poolPropertyProblems({ [row.property]: row.value }, { pool: "tank", create: row.where === "pool-create" }).map((p) => p.message);
    case "user-name": return one(userPropertyNameProblem(row.value));
    case "user-value": return one(userPropertyValueProblem(row.value));
    case "pool-name": return one(poolNameProblem(row.value));
    case "dataset-name": return one(datasetNameProblem(row.value));
    case "snapshot-name": return one(snapshotNameProblem(row.value));
  }
  throw new Error(`unknown 'where' ${row.where}`);
}

const label = (r: Row) => `${r.where} ${r.property ? `${r.property}=` : ""}${JSON.stringify(r.value.length > 40 ? `${r.value.slice(0, 40)}…(${r.value.length})` : r.value)}`;

describe("backplane decides as OpenZFS does, or says why not", () => {
  it("the table is big enough to be worth running against hosts", () => {
    expect(table.cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(table.cases.map((r) => [label(r), r] as const))("%s", (_l, row) => {
    const problems = backplaneProblems(row, HOSTS["2.3"]!);
    const verdict = problems.length === 0 ? "accept" : "reject";
    const expected = row.deviation ? (row.openzfs === "accept" ? "reject" : "accept") : row.openzfs;
    expect(verdict, `${problems.join(" | ")} (OpenZFS: ${row.openzfs}; ${row.evidence})`).toBe(expected);
  });

  // deviations are backplane's own decisions, the same whatever the version; everything else follows the 2.1 host
  const rows21 = table.cases.filter((r) => host21.has(rowKey(r)));
  it.each(rows21.map((r) => [label(r), r] as const))("on OpenZFS 2.1.11 (captured): %s", (_l, row) => {
    const host = host21.get(rowKey(row))!;
    const problems = backplaneProblems(row, HOSTS["2.1"]!);
    const verdict = problems.length === 0 ? "accept" : "reject";
    const expected = row.deviation ? (row.openzfs === "accept" ? "reject" : "accept") : host.verdict;
    expect(verdict, `${problems.join(" | ")} (OpenZFS 2.1.11: ${host.verdict}${host.said ? `: ${host.said}` : ""})`).toBe(expected);
  });

  it("the 2.1 capture covers the table, and the version differences it shows are decided per host", () => {
    expect(captured21.version).toBe("2.1.11");
    expect(rows21.length).toBe(table.cases.length - 1); // every row but the one not run on hosts (a network key location)
    const differs = rows21.filter((r) => host21.get(rowKey(r))!.verdict !== r.openzfs);
    // recordsize and volblocksize above 1M (2M, 16M, 4M at pool create), special_small_blocks=2M, snapdir=disabled
    expect(differs.map(label).sort()).toEqual([
      'filesystem recordsize="16M"', 'filesystem recordsize="2M"', 'filesystem snapdir="disabled"',
      'filesystem special_small_blocks="2M"', 'pool-root recordsize="4M"', 'volume volblocksize="2M"',
    ]);
    // the value is valid on 2.3 and refused on 2.1 by the version check, not by its own rules
    for (const r of differs.filter((x) => !x.deviation)) {
      expect(backplaneProblems(r, HOSTS["2.3"]!)).toEqual([]);
      expect(backplaneProblems(r, HOSTS["2.1"]!).join(" ")).toMatch(/needs OpenZFS 2\.[23].*; host runs OpenZFS 2\.1\.11/);
    }
    console.log(`zfs differential on OpenZFS 2.1.11 (captured ${captured21.verdicts.length} rows): differs from 2.3 on ${differs.length}; backplane agrees with the 2.1 host on every row but its ${rows21.filter((r) => r.deviation).length} deliberate deviations`);
  });

  it("prints the agreement", () => {
    const dev = table.cases.filter((r) => r.deviation).length;
    console.log(`zfs differential table: ${table.cases.length} rows; backplane agrees with OpenZFS on ${table.cases.length - dev}, deviates deliberately on ${dev}`);
  });
});
