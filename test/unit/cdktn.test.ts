/**
 * CDK Terrain: the seed stack written for cdktn (importing `cdktn` and `backplane/cdktn`)
 * and the same stack written for cdktf (importing `cdktf` and `backplane`) synthesize,
 * through the package's built entry points (dist/, npm run build), to cdk.tf.json documents
 * that the loader turns into the same desired graph. docs/cdktn.md.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { openProject, synth } from "../../provider/engine/project.js";
import type { DesiredGraph } from "../../provider/engine/load.js";
import { toCdktn } from "../../provider/build/cdktn-imports.js";

const ROOT = join(import.meta.dirname, "..", "..");
const WORK = join(ROOT, "test", "unit", ".work", "cdktn");

type Flavour = { framework: "cdktf" | "cdktn"; entry: string };
const FLAVOURS: Flavour[] = [
  { framework: "cdktf", entry: join(ROOT, "dist", "constructs", "index.js") },
  { framework: "cdktn", entry: join(ROOT, "dist", "constructs-cdktn", "index.js") },
];

/** examples/seed/main.ts as a user of the package writes it for one framework. */
function seedFor(f: Flavour, dir: string): string {
  const source = readFileSync(join(ROOT, "examples", "seed", "main.ts"), "utf8");
  const rel = (p: string) => `./${relative(dir, p)}`;
  const text = source
    .replace(/from "cdktf";/, `from "${f.framework}";`)
    .replace(/from "\.\.\/\.\.\/constructs\/index\.js";/, `from "${rel(f.entry)}";`)
    .replace(/from "\.\.\/inventory\.js";/, `from "${rel(join(ROOT, "examples", "inventory.ts"))}";`);
  // every import was rewritten: nothing of the checkout's sources or of the other framework is left
  expect(text).not.toMatch(/"\.\.\/\.\.\/constructs|"\.\.\/inventory\.js"/);
  expect(text.match(/from "cdkt[fn]"/g)).toEqual([`from "${f.framework}"`]);
  return text;
}

/** A graph as plain data, to compare two of them whole. */
function plain(g: DesiredGraph): unknown {
  return JSON.parse(JSON.stringify(g, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v)));
}

describe("stacks written with cdktf and with CDK Terrain (cdktn)", () => {
  const graphs = new Map<string, Record<string, DesiredGraph>>();
  const docs = new Map<string, string>();

  beforeAll(async () => {
    if (!existsSync(FLAVOURS[1]!.entry)) throw new Error("dist/constructs-cdktn is missing: run npm run build (npm test does)");
    for (const f of FLAVOURS) {
      const dir = join(WORK, f.framework);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "main.ts"), seedFor(f, dir));
      writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: "npx tsx main.ts", output: "out" }));
      process.env.BACKPLANE_INVENTORY = join(ROOT, "examples", "inventory.example.json");
      await synth(dir);
      graphs.set(f.framework, { seed: (await openProject(dir, "seed")).graph, "seed-dr": (await openProject(dir, "seed-dr")).graph });
      docs.set(f.framework, readFileSync(join(dir, "out", "stacks", "seed-dr", "cdk.tf.json"), "utf8"));
    }
  }, 120_000);

  it("each framework synthesized its own stack (the metadata names it)", () => {
    expect(JSON.parse(docs.get("cdktf")!)["//"].metadata.version).toMatch(/^0\.21\./);
    expect(JSON.parse(docs.get("cdktn")!)["//"].metadata.version).toMatch(/^0\.2[4-9]\.|^0\.[3-9]\d*\./);
  });

  it("the loader gets the same desired graph from both, for both seed stacks", () => {
    for (const stack of ["seed", "seed-dr"]) {
      const a = plain(graphs.get("cdktf")![stack]!);
      const b = plain(graphs.get("cdktn")![stack]!);
      expect(b).toEqual(a);
    }
    const g = graphs.get("cdktn")!["seed-dr"]!;
    expect(g.resources.size).toBeGreaterThan(20);
    expect([...g.hosts.keys()].sort()).toEqual(["dr", "prod"]);
    expect([...g.outputs!.keys()].sort()).toEqual(["dr_wg_address", "dr_wg_public_key", "prod_wg_address", "prod_wg_public_key"]);
  });

  it("the cdktn entry point's constructs extend CDK Terrain's classes, not cdktf's", async () => {
    const viaCdktn = await import(FLAVOURS[1]!.entry);
    const cdktn = await import("cdktn");
    const cdktf = await import("cdktf");
    const app = new cdktn.App({ outdir: join(WORK, "probe-out") });
    const stack = new cdktn.TerraformStack(app, "s");
    const host = new viaCdktn.Host(stack, "h", { address: "127.0.0.1", port: 22, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg" });
    expect(host.provider).toBeInstanceOf(cdktn.TerraformProvider);
    expect(host.provider).not.toBeInstanceOf(cdktf.TerraformProvider);
  });
});

describe("the build's one rewrite between the two entry points", () => {
  it.each([
    ["import * as cdktf from 'cdktf';", "import * as cdktf from 'cdktn';"],
    ['import { Token } from "cdktf";', 'import { Token } from "cdktn";'],
    ['export { App } from "cdktf";', 'export { App } from "cdktn";'],
    ['const m = await import("cdktf");', 'const m = await import("cdktn");'],
    ['import "cdktf";', 'import "cdktn";'],
    // not the module: scoped packages, paths, words in strings and comments stay
    ['import { x } from "@cdktf/provider-generator";', 'import { x } from "@cdktf/provider-generator";'],
    ['import { y } from "./cdktf";', 'import { y } from "./cdktf";'],
    ['* Generates CDKTF code for importing upon running "cdktf plan <stack-name>"', '* Generates CDKTF code for importing upon running "cdktf plan <stack-name>"'],
    ['const s = "from cdktf";', 'const s = "from cdktf";'],
  ])("%s", (before, after) => {
    expect(toCdktn(before)).toBe(after);
  });
});
