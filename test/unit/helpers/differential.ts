/** The differential table (test/fixtures/zfs-differential/cases.json), shared by the unit and e2e sides. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./seed.js";

export interface Row {
  where: string;
  property: string;
  value: string;
  openzfs: "accept" | "reject";
  evidence: string;
  deviation?: string;
  with?: Record<string, string>;
}

export const table = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "zfs-differential", "cases.json"), "utf8")) as { cases: Row[] };

/** A row's identity in captures of other versions' verdicts: where, assignment and companions. */
export function rowKey(r: Row): string {
  return `${r.where} ${r.property ? `${r.property}=` : ""}${JSON.stringify(r.value)}${r.with ? ` with ${JSON.stringify(r.with)}` : ""}`;
}
