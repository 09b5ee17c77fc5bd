/**
 * Build step (after tsc): dist/cli.mjs, the command's engine in one file. The compiled CLI is
 * ≈380 modules (execa, zod and backplane's own), and node resolving and loading them one by
 * one was most of a plan's time before its first SSH command (bench/RESULTS.md, "Where a
 * plan's time goes"). bin/backplane.mjs loads this file; dist/provider/ stays as tsc wrote it,
 * for the constructs and their declarations.
 *
 * `pg` stays outside the bundle: state/pg.ts loads it only when a stack uses the PostgreSQL
 * backend, so a plan with local state never pays for it.
 */
import { build } from "esbuild";
import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const outfile = join(dist, "cli.mjs");

const { outputFiles } = await build({
  entryPoints: [join(dist, "provider", "cli", "main.js")],
  outfile,
  // written below, whole, then renamed over the old one: a command starting meanwhile (the
  // tests run the bundle while e2e/package.test.ts packs, which builds again) reads one or the other
  write: false,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["pg"],
  // CommonJS dependencies (cross-spawn, commander) call require(); an ES module has none
  banner: { js: "import { createRequire as __backplaneRequire } from 'node:module'; const require = __backplaneRequire(import.meta.url);" },
  logLevel: "warning",
});
const [bundle] = outputFiles;
if (outputFiles.length !== 1 || bundle!.path !== outfile) throw new Error(`esbuild made ${outputFiles.map((f) => f.path).join(", ")}, not ${outfile} alone`);
await writeFile(`${outfile}.tmp-${process.pid}`, bundle!.contents);
await rename(`${outfile}.tmp-${process.pid}`, outfile);
