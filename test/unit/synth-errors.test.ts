/**
 * A synth that fails shows the app's own error first — a ConstructError's message names the
 * construct path — and its stack trace only when asked for (BACKPLANE_LOG=debug). The parse
 * is checked on what real apps print (test/fixtures/synth-errors), then synth runs a tiny
 * project whose app throws.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appError, SynthError } from "../../provider/engine/synth-error.js";
import { synth } from "../../provider/engine/project.js";
import { ROOT } from "./helpers/seed.js";

const fixture = (name: string) => readFileSync(join(ROOT, "test", "fixtures", "synth-errors", `${name}.txt`), "utf8");

describe("the error an app died of, read from its output", () => {
  it.each([
    ["construct-error", "ConstructError", "[test/prod/ds] unknown profile 'nope'; the seed's profiles are uploads, transcode, logs, ciWorkspace, postgres"],
    ["construct-error-esm-after-output", "ConstructError", "[test/prod/ds] snapshots: true takes the profile's policy, and this dataset has no profile: give a schedule ({ hourly: 24, daily: 7 })"],
    ["cdktf-validation", "Error", "Validation failed with the following errors:\n  [test/prod/ds] backplane_dataset.properties.quota: quota bad numeric value 'lots' (sizes are a number with an optional suffix K, M, G, T, P, E or Z)\n\nIf you wish to ignore these validations, pass 'skipValidation: true' to your App configuration."],
    ["type-error", "TypeError", "Cannot read properties of undefined (reading 'prod')"],
    ["python-traceback", "ValueError", "dataset tank/a: quota must be a size"],
  ])("%s: %s", (name, errorName, message) => {
    expect(appError(fixture(name))).toEqual({ name: errorName, message });
  });

  it.each(["thrown-string", "app-not-found", ""])("none in %j: shown whole", (name) => {
    expect(appError(name ? fixture(name) : "")).toBeNull();
  });

  it("a line the app printed that looks like an error, before the real one, is not taken for it", () => {
    const out = `Error: could not reach the inventory, using the cached copy\n${fixture("construct-error")}`;
    expect(appError(out)?.message).toMatch(/^\[test\/prod\/ds\] unknown profile 'nope'/);
  });
});

describe("the synth failure's message", () => {
  const app = "npx tsx main.ts";

  it("says the app's error first, then where the stack trace is", () => {
    const m = new SynthError(app, 1, fixture("construct-error"), false).message;
    expect(m.split("\n")).toEqual([
      "synth failed: [test/prod/ds] unknown profile 'nope'; the seed's profiles are uploads, transcode, logs, ciWorkspace, postgres",
      "(ConstructError, thrown by the app `npx tsx main.ts`; BACKPLANE_LOG=debug shows its stack trace and the app's whole output)",
    ]);
  });

  it("with debug, the app's whole output, stack trace included, after the error", () => {
    const m = new SynthError(app, 1, fixture("construct-error-esm-after-output"), true).message;
    expect(m).toMatch(/^synth failed: \[test\/prod\/ds\] snapshots: true takes the profile's policy/);
    expect(m).toContain("The app's output (`npx tsx main.ts`, exited 1):\nbuilding the stack for prod\n");
    expect(m).toContain("    at new Dataset (/work/main/constructs/dataset.ts:73:53)");
  });

  it("an output without an error it recognises is shown whole, as before", () => {
    expect(new SynthError(app, 127, fixture("app-not-found"), false).message).toBe("synth failed: the app (`npx tsx main.ts`) exited 127:\nsh: 1: npx-nonexistent-app: not found");
  });
});

describe("synth of a project whose app throws a ConstructError", () => {
  // a tiny project: cdktf.json runs main.ts through this checkout's tsx; the app uses the real constructs
  function project(): string {
    const dir = mkdtempSync(join(tmpdir(), "bp-synth-fail-"));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ app: `"${process.execPath}" "${join(ROOT, "node_modules", "tsx", "dist", "cli.mjs")}" main.ts`, output: "cdktf.out" }));
    writeFileSync(join(dir, "main.ts"), [
      `import { App, TerraformStack } from "cdktf";`,
      `import { Host } from ${JSON.stringify(join(ROOT, "constructs", "index.ts"))};`,
      `const app = new App();`,
      `const stack = new TerraformStack(app, "edge");`,
      `console.log("building");`,
      `new Host(stack, "prod", { address: "192.0.2.10", port: 22, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg" }).dataset("media", { name: "tank/media", profile: "nope" as never });`,
      `app.synth();`,
    ].join("\n"));
    return dir;
  }

  it("fails with the construct's message first and no stack trace", async () => {
    const e = await synth(project(), () => {}, { verbose: false }).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(SynthError);
    const lines = e!.message.split("\n");
    expect(lines[0]).toBe("synth failed: [edge/prod/media] unknown profile 'nope'; the seed's profiles are uploads, transcode, logs, ciWorkspace, postgres");
    expect(lines[1]).toMatch(/^\(ConstructError, thrown by the app .*; BACKPLANE_LOG=debug shows its stack trace/);
    expect(lines).toHaveLength(2);
    expect(e!.message).not.toMatch(/^\s+at /m);
  }, 60_000);

  it("verbose (BACKPLANE_LOG=debug), the stack trace follows the message", async () => {
    const e = await synth(project(), () => {}, { verbose: true }).then(() => null, (x: Error) => x);
    expect(e!.message).toMatch(/^synth failed: \[edge\/prod\/media\] unknown profile 'nope'/);
    expect(e!.message).toMatch(/^\s+at new Dataset \(.*constructs\/dataset\.ts:\d+:\d+\)$/m);
    expect(e!.message).toContain("\nbuilding\n");
  }, 60_000);
});
