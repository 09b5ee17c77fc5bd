/** The backplane command run for real on a synthesized project in a temporary directory (no hosts reached). */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./seed.js";

/**
 * A project directory holding `doc` as cdktf.out/stacks/<stack>/cdk.tf.json (run with
 * --no-synth). Its state is `terraform.<stack>.tfstate` in that directory: cdktf's default
 * backend path is absolute, in the directory the synth ran in, which is not this one.
 */
export function projectWith(doc: Record<string, any>, stack = "test"): string {
  const dir = mkdtempSync(join(tmpdir(), "bp-cli-"));
  const d = structuredClone(doc);
  d.terraform = { ...d.terraform, backend: { local: { path: `terraform.${stack}.tfstate` } } };
  mkdirSync(join(dir, "cdktf.out", "stacks", stack), { recursive: true });
  writeFileSync(join(dir, "cdktf.out", "stacks", stack, "cdk.tf.json"), JSON.stringify(d, null, 2));
  return dir;
}

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs bin/backplane.mjs in `cwd` with `args`; `env` is added to a copy of this process's. */
export function backplane(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "bin", "backplane.mjs"), ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (exitCode, signal) => resolve({ stdout, stderr, exitCode, signal }));
  });
}
