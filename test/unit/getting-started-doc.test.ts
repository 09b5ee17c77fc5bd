/**
 * docs/getting-started.md cannot rot: its stack (the ```ts block that starts with `// main.ts`)
 * and its cdktf.json are written into a scratch project, `from "backplane"` pointed at this
 * checkout's constructs, and
 *  - type-checked with the TypeScript compiler, with the page's other TypeScript (the
 *    PgBackend variant, the CDK Terrain imports) — a prop that does not exist fails here;
 *  - synthesized and loaded the way `backplane synth`/`validate` do (provider/engine/project.ts:
 *    the app of cdktf.json, its output folder, every field validated) — and the loaded stack
 *    is what the page says it is, down to the plan excerpt's addresses and values.
 * The scratch project lives in test/unit/.work-getting-started/ (removed afterwards), inside
 * the checkout so that `cdktf` and `tsx` resolve from its node_modules.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import ts from "typescript";
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { openProject, stacksIn, synth, type Project } from "../../provider/engine/project.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const scratchParent = join(root, "test", "unit", ".work-getting-started");

interface Block { lang: string; body: string }

/** The page's fenced code blocks, in order. */
function blocks(md: string): Block[] {
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```\s*$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/** Imports of the backplane package (and its cdktn entry) pointed at this checkout's constructs. */
function pointAtCheckout(source: string, dir: string): string {
  const target = relative(dir, join(root, "constructs", "index.js")).replace(/\\/g, "/");
  return source.replace(/from "backplane(\/cdktn)?"/g, `from "${target.startsWith(".") ? target : `./${target}`}"`);
}

let md: string;
let all: Block[];
let mainTs: string;
let dir: string;
let project: Project;

beforeAll(async () => {
  md = await readFile(join(root, "docs", "getting-started.md"), "utf8");
  all = blocks(md);
  const mains = all.filter((b) => b.lang === "ts" && b.body.startsWith("// main.ts\n"));
  expect(mains, "exactly one ```ts block starting with // main.ts").toHaveLength(1);
  mainTs = mains[0]!.body;
  await mkdir(scratchParent, { recursive: true });
  dir = await mkdtemp(join(scratchParent, "project-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await rmdir(scratchParent).catch(() => {}); // another run may still use it
});

describe("docs/getting-started.md", () => {
  it("its TypeScript type-checks against the constructs", async () => {
    const files: Record<string, string> = { "main.ts": mainTs };
    // the PgBackend snippet, in place of the LocalBackend line
    const pg = all.find((b) => b.lang === "ts" && b.body.includes("new PgBackend("));
    expect(pg, "the PgBackend snippet").toBeDefined();
    const pgImports = pg!.body.split("\n").filter((l) => l.startsWith("import "));
    const pgStatements = pg!.body.split("\n").filter((l) => !l.startsWith("import ") && !l.startsWith("//") && l.trim() !== "");
    expect(mainTs).toMatch(/^new LocalBackend\(.*\);$/m);
    files["main-pg.ts"] = [...pgImports, mainTs.replace(/^new LocalBackend\(.*\);$/m, pgStatements.join("\n"))].join("\n");
    // the CDK Terrain imports name what cdktn and the constructs export
    const cdktn = all.find((b) => b.lang === "ts" && b.body.includes('"backplane/cdktn"'));
    expect(cdktn, "the cdktn snippet").toBeDefined();
    files["cdktn.ts"] = `${cdktn!.body}\nexport type Used = [App, LocalBackend, TerraformStack, Host];\n`;

    const paths: string[] = [];
    for (const [name, text] of Object.entries(files)) {
      const p = join(dir, name);
      await writeFile(p, pointAtCheckout(text, dir));
      paths.push(p);
    }
    const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram(paths, { ...options, noEmit: true });
    const problems = [
      ...program.getOptionsDiagnostics(),
      ...paths.flatMap((p) => {
        const sf = program.getSourceFile(p)!;
        return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
      }),
    ].map((d) => `${d.file ? `${relative(dir, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(problems).toEqual([]);
  }, 30_000);

  it("its cdktf.json and stack synthesize and load as the page says", async () => {
    const json = all.filter((b) => b.lang === "json");
    expect(json, "one ```json block: cdktf.json").toHaveLength(1);
    const cdktf = JSON.parse(json[0]!.body) as { language: string; app: string; output: string };
    expect(cdktf).toEqual({ language: "typescript", app: "npx tsx main.ts", output: "cdktf.out" });
    await writeFile(join(dir, "cdktf.json"), json[0]!.body);
    await writeFile(join(dir, "main.ts"), pointAtCheckout(mainTs, dir));

    await synth(dir); // runs cdktf.json's app with its output folder, as `backplane synth` does
    const stacks = await stacksIn(dir);
    expect(stacks).toHaveLength(1);
    project = await openProject(dir, stacks[0]); // loaded and validated: what `backplane validate` checks

    // one host, with everything section 3 says it has
    const hosts = [...project.graph.hosts.values()];
    expect(hosts).toHaveLength(1);
    const host = hosts[0]!;
    expect(host).toMatchObject({ port: 22, user: "root", identityFile: "~/.ssh/id_ed25519" });
    expect(host.address).toMatch(/./);
    expect(host.hostKey).toMatch(/^ssh-ed25519 /);
    // the key section's ssh-keyscan line shows the very key the stack pins
    const scanned = /^# (\S+) (ssh-ed25519 \S+)$/m.exec(md);
    expect(scanned?.[1]).toBe(host.address);
    expect(scanned?.[2]).toBe(host.hostKey);
    expect(md).toContain(`ssh-keyscan -t ed25519 -p ${host.port} ${host.address}`);

    const resources = [...project.graph.resources.values()];
    const of = (type: string) => resources.filter((r) => r.type === type);
    expect(of("backplane_pool")).toHaveLength(1);
    expect(of("backplane_pool")[0]!.config).toMatchObject({ adopt: true });
    const profiled = of("backplane_dataset").filter((r) => typeof r.config.profile === "string");
    expect(profiled.map((r) => r.config.profile).sort()).toEqual(["logs", "postgres"]);
    // both on a schedule: the profile's (snapshots: true) and one of the page's own
    const policies = of("backplane_snapshot_policy");
    expect(policies.map((r) => r.config.dataset).sort()).toEqual(profiled.map((r) => r.config.name).sort());
    expect(policies.find((r) => r.config.dataset === "tank/srv/postgres")!.config).toMatchObject({ frequently: 4, hourly: 24, daily: 7 });
    expect(policies.find((r) => r.config.dataset === "tank/srv/logs")!.config).toMatchObject({ hourly: 24, daily: 14 });
    // state: the local file the page names
    expect(project.graph.backend).toEqual({ type: "local", path: `terraform.${project.stack}.tfstate` });
    expect(md).toContain(`terraform.${project.stack}.tfstate`);
  }, 30_000);

  it("the plan excerpt names the stack's resources and their values", () => {
    expect(project, "the stack was loaded").toBeDefined();
    const excerpt = all.find((b) => b.lang === "" && b.body.startsWith("backplane will perform the following actions:"));
    expect(excerpt, "the plan excerpt").toBeDefined();
    const heads = [...excerpt!.body.matchAll(/^ {2}# (\S+) \((\S+)\) on (\S+) will be created\n {2}\+ dataset "([^"]+)" \{\n((?: {6}\+ .*\n)*) {4}\}/gm)];
    expect(heads.length).toBeGreaterThan(0);
    for (const [, address, path, host, name, attrs] of heads) {
      const r = project.graph.resources.get(address!);
      expect(r, address).toBeDefined();
      expect({ path: r!.path, host: r!.host, name: r!.config.name }).toEqual({ path, host, name });
      const props = r!.config.properties as Record<string, string>;
      const shown = Object.fromEntries([...attrs!.matchAll(/\+ (\S+) += "([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      expect(Object.keys(shown).sort()).toEqual(Object.keys(props).sort());
      // a size is shown in bytes with the configured form in parentheses
      for (const [k, v] of Object.entries(shown)) expect(v === props[k] || v.endsWith(` (${props[k]})`), `${k} = ${v}`).toBe(true);
    }
  });

  it("names the commands of the cycle and links pages that exist", async () => {
    for (const c of ["npx backplane validate", "npx backplane plan", "plan -out=plan.bin", "apply plan.bin", "npx backplane drift", "--trust-on-first-use", "hostKey"]) expect(md).toContain(c);
    const links = [...md.matchAll(/\]\(([^)#:]+\.md)(#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const l of new Set(links)) await expect(readFile(join(root, "docs", l), "utf8"), l).resolves.toBeTypeOf("string");
    // the API reference it sends readers to (docs/api, `npm run docs:api`) has the constructs it names
    const api = await readFile(join(root, "docs", "api", "README.md"), "utf8");
    for (const c of ["Host", "Dataset", "WireGuardMesh", "Replication", "Staging", "Probe", "SnapshotPolicy"]) expect(api, c).toContain(`[${c}](classes/${c}.md)`);
  });
});
