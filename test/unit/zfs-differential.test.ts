/**
 * backplane's verdict on every row of test/fixtures/zfs-differential/cases.json: the same as
 * OpenZFS's (from its source and test suite), or the opposite with the reason written in the
 * row. The host side of the differential (running each row on real OpenZFS) is separate.
 */
import { describe, it, expect } from "vitest";
import { propertyProblems, type PropertyContext } from "../../provider/zfs/assignments.js";
import { poolPropertyProblems } from "../../provider/zfs/pool-properties.js";
import { userPropertyNameProblem, userPropertyValueProblem } from "../../provider/zfs/properties.js";
import { datasetNameProblem, poolNameProblem, snapshotNameProblem } from "../../provider/zfs/names.js";
import { table, type Row } from "./helpers/differential.js";


const CONTEXTS: Record<string, PropertyContext> = {
  filesystem: { kind: "filesystem", target: "dataset", ephemeral: false, userProperties: "separate" },
  volume: { kind: "volume", target: "dataset", ephemeral: false, userProperties: "separate" },
  clone: { kind: "either", target: "clone", ephemeral: false, userProperties: "not-read" },
  "pool-root": { kind: "filesystem", target: "pool-root", ephemeral: false, userProperties: "not-read" },
};

/** backplane's problems with one row (empty: accepted). */
function backplaneProblems(row: Row): string[] {
  const ctx = CONTEXTS[row.where];
  if (ctx) return propertyProblems({ ...row.with, [row.property]: row.value }, ctx).map((p) => p.message);
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
    const problems = backplaneProblems(row);
    const verdict = problems.length === 0 ? "accept" : "reject";
    const expected = row.deviation ? (row.openzfs === "accept" ? "reject" : "accept") : row.openzfs;
    expect(verdict, `${problems.join(" | ")} (OpenZFS: ${row.openzfs}; ${row.evidence})`).toBe(expected);
  });

  it("prints the agreement", () => {
    const dev = table.cases.filter((r) => r.deviation).length;
    console.log(`zfs differential table: ${table.cases.length} rows; backplane agrees with OpenZFS on ${table.cases.length - dev}, deviates deliberately on ${dev}`);
  });
});
