/**
 * Long runs, as the operator lives them (docs/cli.md): progress lines during apply; Ctrl-C —
 * the first lets what a host is running finish and be recorded, then the command ends (130,
 * lock released, ssh's folder gone), a second abandons at once and names what it abandons;
 * BACKPLANE_LOG=debug (every command a host runs, masked, with timings) and nothing without
 * it; a synth that fails shows the app's error first, its stack trace only with debug.
 *
 * The CLI runs for real. A fake `ssh` answers the refresh with a captured one and runs the
 * apply's batches on this machine, with a fake `zfs` that holds `zfs create tank/a` until the
 * test releases it. Ctrl-C is sent as a terminal sends it: to the command's whole process group.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
import { Host } from "../../constructs/index.js";
import { synth, hostProps } from "./helpers/synth.js";
import { backplane, fakeSsh, offline, projectWith } from "./helpers/cli.js";
import { ROOT } from "./helpers/seed.js";
import { INTERRUPT_RECEIVED } from "../../provider/cli/long-run.js";

let doc: Record<string, any>;
let first: string;
let second: string;
beforeAll(() => {
  doc = synth((stack: TerraformStack) => {
    const host = new Host(stack, "prod", hostProps({ address: "192.0.2.10", port: 22 }));
    host.dataset("a", { name: "tank/a" });
    host.dataset("b", { name: "tank/a/b" });
  });
  const datasets = doc.resource.backplane_dataset as Record<string, { name: string; depends_on?: string[] }>;
  first = `backplane_dataset.${Object.keys(datasets).find((k) => datasets[k]!.name === "tank/a")!}`;
  second = `backplane_dataset.${Object.keys(datasets).find((k) => datasets[k]!.name === "tank/a/b")!}`;
  datasets[second.split(".")[1]!]!.depends_on = [first];
});

/**
 * A fake ssh: its first script is the refresh (answered with the captured prod refresh),
 * every later one runs here with the fake zfs first on PATH. `zfs create ... tank/a` leaves
 * `started` and waits for `release`.
 */
function applyingSsh(): string {
  const dir = mkdtempSync(join(tmpdir(), "bp-fake-apply-"));
  const fixtures = join(ROOT, "test", "fixtures", "refresh");
  const nonce = readFileSync(join(fixtures, "zfs-2.3-prod-seed.nonce"), "utf8").trim();
  writeFileSync(join(dir, "zfs"), [
    "#!/bin/sh",
    `echo "$*" >> '${dir}/zfs.log'`,
    'for last; do :; done',
    `if [ "$1" = create ] && [ "$last" = tank/a ]; then touch '${dir}/started'; while [ ! -f '${dir}/release' ]; do sleep 0.05; done; fi`,
    "exit 0",
    "",
  ].join("\n"));
  writeFileSync(join(dir, "ssh"), [
    "#!/bin/sh",
    'for a in "$@"; do [ "$a" = "-O" ] && exit 0; done',
    'script=$(cat)',
    `if [ ! -f '${dir}/refreshed' ]; then`,
    `  touch '${dir}/refreshed'`,
    `  got=$(printf '%s\\n' "$script" | grep -o '@@bp-[a-z0-9]*' | head -n 1 | sed 's/@@bp-//')`,
    `  exec sed "s/@@bp-${nonce}/@@bp-$got/g" '${join(fixtures, "zfs-2.3-prod-seed.txt")}'`,
    "fi",
    `printf '%s\\n' "$script" | PATH='${dir}':"$PATH" sh -s`,
    "",
  ].join("\n"));
  for (const f of ["zfs", "ssh"]) chmodSync(join(dir, f), 0o755);
  return dir;
}

interface Running {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Ctrl-C at a terminal: SIGINT to the command's process group */
  ctrlC: () => void;
}

function start(dir: string, args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [join(ROOT, "bin", "backplane.mjs"), ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let [stdout, stderr] = ["", ""];
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise((r) => child.once("close", (code, signal) => r({ code, signal }))),
    ctrlC: () => process.kill(-child.pid!, "SIGINT"),
  };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 25))) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
}

const stateOf = (dir: string) => JSON.parse(readFileSync(join(dir, "terraform.test.tfstate"), "utf8")) as { resources: Record<string, unknown> };
const lockOf = (dir: string) => join(dir, "terraform.test.tfstate.lock.json");

describe("Ctrl-C during apply", () => {
  it("the first lets the running batch finish, records it, starts nothing more, releases the lock and exits 130", async () => {
    const fake = applyingSsh();
    const rt = mkdtempSync(join(tmpdir(), "bp-runtime-"));
    const dir = projectWith(doc);
    const run = start(dir, ["apply", "--auto-approve", "--no-synth"], offline(fake, rt));
    await until("zfs create tank/a to start", () => existsSync(join(fake, "started")));
    run.ctrlC();
    await until("the interrupt to be acknowledged", () => run.stderr().includes(INTERRUPT_RECEIVED));
    // still waiting for the batch the host runs
    const early = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r("running"), 500))]);
    expect(early).toBe("running");
    expect(existsSync(lockOf(dir))).toBe(true);
    writeFileSync(join(fake, "release"), "");
    const end = await run.exited;
    expect(end.code, run.stderr()).toBe(130);
    expect(run.stderr()).toContain(`\n${INTERRUPT_RECEIVED}\n`);
    expect(run.stderr()).toContain("apply interrupted: nothing new was started after the interrupt, and the changes already running on hosts finished");
    expect(run.stderr()).toContain(`completed (recorded in state): ${first}`);
    expect(run.stderr()).toContain(`not started: ${second}`);
    expect(run.stdout()).toContain(`${first}: Creating... [tank/a on prod]`);
    expect(run.stdout()).toMatch(new RegExp(`${first.replace(".", "\\.")}: Creation complete after \\d+s \\[tank/a on prod\\]`));
    expect(run.stdout()).not.toContain(`${second}: Creating...`);
    expect(run.stdout()).not.toContain("Apply complete!");
    // state holds what completed, and only that
    expect(Object.keys(stateOf(dir).resources)).toEqual([first]);
    expect(readFileSync(join(fake, "zfs.log"), "utf8")).not.toContain("tank/a/b");
    expect(existsSync(lockOf(dir))).toBe(false);
    expect(readdirSync(rt)).toEqual([]);
  }, 60_000);

  it("a second abandons what is still running, names it, and exits at once", async () => {
    const fake = applyingSsh();
    const rt = mkdtempSync(join(tmpdir(), "bp-runtime-"));
    const dir = projectWith(doc);
    const run = start(dir, ["apply", "--auto-approve", "--no-synth"], offline(fake, rt));
    try {
      await until("zfs create tank/a to start", () => existsSync(join(fake, "started")));
      run.ctrlC();
      await until("the interrupt to be acknowledged", () => run.stderr().includes(INTERRUPT_RECEIVED));
      const t0 = Date.now();
      run.ctrlC();
      const end = await run.exited;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(end.code, run.stderr()).toBe(130);
      expect(run.stderr()).toContain("Second interrupt: exiting now, abandoning what is still running on hosts:");
      expect(run.stderr()).toMatch(new RegExp(`\\n  - ${first.replace(".", "\\.")} \\[tank/a on prod\\]: creating for \\d+s\\n`));
      expect(run.stderr()).toContain("the next plan finds out what these did");
      // nothing completed: the state holds the stack's lineage only; the lock is not left behind
      expect(stateOf(dir).resources).toEqual({});
      expect(existsSync(lockOf(dir))).toBe(false);
      expect(readdirSync(rt)).toEqual([]);
    } finally {
      writeFileSync(join(fake, "release"), "");
    }
  }, 60_000);
});

// util-linux `script` (Debian's essential bsdutils) gives the command a terminal, where the
// approval prompt reads Ctrl-C as a key; a machine without it fails here rather than skip
describe("Ctrl-C at the approval prompt", () => {
  it("cancels the apply (130), changing nothing, lock released", async () => {
    expect(spawnSync("script", ["--version"]).status, "util-linux script(1) is needed to give the command a terminal").toBe(0);
    const fake = applyingSsh();
    const rt = mkdtempSync(join(tmpdir(), "bp-runtime-"));
    const dir = projectWith(doc);
    const command = [process.execPath, join(ROOT, "bin", "backplane.mjs"), "apply", "--no-synth"].map((w) => `'${w}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...offline(fake, rt) }, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    await until("the prompt", () => output.includes("Enter a value:"));
    child.stdin.write("\x03");
    expect(await exited, output).toBe(130);
    expect(output).toContain("Apply cancelled.");
    expect(existsSync(join(fake, "started"))).toBe(false);
    expect(existsSync(lockOf(dir))).toBe(false);
  }, 60_000);
});

describe("BACKPLANE_LOG=debug", () => {
  const plainEnv = () => offline(fakeSsh({ "192.0.2.10": "zfs-2.3-prod-seed" }), mkdtempSync(join(tmpdir(), "bp-runtime-")));

  it("logs every command the host runs, one line each, and how each round trip ended, on stderr", async () => {
    const r = await backplane(projectWith(doc), ["plan", "--no-synth"], { ...plainEnv(), BACKPLANE_LOG: "debug" });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z \[DEBUG\] /.test(l)), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/\[DEBUG\] prod #1 script \[1\/\d+\]: \S/);
    expect(r.stderr).toMatch(/\[DEBUG\] prod #1 script \[\d+\/\d+\]: zfs get /);
    expect(r.stderr).toMatch(/\[DEBUG\] prod #1 exit 0 after \d+\.\d\ds \(stdout \d+ chars, stderr \d+ chars\)/);
    // the plan itself is unchanged on stdout
    expect(r.stdout).toContain('+ dataset "tank/a"');
  }, 60_000);

  it("goes to the file BACKPLANE_LOG_PATH names instead", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "bp-log-")), "debug.log");
    const r = await backplane(projectWith(doc), ["plan", "--no-synth"], { ...plainEnv(), BACKPLANE_LOG: "debug", BACKPLANE_LOG_PATH: log });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(readFileSync(log, "utf8")).toMatch(/\[DEBUG\] prod #1 exit 0 after/);
  }, 60_000);

  it("without it nothing extra is printed", async () => {
    const r = await backplane(projectWith(doc), ["plan", "--no-synth"], plainEnv());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  }, 60_000);
});

describe("a synth that fails", () => {
  // a project whose app (run through this checkout's tsx) throws a ConstructError
  function failingProject(): string {
    const dir = mkdtempSync(join(tmpdir(), "bp-synth-fail-"));
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ app: `"${process.execPath}" "${join(ROOT, "node_modules", "tsx", "dist", "cli.mjs")}" main.ts` }));
    writeFileSync(join(dir, "main.ts"), [
      `import { App, TerraformStack } from "cdktf";`,
      `import { Host } from ${JSON.stringify(join(ROOT, "constructs", "index.ts"))};`,
      `const app = new App();`,
      `const host = new Host(new TerraformStack(app, "edge"), "prod", { address: "192.0.2.10", port: 22, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg" });`,
      `host.dataset("media", { name: "tank/media", snapshots: true });`,
      `app.synth();`,
    ].join("\n"));
    return dir;
  }
  const message = "Error: synth failed: [edge/prod/media] snapshots: true takes the profile's policy, and this dataset has no profile: give a schedule ({ hourly: 24, daily: 7 })";

  it("shows the construct's error first, and no stack trace", async () => {
    const dir = failingProject();
    const r = await backplane(dir, ["synth", "--dir", dir]);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(message);
    expect(lines[1]).toMatch(/^\(ConstructError, thrown by the app .*; BACKPLANE_LOG=debug shows its stack trace and the app's whole output\)$/);
    expect(lines).toHaveLength(2);
  }, 60_000);

  it("with BACKPLANE_LOG=debug, the stack trace after it", async () => {
    const dir = failingProject();
    const r = await backplane(dir, ["plan", "--dir", dir], { BACKPLANE_LOG: "debug" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(message);
    expect(r.stderr).toMatch(/^\s+at new Dataset \(.*constructs\/dataset\.ts:\d+:\d+\)$/m);
  }, 60_000);
});
