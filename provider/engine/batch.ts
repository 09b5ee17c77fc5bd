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

/**
 * `timed`: each section's end line carries how long its command ran (apply logs it). One `date`
 * per section: its reading ends this section and starts the next (what runs between two
 * commands counts to the next one: builtins, and the `sed` of a section that wrote to stderr),
 * where a reading before and after each command took two processes (≈35 ms each under the
 * lab's emulation). A refresh does not need timings at all and starts no `date`; its end lines
 * say 0 ms. Either way `sed` runs only for a command that wrote to stderr (`[ -s ]` is a builtin).
 */
export function batchScript(items: readonly BatchItem[], nonce: string, opts: { timed?: boolean } = {}): string {
  if (!/^[a-z0-9]+$/.test(nonce)) throw new Error("nonce must be lowercase alphanumeric");
  const m = `@@bp-${nonce}`;
  const timed = opts.timed !== false;
  const out = ["t=$(mktemp -d) || exit 97", "trap 'rm -rf \"$t\"' EXIT", "export LC_ALL=C", ...(timed ? ["s=$(date +%s%N)"] : [])];
  const section = (key: string, command: Argv, err: string) => [
    `printf '%s\\n' '${m}:begin ${key}'`,
    `${toShell(command)} 2>"$t/${err}" </dev/null; rc=$?`,
    ...(timed
      ? [`e=$(date +%s%N)`, `printf '\\n%s %s %s\\n' '${m}:end ${key}' "$rc" "$(( (e - s) / 1000000 ))"`, `s=$e`]
      : [`printf '\\n%s %s 0\\n' '${m}:end ${key}' "$rc"`]),
    `[ ! -s "$t/${err}" ] || sed 's/^/${m}:stderr /' "$t/${err}"`,
  ];
  for (const [i, item] of items.entries()) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(item.key)) throw new Error(`bad batch key ${item.key}`);
    out.push(...section(item.key, item.command, `e${i}`));
    for (const [j, f] of (item.fallbacks ?? []).entries()) {
      if (!/^[a-z0-9-]+$/.test(f.name)) throw new Error(`bad fallback name ${f.name}`);
      out.push(`if [ "$rc" -ne 0 ]; then`, ...section(`${item.key}.${f.name}`, f.command, `f${i}_${j}`), `fi`);
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
