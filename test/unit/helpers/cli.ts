/** The backplane command run for real on a synthesized project in a temporary directory (no hosts reached). */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

/**
 * The command the CLI tests run: the checkout's bin (the TypeScript sources through tsx, or the
 * built dist/ with BACKPLANE_RUN_DIST=1, as test/run.sh runs them after a build), or, with
 * BACKPLANE_TEST_BIN, another one, such as an installed package's bin (its bundled dist/cli.mjs):
 * `BACKPLANE_TEST_BIN=…/node_modules/backplane/bin/backplane.mjs npx vitest run test/unit/cli-*`.
 */
const BIN = process.env.BACKPLANE_TEST_BIN || join(ROOT, "bin", "backplane.mjs");

/** Runs bin/backplane.mjs in `cwd` with `args`; `env` is added to a copy of this process's; `onStderr` sees stderr as it grows. */
export function backplane(cwd: string, args: string[], env: Record<string, string> = {}, watch: { onStderr?: (soFar: string) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      watch.onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("close", (exitCode, signal) => resolve({ stdout, stderr, exitCode, signal }));
  });
}

/**
 * A directory holding a fake `ssh` to put first on PATH: it reaches nothing. A destination
 * in `serves` answers the refresh script with a captured refresh (test/fixtures/refresh,
 * its nonce swapped for the script's), or with HANG never answers (it leaves the file
 * `hung-<address>` in the directory, then sleeps); any other is refused as an unreachable
 * host is; `-O exit` (closing a master) succeeds.
 */
export const HANG = "(hang)";

export function fakeSsh(serves: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "bp-fake-ssh-"));
  const fixtures = join(ROOT, "test", "fixtures", "refresh");
  const cases = Object.entries(serves).map(([address, label]) => {
    if (label === HANG) return `  ${address}) touch '${join(dir, `hung-${address}`)}'; exec sleep 60 ;;`;
    if (!/^[0-9.]+$/.test(address) || !/^[a-z0-9.-]+$/.test(label)) throw new Error("fakeSsh: plain addresses and fixture labels only");
    const nonce = readFileSync(join(fixtures, `${label}.nonce`), "utf8").trim();
    return `  ${address}) fixture='${join(fixtures, `${label}.txt`)}'; nonce=${nonce} ;;`;
  });
  writeFileSync(join(dir, "ssh"), [
    "#!/bin/sh",
    'dest=""; prev=""',
    'for a in "$@"; do [ "$a" = "-O" ] && exit 0; if [ "$prev" = "--" ] && [ -z "$dest" ]; then dest="$a"; fi; prev="$a"; done',
    'case "$dest" in',
    ...cases,
    '  *) echo "ssh: connect to host $dest port 22: Connection refused" >&2; exit 255 ;;',
    "esac",
    "got=$(grep -o '@@bp-[a-z0-9]*' | head -n 1 | sed 's/@@bp-//')",
    'sed "s/@@bp-$nonce/@@bp-$got/g" "$fixture"',
    "",
  ].join("\n"));
  chmodSync(join(dir, "ssh"), 0o755);
  return dir;
}

/** The environment for a CLI run that reaches no host: the fake ssh first on PATH, ssh's runtime files in `runtimeDir`. */
export function offline(fakeSshDir: string, runtimeDir: string): Record<string, string> {
  return { PATH: `${fakeSshDir}:${process.env.PATH}`, BACKPLANE_RUNTIME_DIR: runtimeDir };
}
