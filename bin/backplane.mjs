#!/usr/bin/env node
// The backplane command. Installed from the package it runs the compiled JavaScript in dist/
// (no TypeScript loader at run time); in a checkout, where the TypeScript sources sit beside
// this file, it runs those through tsx, so a change to them needs no build step.
// BACKPLANE_RUN_DIST=1 runs the built dist/ in a checkout too (after `npm run build`): what the
// package runs, and ≈2 s less a start than tsx; test/run.sh runs the CLI tests that way.
import { existsSync } from "node:fs";

const source = new URL("../provider/cli/main.ts", import.meta.url);
const fromSource = existsSync(source) && process.env.BACKPLANE_RUN_DIST !== "1";
if (fromSource) (await import("tsx/esm/api")).register();
// installed, the engine is one bundled file (provider/build/bundle-cli.ts): node loads one module, not ≈380
const load = (module) => import(fromSource ? new URL(`../provider/cli/${module}.ts`, import.meta.url).href : module === "main" ? "../dist/cli.mjs" : `../dist/provider/cli/${module}.js`);

// `backplane --version` alone loads one small module, not the engine: it answers as fast as node starts
const words = process.argv.slice(2);
if (words.length === 1 && ["--version", "-version", "-v", "version"].includes(words[0])) {
  const { versionFacts, versionText } = await load("version");
  process.stdout.write(versionText(versionFacts()));
} else {
  await load("main");
}
