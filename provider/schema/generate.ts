/**
 * Build step: writes the L1 construct bindings (constructs/gen/, build output, git-ignored)
 * from the provider schema with @cdktf/provider-generator, and docs/resources.md.
 * Runs offline. `--check` only verifies docs/resources.md is current (exit 1 if not).
 */
import { mkdtemp, rm, writeFile, readFile, cp, mkdir, rename } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { providerSchemaJson } from "./provider-schema.js";
import { resourcesMarkdown } from "./docs.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const docsPath = join(root, "docs", "resources.md");

async function main() {
  const md = resourcesMarkdown();
  if (process.argv.includes("--check")) {
    const current = await readFile(docsPath, "utf8").catch(() => "");
    if (current !== md) {
      console.error("docs/resources.md is out of date: run npm run build:schema");
      process.exit(1);
    }
    return;
  }
  await mkdir(dirname(docsPath), { recursive: true });
  await writeFile(docsPath, md);

  const tmp = await mkdtemp(join(tmpdir(), "backplane-gen-"));
  // The generator reads Terraform's CLI config; an empty one keeps it quiet and offline.
  const rc = join(tmp, "terraformrc");
  await writeFile(rc, "");
  process.env.TF_CLI_CONFIG_FILE = rc;
  const { generateProviderBindingsFromSchema } = await import("@cdktf/provider-generator");
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  await generateProviderBindingsFromSchema(join(tmp, "out"), providerSchemaJson() as any);
  // Swapped in by two renames beside it (same file system), not removed then copied: a stack
  // synthesizing meanwhile (the e2e tiers run at once) never finds the folder missing.
  const target = join(root, "constructs", "gen");
  const next = await mkdtemp(join(root, "constructs", ".gen-next-"));
  await cp(join(tmp, "out", "providers", "backplane"), next, {
    recursive: true,
    filter: (src) => !src.endsWith("README.md"),
  });
  const old = `${next}-old`;
  if (existsSync(target)) await rename(target, old);
  await rename(next, target);
  await rm(old, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
  console.log("generated constructs/gen (L1 bindings) and docs/resources.md");
}

await main();
