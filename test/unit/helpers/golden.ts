/** Golden files for rendered plans: test/unit/golden/<name>; UPDATE_GOLDEN=1 rewrites them (review the diff). */
import { expect } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./root.js";

export function golden(name: string, text: string): void {
  const file = join(ROOT, "test", "unit", "golden", name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`golden file ${name} is missing: run with UPDATE_GOLDEN=1 and review it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}
