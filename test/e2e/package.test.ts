/**
 * backplane as its users get it: `npm pack` in the checkout, `npm install <tarball>` in an
 * empty folder outside it, a stack that imports from "backplane", compiled by the user's own
 * TypeScript against the package's declarations and run by plain node (no tsx anywhere in
 * the project), then `npx backplane` — the package's compiled CLI — validates, plans against
 * a lab host and shows the saved plan.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execa } from "execa";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labHost } from "../lab/hosts.js";
import { resetHosts, ROOT } from "./helpers.js";

const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };

let work: string;
let app: string;

/** `npx backplane …` in the user's project, as a user runs it. */
async function npx(args: string[], env: Record<string, string> = {}) {
  const r = await execa("npx", ["--no-install", "backplane", ...args], { cwd: app, reject: false, env: { NO_COLOR: "1", ...env } });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

describe("the package, installed outside the checkout", () => {
  beforeAll(async () => {
    await resetHosts();
    work = await mkdtemp(join(tmpdir(), "bp-package-"));
    // prepack builds dist/ (bindings, compiled JS, the cdktn entry) from the sources
    const packed = await execa("npm", ["pack", "--pack-destination", work, "--json"], { cwd: ROOT });
    // the build's own lines come first on stdout, then npm's JSON report
    const report = packed.stdout.slice(packed.stdout.lastIndexOf("\n[\n") + 1);
    const tarball = join(work, (JSON.parse(report) as { filename: string }[])[0]!.filename);
    app = join(work, "app");
    await execa("mkdir", [app]);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "my-back-plane", private: true, type: "module" }, null, 2));
    await execa("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball,
      `cdktf@${pkg.devDependencies.cdktf}`, `constructs@${pkg.devDependencies.constructs}`, `typescript@${pkg.devDependencies.typescript}`], { cwd: app });
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the tarball holds compiled JavaScript with declarations, the generated bindings and the docs; no TypeScript sources", async () => {
    const installed = join(app, "node_modules", "backplane");
    const files = (await readdir(installed, { recursive: true })).map(String);
    expect(files).toContain(join("dist", "provider", "cli", "main.js"));
    // the engine the bin loads: one bundled module (its start-up: bench/RESULTS.md)
    expect(files).toContain(join("dist", "cli.mjs"));
    expect(files).toContain(join("dist", "constructs", "index.d.ts"));
    expect(files).toContain(join("dist", "constructs", "gen", "dataset", "index.js"));
    expect(files).toContain(join("dist", "constructs-cdktn", "index.js"));
    expect(files).toContain(join("docs", "getting-started.md"));
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);
    const version = await npx(["--version"]);
    // (execa drops the last newline)
    expect(version.stdout).toBe(`backplane v${pkg.version}\non node ${process.version} ${process.platform}_${process.arch}`);
  });

  it("a stack importing from \"backplane\" type-checks, synthesizes, validates and plans against a lab host; the saved plan shows", async () => {
    const prod = labHost("prod");
    await writeFile(join(app, "main.ts"), `
import { App, LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import { Host } from "backplane";

const app = new App();
const stack = new TerraformStack(app, "outside");
new LocalBackend(stack, { path: "terraform.outside.tfstate" });
const prod = new Host(stack, "prod", {
  address: ${JSON.stringify(prod.address)}, port: ${prod.port}, user: ${JSON.stringify(prod.user)},
  identityFile: ${JSON.stringify(prod.identityFile)}, hostKey: ${JSON.stringify(prod.hostKey)},
});
const tank = prod.pool("tank", { name: "tank", vdevs: [${JSON.stringify(prod.disks[0])}] });
const media = prod.dataset("media", { name: "tank/media", profile: "uploads", dependsOn: [tank] });
new TerraformOutput(stack, "media_guid", { value: media.resource.guid });
app.synth();
`);
    await writeFile(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true } }));
    await writeFile(join(app, "cdktf.json"), JSON.stringify({ language: "typescript", app: "npx --no-install tsc && node main.js", output: "synth-out" }));

    const synth = await npx(["synth"]);
    expect(synth.stderr).toBe("");
    expect(synth.stdout).toContain("stack outside: 2 resources on 1 hosts (prod)");
    expect(existsSync(join(app, "synth-out", "stacks", "outside", "cdk.tf.json"))).toBe(true);

    const valid = await npx(["validate", "-json", "-no-synth"]);
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, error_count: 0, stacks: ["outside"] });

    const plan = await npx(["plan", "-no-synth", "-detailed-exitcode", "-out=outside.plan"]);
    expect(plan.stderr).toBe("");
    expect(plan.exitCode).toBe(2);
    expect(plan.stdout).toContain('+ pool "tank"');
    expect(plan.stdout).toContain('+ dataset "tank/media"');
    expect(plan.stdout).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(plan.stdout).toContain("Saved the plan to outside.plan");

    const shown = await npx(["show", "outside.plan", "-json"]);
    const doc = JSON.parse(shown.stdout) as { changes: { id: string; action: string }[] };
    expect(doc.changes.map((c) => [c.id, c.action])).toEqual([["tank", "create"], ["tank/media", "create"]]);

    const outputs = await npx(["output", "-no-synth"]);
    expect(outputs.stdout).toBe("media_guid = (known after apply)");
  });
});
