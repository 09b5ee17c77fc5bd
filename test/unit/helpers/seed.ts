/** The seed example synthesized against the example inventory, and live models from captured refreshes. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStack, type DesiredGraph } from "../../../provider/engine/load.js";
import { parseRefresh } from "../../../provider/engine/live.js";
import type { HostLive } from "../../../provider/model/live.js";
import { splitSections, type SectionResult } from "../../../provider/engine/batch.js";
import type { State } from "../../../provider/model/state.js";
import { ROOT } from "./root.js";

export { ROOT };
const fixtures = join(ROOT, "test", "fixtures", "refresh");

let cache: Record<string, unknown> | null = null;

/** the environment the seed's synthesis runs with (apart from its output folder) */
const synthEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  BACKPLANE_INVENTORY: join(ROOT, "examples", "inventory.example.json"),
  // the refresh fixtures were captured from hosts without the seed's timers: the planner is tested without them
  // (test/unit/snapshot-policies.test.ts and the e2e tests cover them)
  BACKPLANE_SEED_SCHEDULES: "off",
});

/** A hash of everything the seed's synthesis reads: its sources, the constructs and the provider code they import, the inventory, the locked dependencies, the environment that can steer it. */
function synthInputs(env: NodeJS.ProcessEnv): string {
  const h = createHash("sha256");
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const e of readdirSync(path).sort()) if (e !== "node_modules" && e !== "cdktf.out") add(join(path, e));
    } else h.update(`${path.slice(ROOT.length)}\0`).update(readFileSync(path)).update("\0");
  };
  for (const p of ["constructs", "provider", join("examples", "seed"), join("examples", "inventory.ts"), join("examples", "inventory.example.json"), "package.json", "package-lock.json", "tsconfig.json"]) add(join(ROOT, p));
  for (const k of Object.keys(env).filter((k) => /^(BACKPLANE|CDKTF|JSII)_/.test(k)).sort()) h.update(`${k}=${env[k]}\0`);
  h.update(process.version);
  return h.digest("hex").slice(0, 24);
}

/** the cached synthesis, or null when there is none to trust (missing, cut short, unreadable) */
function readCached(file: string): Record<string, unknown> | null {
  try {
    const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    return doc.seed && doc["seed-dr"] ? doc : null;
  } catch {
    return null;
  }
}

/**
 * cdk.tf.json documents of examples/seed. The synthesis is a tsx child process (2–4 s); every
 * test file that plans the seed paid it, and so did every mutant those files cover under
 * Stryker (whose mutants never reach that child process: it runs the code unmutated either
 * way). Kept in node_modules/.cache (the checkout's own, not a folder other users share) under
 * a hash of its inputs, so any change to them synthesizes again; written whole (rename), so a
 * reader never sees half a file, and only if the inputs did not change while it ran.
 */
export function seedDocs(): Record<string, any> {
  if (cache) return cache as Record<string, any>;
  const env = synthEnv();
  const dir = join(ROOT, "node_modules", ".cache", "backplane-test");
  const inputs = synthInputs(env);
  const file = join(dir, `seed-synth-${inputs}.json`);
  cache = readCached(file);
  if (cache) return cache as Record<string, any>;
  const out = mkdtempSync(join(tmpdir(), "bp-seed-"));
  try {
    execFileSync(join(ROOT, "node_modules", ".bin", "tsx"), ["main.ts"], { cwd: join(ROOT, "examples", "seed"), env: { ...env, CDKTF_OUTDIR: out } });
    cache = {
      seed: JSON.parse(readFileSync(join(out, "stacks", "seed", "cdk.tf.json"), "utf8")),
      "seed-dr": JSON.parse(readFileSync(join(out, "stacks", "seed-dr", "cdk.tf.json"), "utf8")),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  if (synthInputs(env) !== inputs) return cache as Record<string, any>;
  mkdirSync(dir, { recursive: true });
  // the syntheses of older code: a day old is gone (another worker may be removing or renaming them too)
  for (const e of readdirSync(dir)) {
    const mtime = statSync(join(dir, e), { throwIfNoEntry: false })?.mtimeMs;
    if (e.startsWith("seed-synth-") && e.endsWith(".json") && mtime !== undefined && mtime < Date.now() - 86_400_000) rmSync(join(dir, e), { force: true });
  }
  const part = `${file}.${process.pid}.part`;
  writeFileSync(part, JSON.stringify(cache));
  renameSync(part, file);
  return cache as Record<string, any>;
}

export function seedGraph(stack = "seed"): DesiredGraph {
  return loadStack(structuredClone(seedDocs()[stack]));
}

/** a captured refresh (test/fixtures/refresh/<label>) split into its sections */
export function capturedSections(label: string): Map<string, SectionResult> {
  const nonce = readFileSync(join(fixtures, `${label}.nonce`), "utf8").trim();
  return splitSections(readFileSync(join(fixtures, `${label}.txt`), "utf8"), nonce);
}

export function liveFrom(label: string, host: string, options: { replication?: boolean; health?: boolean } = {}): HostLive {
  return parseRefresh(host, capturedSections(label), [], options);
}

export function seedState(): State {
  return JSON.parse(readFileSync(join(fixtures, "zfs-2.3-prod-seed.state.json"), "utf8")) as State;
}
