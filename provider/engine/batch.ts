/**
 * Batching: many commands in one SSH round trip. `batchScript` renders commands as a POSIX
 * sh script whose output is split into delimited sections (stdout, stderr, exit code per
 * command); `splitSections` parses it back. Markers carry a random nonce so no output can
 * forge them. Pure.
 */
import { toShell, type Argv } from "../model/argv.js";

export interface BatchItem {
  key: string;
  command: Argv;
  /** stop running later items when this one fails (apply); refresh reads everything */
  stopOnError?: boolean;
  /**
   * run in turn when `command` (and the fallbacks before) failed, in the same round trip, each
   * as section `<key>.<name>` (an older ZFS lacks JSON output or flags such as -p: the
   * capability is found without a second trip)
   */
  fallbacks?: readonly { name: string; command: Argv }[];
}

export interface SectionResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** how long the command ran on the host */
  elapsedMs: number;
}

export function batchScript(items: readonly BatchItem[], nonce: string): string {
  if (!/^[a-z0-9]+$/.test(nonce)) throw new Error("nonce must be lowercase alphanumeric");
  const m = `@@bp-${nonce}`;
  const out = ["t=$(mktemp -d) || exit 97", "trap 'rm -rf \"$t\"' EXIT", "export LC_ALL=C"];
  for (const [i, item] of items.entries()) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(item.key)) throw new Error(`bad batch key ${item.key}`);
    out.push(
      `printf '%s\\n' '${m}:begin ${item.key}'`,
      `s=$(date +%s%N)`,
      `${toShell(item.command)} 2>"$t/e${i}" </dev/null; rc=$?`,
      `printf '\\n%s %s %s\\n' '${m}:end ${item.key}' "$rc" "$(( ($(date +%s%N) - s) / 1000000 ))"`,
      `sed 's/^/${m}:stderr /' "$t/e${i}"`,
    );
    for (const [j, f] of (item.fallbacks ?? []).entries()) {
      if (!/^[a-z0-9-]+$/.test(f.name)) throw new Error(`bad fallback name ${f.name}`);
      const key = `${item.key}.${f.name}`;
      out.push(
        `if [ "$rc" -ne 0 ]; then`,
        `printf '%s\\n' '${m}:begin ${key}'`,
        `s=$(date +%s%N)`,
        `${toShell(f.command)} 2>"$t/f${i}_${j}" </dev/null; rc=$?`,
        `printf '\\n%s %s %s\\n' '${m}:end ${key}' "$rc" "$(( ($(date +%s%N) - s) / 1000000 ))"`,
        `sed 's/^/${m}:stderr /' "$t/f${i}_${j}"`,
        `fi`,
      );
    }
    if (item.stopOnError) out.push(`[ "$rc" -eq 0 ] || exit 0`);
  }
  return out.join("\n") + "\n";
}

/** Every command a batch may run, fallbacks included, in order: what the debug log shows of it (Transport.script's `commands`). */
export function batchCommands(items: readonly BatchItem[]): Argv[] {
  return items.flatMap((i) => [i.command, ...(i.fallbacks ?? []).map((f) => f.command)]);
}

export function splitSections(output: string, nonce: string): Map<string, SectionResult> {
  const m = `@@bp-${nonce}`;
  const result = new Map<string, SectionResult>();
  let current: { key: string; body: string[] } | null = null;
  let last: SectionResult | null = null;
  for (const line of output.split("\n")) {
    if (current) {
      // an end line counts only whole: "<exit code> <ms>" (a link cut inside it leaves the
      // section open, its outcome unknown — never exit code 0 read from nothing)
      const end = line.startsWith(`${m}:end ${current.key} `) ? line.slice(`${m}:end ${current.key} `.length) : null;
      if (end !== null && /^\d+ \d+$/.test(end)) {
        // The printf before the end marker added one "\n"; the body's lines were joined with "\n".
        const body = current.body.join("\n");
        const [rc, ms] = end.split(" ");
        last = { stdout: body, stderr: "", exitCode: Number(rc), elapsedMs: Number(ms ?? 0) };
        result.set(current.key, last);
        current = null;
      } else current.body.push(line);
      continue;
    }
    if (line.startsWith(`${m}:begin `)) {
      current = { key: line.slice(`${m}:begin `.length), body: [] };
      last = null;
    } else if (line.startsWith(`${m}:stderr `) && last) {
      last.stderr += line.slice(`${m}:stderr `.length) + "\n";
    }
  }
  return result;
}
