/**
 * The strict parse of a refresh captured from a lab host (bench/cli.mts keeps its captures in
 * /var/tmp/backplane-bench-cli-<tier>-<D>.txt with its .nonce beside it), against the naive
 * split into the same maps (bench/measure.ts): median of 20 after 3 warm-ups, and the cost a
 * dataset, for a capture smaller than the 5,000 datasets #17 asks about (the parse is linear in
 * them). Prints; records nothing.
 *
 *   npx tsx bench/parse-capture.mts /var/tmp/backplane-bench-cli-vm-1353
 */
import { readFileSync } from "node:fs";
import { splitSections } from "../provider/engine/batch.js";
import { parseRefresh } from "../provider/engine/live.js";
import { median, timeParses } from "./measure.js";

const prefix = process.argv[2];
if (!prefix) throw new Error("usage: npx tsx bench/parse-capture.mts <capture path without .txt>");
const nonce = readFileSync(`${prefix}.nonce`, "utf8").trim();
const raw = readFileSync(`${prefix}.txt`, "utf8");
const n = parseRefresh("prod", splitSections(raw, nonce), []).datasets.size;
const { strict, naive } = timeParses(raw, nonce, 20);
const perDataset = median(strict) / n;
console.log(`${n} datasets, ${(raw.length / 2 ** 20).toFixed(1)} MiB, ${raw.split("\n").length} lines: strict parse min ${Math.min(...strict).toFixed(1)} / median ${median(strict).toFixed(1)} ms; ` +
  `naive min ${Math.min(...naive).toFixed(1)} / median ${median(naive).toFixed(1)} ms; ${(perDataset * 1000).toFixed(1)} µs a dataset → 5,001 datasets ≈ ${(perDataset * 5001).toFixed(0)} ms`);
