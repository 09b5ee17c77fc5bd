/**
 * Build step (after tsc): writes dist/constructs-cdktn/, the package's `backplane/cdktn`
 * entry point — the compiled constructs with every import of `cdktf` made an import of
 * `cdktn` (CDK Terrain), nothing else changed.
 *
 * Why a second copy rather than one set of constructs for both: cdktf and cdktn each find
 * the stack, the app and the resources of a tree by their own brands, so a construct whose
 * classes extend cdktf's TerraformResource does not join a cdktn stack (mixing them
 * crashes at synth). The copy is a sibling of dist/constructs/, so its relative imports of
 * dist/provider/ (schemas, validation) resolve to the same modules. docs/cdktn.md.
 */
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toCdktn } from "./cdktn-imports.js";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const from = join(dist, "constructs");
const to = join(dist, "constructs-cdktn");

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.(js|d\.ts)$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

await rm(to, { recursive: true, force: true });
await cp(from, to, { recursive: true });
let changed = 0;
for (const f of await filesUnder(to)) {
  const text = await readFile(f, "utf8");
  const next = toCdktn(text);
  if (next !== text) {
    await writeFile(f, next);
    changed++;
  }
}
// nothing of cdktf may be left: one construct on cdktf's classes would break a cdktn stack
const left = [];
for (const f of await filesUnder(to)) if (/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']cdktf["']/.test(await readFile(f, "utf8"))) left.push(f);
if (left.length > 0) {
  console.error(`dist/constructs-cdktn still imports cdktf in: ${left.join(", ")}`);
  process.exit(1);
}
console.log(`wrote dist/constructs-cdktn (${changed} files import cdktn instead of cdktf)`);
