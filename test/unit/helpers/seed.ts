/** The seed example synthesized against the example inventory, and live models from captured refreshes. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadStack, type DesiredGraph } from "../../../provider/engine/load.js";
import { parseRefresh } from "../../../provider/engine/live.js";
import type { HostLive } from "../../../provider/model/live.js";
import { splitSections } from "../../../provider/engine/batch.js";
import type { State } from "../../../provider/model/state.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const fixtures = join(ROOT, "test", "fixtures", "refresh");

let cache: Record<string, unknown> | null = null;

/** cdk.tf.json documents of examples/seed, synthesized once per test file. */
export function seedDocs(): Record<string, any> {
  if (cache) return cache as Record<string, any>;
  const out = mkdtempSync(join(tmpdir(), "bp-seed-"));
  try {
    execFileSync(join(ROOT, "node_modules", ".bin", "tsx"), ["main.ts"], {
      cwd: join(ROOT, "examples", "seed"),
      // the refresh fixtures were captured from hosts without the seed's timers: the planner is tested without them
      // (test/unit/snapshot-policies.test.ts and the e2e tests cover them)
      env: { ...process.env, CDKTF_OUTDIR: out, BACKPLANE_INVENTORY: join(ROOT, "examples", "inventory.example.json"), BACKPLANE_SEED_SCHEDULES: "off" },
    });
    cache = {
      seed: JSON.parse(readFileSync(join(out, "stacks", "seed", "cdk.tf.json"), "utf8")),
      "seed-dr": JSON.parse(readFileSync(join(out, "stacks", "seed-dr", "cdk.tf.json"), "utf8")),
    };
    return cache as Record<string, any>;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function seedGraph(stack = "seed"): DesiredGraph {
  return loadStack(structuredClone(seedDocs()[stack]));
}

export function liveFrom(label: string, host: string, options: { replication?: boolean; health?: boolean } = {}): HostLive {
  const nonce = readFileSync(join(fixtures, `${label}.nonce`), "utf8").trim();
  return parseRefresh(host, splitSections(readFileSync(join(fixtures, `${label}.txt`), "utf8"), nonce), [], options);
}

export function seedState(): State {
  return JSON.parse(readFileSync(join(fixtures, "zfs-2.3-prod-seed.state.json"), "utf8")) as State;
}
