/**
 * What backplane installs on a host to run something without backplane: a script, a
 * systemd service that runs it and a timer that starts the service. Pure: the files' text,
 * the install/remove commands, and the fact that reads them back (in the refresh's one
 * round trip) with its strict parser.
 *
 * Owned names (docs/schedules.md): units `backplane-<kind>-<id>.{service,timer}` in
 * /etc/systemd/system and scripts /etc/backplane/timers/backplane-<kind>-<id>.sh, where
 * <id> is derived from the stack's lineage and the resource address. Every value a script
 * needs is in the script (quoted by the one quoting function), none in the unit files, so
 * systemd's own quoting and specifiers never see a user value.
 */
import { createHash } from "node:crypto";
import { argv, toShell, type Argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { HostLive, HostTimers, LiveUnit } from "../model/live.js";
import type { Drift } from "../model/plan.js";

export const UNIT_DIR = "/etc/systemd/system";
export const SCRIPT_DIR = "/etc/backplane/timers";

export interface TimerFiles {
  /** the unit name without suffix: backplane-snapshot-0123456789abcdef */
  name: string;
  /** path → content */
  files: Map<string, string>;
}

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The three files. `args` are the script's positional parameters (`set --`, quoted by
 * shellQuote); `body` is fixed text. `description` is ours (no user value: unit files
 * interpret `%` and `\`).
 */
export function timerFiles(o: { name: string; description: string; header: string; args: readonly string[]; body: string; onCalendar: string; identifier: string; successExitStatus?: number }): TimerFiles {
  if (!/^backplane-[a-z]+-[0-9a-f]{16}$/.test(o.name)) throw new Error(`not a backplane unit name: ${o.name}`);
  if (/[%\\\n]/.test(o.description + o.onCalendar + o.identifier)) throw new Error("unit file text cannot hold %, \\ or a newline");
  const script = [
    "#!/bin/sh",
    ...o.header.split("\n").map((l) => `# ${l}`),
    `set -- ${toShell(argv(...o.args))}`,
    o.body,
    "",
  ].join("\n");
  const service = [
    "[Unit]",
    `Description=${o.description}`,
    "After=zfs-import.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=/bin/sh ${SCRIPT_DIR}/${o.name}.sh`,
    `SyslogIdentifier=${o.identifier}`,
    ...(o.successExitStatus !== undefined ? [`SuccessExitStatus=${o.successExitStatus}`] : []),
    "",
  ].join("\n");
  const timer = [
    "[Unit]",
    `Description=${o.description} (schedule)`,
    "",
    "[Timer]",
    `OnCalendar=${o.onCalendar}`,
    // on time to the second (the default lets systemd shift a run by up to a minute)
    "AccuracySec=1s",
    // a run missed while the host was down happens at boot
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
  return { name: o.name, files: new Map([[`${SCRIPT_DIR}/${o.name}.sh`, script], [`${UNIT_DIR}/${o.name}.service`, service], [`${UNIT_DIR}/${o.name}.timer`, timer]]) };
}

/**
 * Installs (or repairs) a timer: writes each file atomically, removes drop-ins on our units
 * (an override is an edit), reloads systemd, clears a failed last run, enables and
 * (re)starts the timer so a changed schedule takes effect now.
 */
const INSTALL_SCRIPT = [
  "set -eu",
  "name=$1; shift",
  'command -v systemctl >/dev/null 2>&1 || { echo "this host has no systemd: backplane runs schedules as systemd timers" >&2; exit 1; }',
  "umask 022",
  `mkdir -p ${SCRIPT_DIR}`,
  'while [ $# -ge 2 ]; do',
  '  t=$(mktemp "$1.bp.XXXXXX")',
  "  printf '%s' \"$2\" > \"$t\"",
  '  chmod 0644 "$t"',
  '  mv -f "$t" "$1"',
  "  shift 2",
  "done",
  `rm -rf "${UNIT_DIR}/$name.service.d" "${UNIT_DIR}/$name.timer.d"`,
  "systemctl daemon-reload",
  'systemctl reset-failed "$name.service" >/dev/null 2>&1 || true',
  'systemctl enable "$name.timer" >/dev/null 2>&1 || systemctl enable "$name.timer"',
  'systemctl restart "$name.timer"',
].join("\n");

/** Stops and removes a timer, its service and script (whatever they became). */
const REMOVE_SCRIPT = [
  "set -eu",
  "name=$1",
  'if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$name.timer" >/dev/null 2>&1 || true; systemctl stop "$name.service" >/dev/null 2>&1 || true; fi',
  `rm -rf "${UNIT_DIR}/$name.timer" "${UNIT_DIR}/$name.service" "${UNIT_DIR}/$name.service.d" "${UNIT_DIR}/$name.timer.d" "${SCRIPT_DIR}/$name.sh"`,
  "if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload; systemctl reset-failed \"$name.service\" >/dev/null 2>&1 || true; fi",
].join("\n");

export function installTimer(t: TimerFiles): Argv {
  return argv("sh", "-c", INSTALL_SCRIPT, "sh", t.name, ...[...t.files].flat());
}

export function removeTimer(name: string): Argv {
  return argv("sh", "-c", REMOVE_SCRIPT, "sh", name);
}

/** The properties read back per unit (`systemctl show`, epoch timestamps). */
export const UNIT_PROPERTIES = ["Id", "LoadState", "UnitFileState", "ActiveState", "Result", "ExecMainStatus", "ExecMainExitTimestamp", "LastTriggerUSec", "DropInPaths", "NeedDaemonReload"] as const;

/** The kinds of timer backplane installs (the first word of the unit name after backplane-). */
export const KINDS = ["snapshot", "replicate"] as const;

/** What every unit reports; a timer has no ExecMain*, a service no LastTriggerUSec (systemd 252 leaves them out). */
const REQUIRED = ["Id", "LoadState", "UnitFileState", "ActiveState", "Result"] as const;

/**
 * Our units and scripts as they are: `file <path> <sha256>` lines, then `systemctl show` of
 * each unit found (blocks of Key=Value, separated by blank lines). A host without systemd
 * answers `nosystemd`.
 */
export const timerFacts: Fact<HostTimers> = {
  name: "timers",
  command: argv("sh", "-c", [
    'command -v systemctl >/dev/null 2>&1 || { echo nosystemd; exit 0; }',
    "set --",
    `for f in ${KINDS.flatMap((k) => [`${UNIT_DIR}/backplane-${k}-*.timer`, `${UNIT_DIR}/backplane-${k}-*.service`, `${SCRIPT_DIR}/backplane-${k}-*.sh`]).join(" ")}; do`,
    '  [ -f "$f" ] || continue',
    `  printf 'file\\t%s\\t%s\\n' "$f" "$(sha256sum < "$f" | cut -d ' ' -f 1)"`,
    '  case $f in *.sh) ;; *) set -- "$@" "${f##*/}";; esac',
    "done",
    '[ $# -gt 0 ] || exit 0',
    "echo",
    // timestamps as text in UTC (--timestamp=unix is systemd 251+, and a timer's LastTriggerUSec ignores it on 252)
    `TZ=UTC0 systemctl show -p ${UNIT_PROPERTIES.join(",")} -- "$@"`,
  ].join("\n")),
  parse(stdout) {
    const lines = stdout.split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length === 1 && lines[0] === "nosystemd") return { systemd: false, files: new Map(), units: new Map() };
    const files = new Map<string, string>();
    let i = 0;
    for (; i < lines.length && lines[i] !== ""; i++) {
      const f = lines[i]!.split("\t");
      if (f.length !== 3 || f[0] !== "file" || !f[1]!.startsWith("/") || !/^[0-9a-f]{64}$/.test(f[2]!)) throw new ParseError("timers", i + 1, `expected 'file<TAB>path<TAB>sha256', got ${JSON.stringify(lines[i])}`);
      if (files.has(f[1]!)) throw new ParseError("timers", i + 1, `file ${f[1]} listed twice`);
      files.set(f[1]!, f[2]!);
    }
    const units = new Map<string, LiveUnit>();
    let block = new Map<string, string>();
    let start = i + 2;
    const close = (line: number) => {
      if (block.size === 0) return;
      const id = block.get("Id");
      if (!id) throw new ParseError("timers", line, "a unit block without Id");
      for (const k of REQUIRED) if (!block.has(k)) throw new ParseError("timers", line, `unit ${id}: ${k} missing`);
      if (units.has(id)) throw new ParseError("timers", line, `unit ${id} listed twice`);
      units.set(id, unitOf(block));
      block = new Map();
    };
    for (i += 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === "") {
        close(start);
        start = i + 2;
        continue;
      }
      const eq = line.indexOf("=");
      const key = line.slice(0, eq);
      if (eq <= 0 || !(UNIT_PROPERTIES as readonly string[]).includes(key)) throw new ParseError("timers", i + 1, `expected one of ${UNIT_PROPERTIES.join(", ")} as Key=Value, got ${JSON.stringify(line)}`);
      if (block.has(key)) throw new ParseError("timers", i + 1, `${key} twice in one unit block`);
      block.set(key, line.slice(eq + 1));
    }
    close(start);
    return { systemd: true, files, units };
  },
};

/** `@1732640400` (systemctl --timestamp=unix), `Thu 2026-11-26 17:32:00 UTC`, or nothing ("" / "n/a"). */
function epoch(v: string): number | null {
  const m = /^@(\d+)$/.exec(v);
  if (m) return Number(m[1]);
  const u = /^[A-Z][a-z]{2} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(v);
  return u ? Date.parse(`${u[1]}T${u[2]}Z`) / 1000 : null;
}

function unitOf(b: Map<string, string>): LiveUnit {
  const status = b.get("ExecMainStatus") ?? "";
  return {
    loadState: b.get("LoadState")!,
    unitFileState: b.get("UnitFileState")!,
    activeState: b.get("ActiveState")!,
    result: b.get("Result")!,
    exitStatus: /^\d+$/.test(status) ? Number(status) : null,
    exitedAt: epoch(b.get("ExecMainExitTimestamp") ?? ""),
    lastTrigger: epoch(b.get("LastTriggerUSec") ?? ""),
    dropIns: (b.get("DropInPaths") ?? "").split(" ").filter(Boolean),
    needsReload: b.get("NeedDaemonReload") === "yes",
  };
}

/** Drop-ins that override one of our units from the directories backplane owns (the install removes them). */
export function ownDropIns(name: string, u: LiveUnit): string[] {
  return u.dropIns.filter((d) => d.startsWith(`${UNIT_DIR}/${name}.service.d/`) || d.startsWith(`${UNIT_DIR}/${name}.timer.d/`));
}

/**
 * What is wrong with an installed timer, for people: missing, changed (by the configuration,
 * or edited on the host: told apart by the hashes state recorded), overridden, not reloaded,
 * disabled, stopped. Empty = as installed.
 */
export function timerProblems(expected: TimerFiles, live: HostTimers, recorded?: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [path, text] of expected.files) {
    const found = live.files.get(path);
    if (found === undefined) problems.push(`${path} missing`);
    else if (found !== sha256(text)) problems.push(recorded?.[path] === found ? `${path} changes with the configuration` : `${path} edited on the host`);
  }
  const timer = live.units.get(`${expected.name}.timer`);
  const service = live.units.get(`${expected.name}.service`);
  for (const u of [timer, service]) {
    const own = u ? ownDropIns(expected.name, u) : [];
    if (own.length > 0) problems.push(`overridden by ${own.join(", ")}`);
  }
  if ([timer, service].some((u) => u?.needsReload)) problems.push("changed on disk but not reloaded by systemd (an interrupted install?)");
  if (timer && live.files.has(`${UNIT_DIR}/${expected.name}.timer`)) {
    if (timer.unitFileState !== "enabled") problems.push(`${expected.name}.timer is ${timer.unitFileState || "not enabled"} (it would not start at boot)`);
    if (timer.activeState !== "active") problems.push(`${expected.name}.timer is ${timer.activeState} (not scheduled)`);
  }
  return problems;
}

/** The last run failed: why, when (epoch seconds), for drift and probes. Null when it succeeded or never ran. */
export function lastRunFailure(name: string, live: HostTimers): { result: string; exitStatus: number | null; at: number | null } | null {
  const s = live.units.get(`${name}.service`);
  if (!s || s.result === "success") return null;
  return { result: s.result, exitStatus: s.exitStatus, at: s.exitedAt };
}

/** A host whose timers were not read or that cannot run them: why, or null. */
export function timersUnavailable(live: HostLive): string | null {
  if (!live.timers) return `the timers of ${live.host} were not read`;
  if (!live.timers.systemd) return `${live.host} has no systemd (systemctl): backplane runs schedules as systemd timers`;
  return null;
}

/**
 * A recorded timer as the host has it: missing, edited, disabled, stopped, or its last run
 * failed (the one thing apply does not repair: the journal says why).
 */
export function timerDrift(address: string, host: string, id: string, attributes: Record<string, unknown>, live: HostLive): Drift[] {
  const unit = attributes.unit;
  const files = attributes.files;
  if (typeof unit !== "string" || !files || typeof files !== "object" || !live.timers?.systemd) return [];
  const d = (property: string, recordedValue: string, liveValue: string | null): Drift => ({ address, host, id, property, recorded: recordedValue, live: liveValue });
  const out: Drift[] = [];
  for (const [path, hash] of Object.entries(files as Record<string, string>)) {
    const found = live.timers.files.get(path);
    if (found !== hash) out.push(d(path, "as installed", found === undefined ? null : "edited on the host"));
  }
  const timer = live.timers.units.get(`${unit}.timer`);
  if (timer && live.timers.files.has(`${UNIT_DIR}/${unit}.timer`)) {
    if (timer.unitFileState !== "enabled") out.push(d(`${unit}.timer`, "enabled", timer.unitFileState || "not enabled"));
    else if (timer.activeState !== "active") out.push(d(`${unit}.timer`, "active", timer.activeState));
  }
  for (const kind of ["timer", "service"] as const) {
    const u = live.timers.units.get(`${unit}.${kind}`);
    const own = u ? ownDropIns(unit, u) : [];
    if (own.length > 0) out.push(d(`${unit}.${kind}`, "no overrides", own.join(", ")));
  }
  const failed = lastRunFailure(unit, live.timers);
  if (failed) out.push(d(`${unit}.service last run`, "succeeded", `${failed.result}${failed.exitStatus !== null ? ` (exit ${failed.exitStatus})` : ""}${failed.at !== null ? ` at ${new Date(failed.at * 1000).toISOString()}` : ""}: journalctl -u ${unit}.service`));
  return out;
}
