/**
 * Scores from Stryker's JSON reports (mutation-testing-report-schema), as Stryker counts them:
 * detected = killed + timeout; undetected = survived + no coverage; compile and runtime errors
 * are invalid mutants and ignored ones are left out; score = detected / (detected + undetected).
 * Pure: the reports are read by run.mts.
 */

export interface MutantResult { status: string }
export interface Report { files: Record<string, { mutants: MutantResult[] }> }

export interface Row {
  module: string;
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  compileErrors: number;
  ignored: number;
}

const EMPTY = (module: string): Row => ({ module, mutants: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, compileErrors: 0, ignored: 0 });

const FIELD: Record<string, keyof Omit<Row, "module" | "mutants">> = {
  Killed: "killed",
  Timeout: "timeout",
  Survived: "survived",
  NoCoverage: "noCoverage",
  CompileError: "compileErrors",
  RuntimeError: "compileErrors",
  Ignored: "ignored",
};

/** One row per file of every report; a file in two reports (re-run in another group) counts once, from the later report. */
export function rowsOf(reports: readonly Report[]): Row[] {
  const byFile = new Map<string, Row>();
  for (const report of reports) {
    for (const [file, { mutants }] of Object.entries(report.files)) {
      const row = EMPTY(file);
      for (const m of mutants) {
        const field = FIELD[m.status];
        if (field === undefined) throw new Error(`${file}: a mutant with status ${JSON.stringify(m.status)}, which this summary does not know (a report of an unfinished run?)`);
        row[field]++;
        row.mutants++;
      }
      byFile.set(file, row);
    }
  }
  return [...byFile.values()].sort((a, b) => a.module.localeCompare(b.module));
}

export function total(module: string, rows: readonly Row[]): Row {
  const t = EMPTY(module);
  for (const r of rows) for (const k of Object.keys(t) as (keyof Row)[]) if (k !== "module") (t[k] as number) += r[k] as number;
  return t;
}

/** Stryker's "total" score in percent, or null when no valid mutant was covered or not. */
export function score(r: Row): number | null {
  const detected = r.killed + r.timeout;
  const valid = detected + r.survived + r.noCoverage;
  return valid === 0 ? null : (100 * detected) / valid;
}

const pct = (r: Row) => {
  const s = score(r);
  return s === null ? "n/a" : `${s.toFixed(1)} %`;
};

/** The table docs/testing.md keeps: one line per module, then the totals asked for. */
export function markdown(rows: readonly Row[], totals: readonly Row[], stamp: string): string {
  const line = (r: Row, bold = false) => {
    const name = bold ? `**${r.module}**` : `\`${r.module}\``;
    return `| ${stamp} | ${name} | ${r.mutants} | ${r.killed}${r.timeout ? ` (+${r.timeout} timeout)` : ""} | ${r.survived} | ${r.noCoverage} | ${r.compileErrors} | ${bold ? `**${pct(r)}**` : pct(r)} |`;
  };
  return [
    "| date, commit | module | mutants | killed | survived | no coverage | compile errors | score |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => line(r)),
    ...totals.map((r) => line(r, true)),
  ].join("\n");
}
