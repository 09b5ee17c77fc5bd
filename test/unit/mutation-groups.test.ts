/**
 * The mutation run's groups and its score table (test/mutation/): every file of the pure core is
 * mutated by exactly one group, and the table counts as Stryker does — checked on the real
 * report of the safety-critical modules' second round (statuses only, from reports/mutation/).
 */
import { describe, it, expect } from "vitest";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CORE, GROUPS, SAFETY } from "../mutation/groups.mjs";
import { markdown, rowsOf, score, total, type Report } from "../mutation/summary.js";
import { ROOT } from "./helpers/seed.js";

/** The group patterns are files or `dir/**\/*.ts`. */
const expand = (pattern: string): string[] => {
  if (!pattern.endsWith("/**/*.ts")) return [pattern];
  const dir = pattern.slice(0, -"/**/*.ts".length);
  return (readdirSync(join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`);
};
/**
 * The pure directories: everything in them is mutated (the schema's generator writes files: not
 * pure). provider/engine and provider/model hold I/O modules too: their pure modules are listed
 * by hand in groups.mjs.
 */
const PURE_DIRS = ["provider/zfs", "provider/wg", "provider/schema", "provider/resources", "provider/systemd"];
const NOT_PURE = ["provider/schema/generate.ts"];

describe("the mutation groups", () => {
  const files = CORE.flatMap(expand);

  it("name files that exist, each in one group only", () => {
    for (const f of files) expect(existsSync(join(ROOT, f)), f).toBe(true);
    expect(files.length).toBe(new Set(files).size);
  });

  it("cover every module of the pure directories (a new module is not left out of the run)", () => {
    const pure = PURE_DIRS.flatMap((d) => expand(`${d}/**/*.ts`)).filter((f) => !NOT_PURE.includes(f));
    expect(pure.filter((f) => !files.includes(f))).toEqual([]);
    expect(files.filter((f) => NOT_PURE.includes(f))).toEqual([]);
  });

  it("keep the safety-critical modules together, as one group, and in no other", () => {
    const owners = (f: string) => Object.entries(GROUPS).filter(([, patterns]) => patterns.flatMap(expand).includes(f)).map(([g]) => g);
    for (const f of ["provider/model/argv.ts", "provider/resources/zfs-common.ts", "provider/engine/delete-order.ts", "provider/engine/saved-plan.ts", "provider/wg/facts.ts", "provider/zfs/names.ts", "provider/schema/host-key.ts", "provider/model/echo.ts"]) {
      expect(owners(f), f).toEqual(["safety"]);
    }
    expect(SAFETY).toHaveLength(8);
  });
});

describe("the score table", () => {
  const report = (): Report => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "mutation", "safety-round2.report.json"), "utf8"));

  it("counts each module as Stryker did (docs/testing.md, second round)", () => {
    const rows = rowsOf([report()]);
    const wg = rows.find((r) => r.module === "provider/wg/facts.ts")!;
    expect(wg).toEqual({ module: "provider/wg/facts.ts", mutants: 265, killed: 178, timeout: 0, survived: 44, noCoverage: 0, compileErrors: 43, ignored: 0 });
    expect(score(wg)!.toFixed(1)).toBe("80.2");
    const echo = rows.find((r) => r.module === "provider/model/echo.ts")!;
    expect([echo.killed, echo.timeout, echo.survived, echo.ignored, echo.compileErrors]).toEqual([69, 1, 3, 14, 18]);
    expect(score(echo)!.toFixed(1)).toBe("95.9");
    expect(score(rows.find((r) => r.module === "provider/engine/saved-plan.ts")!)!.toFixed(1)).toBe("91.1");
  });

  it("totals add up the modules; no coverage counts against the score, compile errors and ignored ones do not", () => {
    const t = total("all", rowsOf([report()]));
    expect([t.mutants, t.killed, t.timeout, t.survived, t.noCoverage]).toEqual([1307, 870, 2, 106, 3]);
    expect(score(t)!.toFixed(1)).toBe((100 * 872 / (872 + 106 + 3)).toFixed(1));
    expect(score({ ...t, killed: 0, timeout: 0, survived: 0, noCoverage: 0 })).toBeNull();
  });

  it("a module re-run in a later report is counted once, from the later one", () => {
    const later: Report = { files: { "provider/zfs/names.ts": { mutants: [{ status: "Killed" }, { status: "Survived" }] } } };
    const rows = rowsOf([report(), later]);
    expect(rows.filter((r) => r.module === "provider/zfs/names.ts")).toEqual([{ module: "provider/zfs/names.ts", mutants: 2, killed: 1, timeout: 0, survived: 1, noCoverage: 0, compileErrors: 0, ignored: 0 }]);
  });

  it("refuses a status it does not know instead of counting it as anything", () => {
    expect(() => rowsOf([{ files: { "a.ts": { mutants: [{ status: "Pending" }] } } }])).toThrow(/a\.ts: a mutant with status "Pending"/);
  });

  it("prints one line per module and the totals in bold", () => {
    const rows = rowsOf([report()]);
    const text = markdown(rows, [total("these", rows)], "2026-11-27, abc1234").split("\n");
    expect(text).toHaveLength(2 + rows.length + 1);
    expect(text).toContainEqual("| 2026-11-27, abc1234 | `provider/wg/facts.ts` | 265 | 178 | 44 | 0 | 43 | 80.2 % |");
    expect(text.at(-1)).toMatch(/^\| 2026-11-27, abc1234 \| \*\*these\*\* \| 1307 \| 870 \(\+2 timeout\) \| 106 \| 3 \| 304 \| \*\*88\.9 %\*\* \|$/);
  });
});
