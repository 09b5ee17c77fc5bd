/**
 * backplane_replication. Pure. Two parts:
 *
 *  - the resource (a Change like any other): a dedicated SSH key generated on the source host
 *    (the private key never leaves it), and its public half authorised on the target host with
 *    a forced command that runs only `zfs recv` into the target dataset. The public key travels
 *    from the source to the target through the pipe between the two SSH sessions (the
 *    hand-over, transport/handover.ts), as WireGuard preshared keys do.
 *  - the transfer (a Sync): planned from both hosts' snapshots, matched by GUID
 *    (zfs/replication-path.ts). The source host takes `@<prefix><UTC time>`, sends it to the
 *    target over the target's tunnel address with that key (`zfs send | ssh <addr> zfs recv`,
 *    never through the operator's machine), holds it so retention cannot break the chain,
 *    bookmarks it where the pool can, releases the previous hold and prunes past retention.
 *
 * Owned names (docs/replication.md): the snapshot prefix (default `backplane-repl-`), the
 * hold tag `backplane-repl-<id>`, the key files /etc/backplane/replication/<id>{,.pub,
 * .known_hosts}, and authorized_keys lines ending in `backplane-replication=<id>`, where
 * <id> is derived from the stack's lineage and the resource address.
 */
import { createHash } from "node:crypto";
import { argv, toShell, type Argv } from "../model/argv.js";
import type { DesiredResource, HostConfig } from "../model/desired.js";
import type { HostLive } from "../model/live.js";
import type { Drift, Step, Sync } from "../model/plan.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import { REPLICATION_KEY_DIR, REPLICATION_KEY_TAG } from "../zfs/replication-facts.js";
import { describeConflict, incrementalPath, type ChainSnapshot } from "../zfs/replication-path.js";
import { baseChange, deleteBase, noop, type Planned, type PlanContext, type ResourceKind } from "./kind.js";
import { capabilityProblems, normalizeProperties } from "./zfs-common.js";
import { poolOf } from "../zfs/names.js";
import { installTimer, removeTimer, sha256, timerDrift, timerFiles, timerProblems, timersUnavailable, type TimerFiles } from "../systemd/timers.js";
import { isStamped, onCalendar, periodMinutes } from "../zfs/snapshot-schedule.js";

export const REPLICATION = "backplane_replication";

/** A replication's own id: names its key files, hold tag and authorized_keys line. */
export function replicationId(lineage: string, address: string): string {
  return createHash("sha256").update(`${lineage}\0${address}`).digest("hex").slice(0, 16);
}

export const holdTag = (id: string) => `backplane-repl-${id}`;

interface Config {
  source: string;
  targetHost: string;
  address: string;
  target: string;
  port: number;
  prefix: string;
  raw: boolean;
  force: boolean;
  receive: Record<string, string>;
  retainSource: number;
  retainTarget: number;
  /** the source host's own timer runs the transfer at this period (null: only backplane apply/replicate) */
  every: string | null;
}

function configOf(c: Record<string, unknown>): Config {
  return {
    source: c.source_dataset as string,
    targetHost: c.target_host as string,
    address: c.target_address as string,
    target: c.target_dataset as string,
    port: (c.target_port as number | undefined) ?? 22,
    prefix: (c.snapshot_prefix as string | undefined) ?? "backplane-repl-",
    raw: c.raw === true,
    force: c.allow_rollback_target === true,
    receive: (c.receive_properties as Record<string, string> | undefined) ?? {},
    retainSource: (c.retain_source as number | undefined) ?? 3,
    retainTarget: (c.retain_target as number | undefined) ?? 10,
    every: (c.every as string | undefined) ?? null,
  };
}

const sh = (script: string, ...args: string[]): Argv => argv("sh", "-c", script, "sh", ...args);

/** The target's known_hosts line for the tunnel address (ssh's `[addr]:port` form off port 22). */
export function knownHostsLine(address: string, port: number, hostKey: string): string {
  const [type, blob] = hostKey.trim().split(/\s+/);
  return `${port === 22 ? address : `[${address}]:${port}`} ${type} ${blob}`;
}

/**
 * What the target runs whatever the key's user asks for: `zfs recv` into the target dataset,
 * resumable (-s), unmounted (-u), read-only and not mounted at boot so a mere read cannot
 * make it diverge; -F only when the stack allows rolling the target back.
 */
export function forcedCommand(cfg: Pick<Config, "target" | "force" | "receive">, volume: boolean): Argv {
  // whatever the stream carries (a source host is not trusted with the target's mounts): no
  // mountpoint or shares of its own, nothing executable, no devices, no setuid
  return argv("zfs", "recv", "-s", "-u", ...(cfg.force ? ["-F"] : []), "-o", "readonly=on", ...(volume ? [] : ["-o", "canmount=noauto", "-o", "exec=off", "-o", "setuid=off", "-o", "devices=off", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb"]),
    ...Object.entries(cfg.receive).sort(([a], [b]) => a.localeCompare(b)).flatMap(([k, v]) => ["-o", `${k}=${v}`]), cfg.target);
}

/**
 * What the target runs for a scheduled replication's key: the same receive, plus two verbs
 * the source host's timer needs because it plans alone — `state` (does the target exist,
 * its resume token, what was written since its newest snapshot, its snapshots' GUIDs in
 * order) and `prune` (the target's own retention, decided here with the count fixed in this
 * line; stdin names snapshots to spare: copies of source snapshots this stack did not make).
 * A source host can ask nothing else; one that lies can at most spare fewer, and the newest
 * `retain_target` always stay.
 */
const DISPATCH_SCRIPT = [
  // one line: it lives in an authorized_keys line
  "t=$1 prefix=$2 retain=$3; shift 3; tab=$(printf '\\t');",
  'case "${SSH_ORIGINAL_COMMAND:-}" in',
  'recv) exec "$@" ;;',
  "state)",
  'zfs list -H -o name "$t" >/dev/null 2>&1 || { echo absent; exit 0; };',
  'zpool sync "${t%%/*}" >/dev/null 2>&1;',
  "printf 'token\\t%s\\n' \"$(zfs get -H -o value receive_resume_token \"$t\")\";",
  "printf 'written\\t%s\\n' \"$(zfs get -Hp -o value written \"$t\")\";",
  "zfs list -Hp -t snapshot -o guid,name -s createtxg -d 1 \"$t\" | awk '{ print \"snapshot\\t\" $0 }' ;;",
  "prune)",
  "spare=$(head -c 1048576);",
  "zfs list -Hp -t snapshot -o name,userrefs -s createtxg -d 1 \"$t\" | SPARE=\"$spare\" P=\"$prefix\" R=\"$retain\" awk -F'\\t' '",
  'BEGIN { n = split(ENVIRON["SPARE"], s, "\\n"); for (i = 1; i <= n; i++) spare[s[i]] = 1; p = ENVIRON["P"] }',
  '{ at = index($1, "@"); x = substr($1, at + 1); if (substr(x, 1, length(p)) == p && length(x) == length(p) + 16 && substr(x, length(p) + 1) ~ /^[0-9]+T[0-9]+Z$/ && !(x in spare)) { c++; nm[c] = $1; rf[c] = $2 } }',
  'END { for (i = 1; i <= c - ENVIRON["R"]; i++) print (rf[i] > 0 ? "held" : "destroy") "\\t" nm[i] }\' |',
  'while IFS="$tab" read -r v s; do if [ "$v" = destroy ] && zfs destroy "$s" 2>/dev/null; then continue; fi;',
  "printf 'kept\\t%s\\n' \"$s\"; done ;;",
  '*) echo "this key may only receive into $t (recv) or read and prune its replication snapshots (state, prune)" >&2; exit 1 ;;',
  "esac",
].join(" ");

/** The target's forced command: a plain receive, or the dispatcher when the source host runs the replication on a timer. */
export function targetCommand(cfg: Pick<Config, "target" | "force" | "receive" | "every" | "prefix" | "retainTarget">, volume: boolean): Argv {
  const recv = forcedCommand(cfg, volume);
  return cfg.every ? argv("sh", "-c", DISPATCH_SCRIPT, "sh", cfg.target, cfg.prefix, String(cfg.retainTarget), ...recv.map((w) => w.text)) : recv;
}

/** The authorized_keys options before the key: the forced command, and nothing else allowed (no pty, no forwarding). */
export function authorizedOptions(cmd: Argv): string {
  // inside command="…" sshd turns \" into " and keeps every other byte as it is (a backslash too, as
  // in the shell's '\'' quoting); a text ending in a backslash would escape the closing quote
  const text = toShell(cmd);
  if (text.endsWith("\\")) throw new Error("a forced command cannot end in a backslash");
  if (/[\n\r]/.test(text)) throw new Error("a forced command cannot span lines (it lives in one authorized_keys line)");
  return `restrict,command="${text.replace(/"/g, '\\"')}"`;
}

/** The whole authorized_keys line for a public key line ("ssh-ed25519 AAAA… comment"). */
export function authorizedLine(options: string, publicKey: string, id: string): string | null {
  // one line, an ed25519 key whose blob names its own type and holds 32 key bytes (51 bytes in all)
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?: [^\s]+)?$/.exec(publicKey.trim());
  if (!m) return null;
  const blob = Buffer.from(m[1]!, "base64");
  if (blob.length !== 51 || blob.readUInt32BE(0) !== 11 || blob.subarray(4, 15).toString("latin1") !== "ssh-ed25519") return null;
  return `${options} ssh-ed25519 ${m[1]} ${REPLICATION_KEY_TAG}=${id}`;
}

/**
 * On the source host (the hand-over's sending side): makes the key once, writes the target's
 * known_hosts line, prints the public key (nothing secret) and waits for the target's "ok".
 */
const KEY_SCRIPT = [
  "set -e",
  `d=${REPLICATION_KEY_DIR}; id=$1; known=$2`,
  "umask 077",
  'mkdir -p "$d"',
  // a half-made pair (a kill between the two files) is made again
  'if [ ! -f "$d/$id" ] || [ ! -f "$d/$id.pub" ]; then rm -f "$d/$id" "$d/$id.pub"; ssh-keygen -q -t ed25519 -N "" -C "' + REPLICATION_KEY_TAG + '=$id" -f "$d/$id" >/dev/null; fi',
  `printf '%s\\n' "$known" > "$d/$id.known_hosts.tmp"`,
  'mv "$d/$id.known_hosts.tmp" "$d/$id.known_hosts"',
  'cat "$d/$id.pub"',
  'IFS= read -r ack || ack=""',
  '[ "$ack" = ok ] || { echo "the target host did not authorise the replication key" >&2; exit 1; }',
].join("\n");

/**
 * On the target host: reads the public key line, checks it is an ed25519 key, and replaces
 * this replication's authorized_keys line (matched by its tag, the last field) atomically,
 * leaving every other line as it was.
 */
const AUTHORIZE_SCRIPT = [
  "set -e",
  "id=$1; options=$2",
  'IFS= read -r key || key=""',
  "set -f",
  'set -- $key',
  '[ "${1:-}" = ssh-ed25519 ] || { echo "not an ed25519 public key" >&2; exit 1; }',
  'case "${2:-}" in ""|*[!A-Za-z0-9+/=]*) echo "not a public key" >&2; exit 1;; esac',
  "umask 077",
  'a="$HOME/.ssh/authorized_keys"',
  'mkdir -p "$HOME/.ssh"',
  '[ -L "$a" ] && { echo "$a is a symbolic link: backplane rewrites authorized_keys by rename and will not replace a link" >&2; exit 1; }',
  '[ -f "$a" ] || : > "$a"',
  't=$(mktemp "$a.bp.XXXXXX")',
  "trap 'rm -f \"$t\"' EXIT",
  `awk -v tag="${REPLICATION_KEY_TAG}=$id" '$NF != tag' "$a" > "$t"`,
  `printf '%s %s %s %s\\n' "$options" "$1" "$2" "${REPLICATION_KEY_TAG}=$id" >> "$t"`,
  'mv "$t" "$a"',
  "echo ok",
].join("\n");

/** On the target host: removes this replication's authorized_keys line, leaving every other. */
const DEAUTHORIZE_SCRIPT = [
  "set -e",
  "id=$1",
  'a="$HOME/.ssh/authorized_keys"',
  '[ -f "$a" ] || exit 0',
  "umask 077",
  't=$(mktemp "$a.bp.XXXXXX")',
  "trap 'rm -f \"$t\"' EXIT",
  `awk -v tag="${REPLICATION_KEY_TAG}=$id" '$NF != tag' "$a" > "$t"`,
  'mv "$t" "$a"',
].join("\n");

/** On the source host: removes the key files and this replication's holds (the snapshots stay). */
const REMOVE_KEY_SCRIPT = [
  "set -e",
  `d=${REPLICATION_KEY_DIR}; id=$1; tag=$2; src=$3`,
  // this replication's holds, by tag (a source already gone has none left)
  "if zfs list -H -o name \"$src\" >/dev/null 2>&1; then",
  "  zfs list -H -o name -t snapshot -d 1 \"$src\" | tr '\\n' '\\0' | xargs -0 -r zfs holds -H | awk -F'\\t' -v t=\"$tag\" '$2 == t { print $1 }' |",
  '    while IFS= read -r s; do zfs release "$tag" "$s"; done',
  "fi",
  'rm -f "$d/$id" "$d/$id.pub" "$d/$id.known_hosts"',
].join("\n");

/**
 * The transfer itself, as the sync script defines it: `rsh` reaches the target with the
 * replication's own key, `pipe` runs `zfs send | rsh recv` and fails with whichever side failed.
 * Needs d, id, port, user, addr, st and a `fail` function; `pipe` sets r and s. Apart so the
 * replication bench can time this pipe alone.
 */
const TRANSFER_FUNCTIONS = [
  // the target's side through the replication's own key (its forced command decides what runs there)
  'rsh() { ssh -F /dev/null -i "$d/$id" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$d/$id.known_hosts" -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -p "$port" -l "$user" -- "$addr" "$@"; }',
  "pipe() {",
  // -v -P: parsable progress on stderr each second; the target's output is not ours to report
  '  { zfs send -v -P "$@"; echo $? > "$st"; } | rsh recv >/dev/null',
  '  r=$?; s=$(cat "$st")',
  '  [ "$s" = 0 ] || fail "zfs send failed (exit ${s:-killed})"',
  '  [ "$r" = 0 ] || fail "zfs recv on $addr failed (exit $r)"',
  "}",
];

/**
 * On the source host: the transfer. POSIX sh has no pipefail, so the sender's exit code
 * comes back through a file. Prints tab-separated lines: `bytes <estimate>`, `resumed
 * <snapshot>`, `snapshot <name> <guid>`, `warning <text>`.
 */
const SYNC_SCRIPT = [
  "set -u",
  `d=${REPLICATION_KEY_DIR}`,
  "src=$1 prefix=$2 lineage=$3 mode=$4 from=$5 token=$6 raw=$7 id=$8 port=$9",
  "shift 9",
  // force, retain and keep: what a timer's run (mode auto) decides with on the host
  "user=$1 addr=$2 tag=$3 bookmark=$4 prune=$5 force=${6:-0} retain=${7:-1} keep=${8:-}",
  "fail() { printf '%s\\n' \"$*\" >&2; exit 1; }",
  "warn() { printf 'warning\\t%s\\n' \"$*\"; }",
  // one transfer of a replication at a time on this host (a timed-out one may still be running here)
  // (exit 75: busy, not failed — the running one brings the target up; the engine says so)
  'if command -v flock >/dev/null; then exec 9>"/run/backplane-repl-$id.lock" && flock -n 9 || { echo "another transfer of this replication is still running on this host" >&2; exit 75; }; fi',
  'st=$(mktemp) || exit 1',
  "trap 'rm -f \"$st\"' EXIT",
  "estimate() { zfs send -nP \"$@\" 2>/dev/null | awk -F'\\t' '$1 == \"size\" { print $2 }'; }",
  ...TRANSFER_FUNCTIONS,
  // a timer's run plans alone, by the rules the operator's plan uses (zfs/replication-path.ts):
  // resume a cut transfer first; else the newest snapshot both hold (by GUID); a target with
  // snapshots the source lacks after it (diverged) or written to since is refused unless the
  // replication allows rolling it back; nothing written since the common snapshot: nothing to send
  'if [ "$mode" = auto ]; then',
  '  tstate=$(rsh state) || fail "cannot read the state of $addr\'s target: $tstate"',
  "  tab=$(printf '\\t')",
  '  token=$(printf \'%s\\n\' "$tstate" | awk -F"$tab" \'$1 == "token" { print $2 }\')',
  '  twritten=$(printf \'%s\\n\' "$tstate" | awk -F"$tab" \'$1 == "written" { print $2 }\')',
  '  zpool sync "${src%%/*}" >/dev/null 2>&1',
  '  ssnaps=$(zfs list -Hp -t snapshot -o guid,name -s createtxg -d 1 "$src") || fail "cannot list the snapshots of $src"',
  '  if [ "$tstate" = absent ]; then mode=full',
  '  elif [ -n "$token" ] && [ "$token" != - ]; then mode=resume',
  "  else",
  "    decided=$(T=\"$tstate\" S=\"$ssnaps\" awk 'BEGIN {",
  '      n = split(ENVIRON["S"], s, "\\n"); for (i = 1; i <= n; i++) if (s[i] != "") { split(s[i], f, "\\t"); name[f[1]] = f[2]; order[++sn] = f[1] }',
  '      m = split(ENVIRON["T"], t, "\\n"); for (i = 1; i <= m; i++) { split(t[i], f, "\\t"); if (f[1] == "snapshot") { tg[++tn] = f[2]; tname[tn] = f[3]; at[f[2]] = tn } }',
  '      for (i = sn; i >= 1; i--) if (order[i] in at) { common = order[i]; break }',
  '      if (common == "") { printf "none"; for (j = 1; j <= tn; j++) printf " @%s", substr(tname[j], index(tname[j], "@") + 1); print ""; exit }',
  '      print "common\\t" name[common] "\\t" (common == order[sn] ? "newest" : "older")',
  '      for (j = at[common] + 1; j <= tn; j++) if (!(tg[j] in name)) print "diverged\\t@" substr(tname[j], index(tname[j], "@") + 1)',
  "    }')",
  '    case "$decided" in none*) fail "$addr\'s target exists but shares no snapshot with $src (it has:${decided#none}): backplane never overwrites it";; esac',
  '    from=$(printf \'%s\\n\' "$decided" | awk -F"$tab" \'$1 == "common" { print $2 }\')',
  '    newest=$(printf \'%s\\n\' "$decided" | awk -F"$tab" \'$1 == "common" { print $3 }\')',
  '    diverged=$(printf \'%s\\n\' "$decided" | awk -F"$tab" \'$1 == "diverged" { printf " %s", $2 }\')',
  '    [ -z "$diverged" ] || [ "$force" = 1 ] || fail "the target diverged from $src: the newest common snapshot is $from, and only the target has$diverged; not overwritten unless the replication sets allow_rollback_target"',
  '    [ "$twritten" = 0 ] || [ "$force" = 1 ] || fail "the target was modified since the common snapshot $from ($twritten bytes written): not rolled back unless the replication sets allow_rollback_target"',
  // (a target to roll back is not in sync, however idle the source: the operator's plan says the same)
  '    if [ "$newest" = newest ] && [ -z "$diverged" ] && [ "$twritten" = 0 ] && [ "$(zfs get -Hp -o value written "$src")" = 0 ]; then printf \'insync\\t%s\\n\' "$from"; exit 0; fi',
  "    mode=incremental",
  "  fi",
  // source retention as the operator's plan decides it: ours (the prefix and a time, this stack's
  // marker on the snapshot itself, not declared by the stack), all but the newest retain-1 (the new one counts)
  '  marks=$(zfs get -H -o name,value -s local -t snapshot -d 1 backplane:managed "$src") || fail "cannot read the markers of $src\'s snapshots"',
  "  prune=$(printf '%s\\n' \"$ssnaps\" | M=\"$marks\" K=\"$keep\" L=\"$lineage\" P=\"$prefix\" R=\"$retain\" awk -F'\\t' '",
  '    BEGIN { n = split(ENVIRON["M"], m, "\\n"); for (i = 1; i <= n; i++) { split(m[i], f, "\\t"); if (f[2] == ENVIRON["L"]) ours[f[1]] = 1 }',
  '            k = split(ENVIRON["K"], kk, "\\n"); for (i = 1; i <= k; i++) declared[kk[i]] = 1; p = ENVIRON["P"] }',
  '    { x = substr($2, index($2, "@") + 1); if (($2 in ours) && !($2 in declared) && substr(x, 1, length(p)) == p && length(x) == length(p) + 16 && substr(x, length(p) + 1) ~ /^[0-9]+T[0-9]+Z$/) o[++c] = $2 }',
  "    END { for (i = 1; i <= c - (ENVIRON[\"R\"] - 1); i++) print o[i] }')",
  // copies of source snapshots with our names that this stack did not make: the target spares them
  "  spare=$(printf '%s\\n' \"$ssnaps\" | M=\"$marks\" L=\"$lineage\" P=\"$prefix\" awk -F'\\t' '",
  '    BEGIN { n = split(ENVIRON["M"], m, "\\n"); for (i = 1; i <= n; i++) { split(m[i], f, "\\t"); if (f[2] == ENVIRON["L"]) ours[f[1]] = 1 }; p = ENVIRON["P"] }',
  "    { x = substr($2, index($2, \"@\") + 1); if (!($2 in ours) && substr(x, 1, length(p)) == p) print x }')",
  "fi",
  'if [ "$mode" = resume ]; then',
  // the token comes from the target: it may only finish a stream of this dataset, raw when the replication is raw
  '  info=$(zfs send -nvPt "$token" 2>&1) || fail "cannot read the target\'s resume token: $info"',
  "  from=$(printf '%s\\n' \"$info\" | sed -n 's/^[[:space:]]*toname = //p')",
  '  case "$from" in "$src@"?*) ;; *) fail "the target\'s resume token is for \'$from\', not a snapshot of $src: refused (abort the partial receive on the target with: zfs recv -A)";; esac',
  '  if [ "$raw" = 1 ] && ! printf \'%s\\n\' "$info" | grep -q "^[[:space:]]*rawok = "; then fail "the target\'s resume token asks for a stream that is not raw: refused for an encrypted replication (abort the partial receive on the target with: zfs recv -A)"; fi',
  "  printf 'bytes\\t%s\\n' \"$(estimate -t \"$token\")\"",
  '  pipe -t "$token"',
  "  printf 'resumed\\t%s\\n' \"$from\"",
  "  mode=incremental",
  "fi",
  'new="$src@$prefix$(date -u +%Y%m%dT%H%M%SZ)"',
  `zfs snapshot -o "${MANAGED_PROPERTY}=$lineage" "$new" || fail "cannot take $new"`,
  // held before it is sent (zrepl's step hold): a cut transfer's snapshot cannot be pruned away before it resumes
  'zfs hold "$tag" "$new" || fail "cannot hold $new"',
  // -I: snapshots taken by hand in between travel too
  'if [ "$mode" = full ]; then set -- "$new"; else set -- -I "$from" "$new"; fi',
  // a raw stream keeps an encrypted dataset encrypted (and compressed, large blocks) on the wire and on the target
  'if [ "$raw" = 1 ]; then set -- -w "$@"; else set -- -L -c "$@"; fi',
  "printf 'bytes\\t%s\\n' \"$(estimate \"$@\")\"",
  'pipe "$@"',
  'if [ "$bookmark" = 1 ]; then zfs bookmark "$new" "${new%%@*}#${new#*@}" || warn "cannot bookmark $new"; fi',
  "printf 'snapshot\\t%s\\t%s\\n' \"$new\" \"$(zfs get -Hp -o value guid \"$new\")\"",
  // this replication's hold moves to the new snapshot: released wherever else it is (by tag, whatever the names)
  "zfs list -H -o name -t snapshot -d 1 \"$src\" | tr '\\n' '\\0' | xargs -0 -r zfs holds -H | awk -F'\\t' -v t=\"$tag\" -v n=\"$new\" '$2 == t && $1 != n { print $1 }' |",
  '  while IFS= read -r s; do zfs release "$tag" "$s" >/dev/null 2>&1 || warn "cannot release the hold on $s"; done',
  // names hold no newline: one per line; a pruned snapshot's bookmark goes with it
  // each one's marker read once more, alone (a property value cannot forge a line of this read)
  `printf '%s\\n' "$prune" | while IFS= read -r s; do [ -z "$s" ] && continue; [ "$(zfs get -H -o value -s local ${MANAGED_PROPERTY} "$s")" = "$lineage" ] || { warn "kept $s (not marked by this stack)"; continue; }; if zfs destroy "$s" 2>/dev/null; then zfs destroy "\${s%%@*}#\${s#*@}" 2>/dev/null; else warn "kept $s (held or cloned)"; fi; done`,
  // a timer's run prunes the target through the target's own rule (the operator's apply does it from the target host)
  'if [ -n "${spare+x}" ]; then pruned=$(printf \'%s\\n\' "$spare" | rsh prune) || warn "pruning on the target failed"; printf \'%s\\n\' "$pruned" | while IFS= read -r line; do case "$line" in "kept$(printf \'\\t\')"*) warn "kept ${line#*\t} on the target (held or cloned)";; esac; done; fi',
  "exit 0",
].join("\n");

/** On the target host: prunes replication snapshots; one that is held or cloned there is kept and said. */
const PRUNE_TARGET_SCRIPT = 'for s in "$@"; do zfs destroy "$s" 2>/dev/null || printf \'kept\\t%s\\n\' "$s"; done';

/** The scripts as run, for tests that run them under sh with stand-ins for zfs and ssh. */
export const SCRIPTS = { sync: () => SYNC_SCRIPT, transfer: () => TRANSFER_FUNCTIONS.join("\n"), key: () => KEY_SCRIPT, authorize: () => AUTHORIZE_SCRIPT, deauthorize: () => DEAUTHORIZE_SCRIPT, pruneTarget: () => PRUNE_TARGET_SCRIPT };

export interface SyncResult {
  snapshot: string;
  guid: string;
  bytes: number | null;
  resumed: string | null;
  warnings: string[];
}

/**
 * What `zfs send -v -P` says on stderr while it runs: `size <total>` before the stream and
 * `<hh:mm:ss> <bytes sent> <snapshot>` each second. Other lines are the command's errors.
 */
export function sendProgress(line: string): { total: number } | { sent: number } | null {
  const size = /^size\t(\d+)$/.exec(line);
  if (size) return { total: Number(size[1]) };
  const tick = /^\d\d:\d\d:\d\d\t(\d+)\t[^\t]+$/.exec(line);
  return tick ? { sent: Number(tick[1]) } : null;
}

/** The lines `zfs send -v -P` prints about the stream it makes (not errors): left out of a failure's message. */
export function isSendChatter(line: string): boolean {
  return sendProgress(line) !== null || /^(full|incremental)\t/.test(line) || /^resume token contents:|^nvlist version|^\t[a-z_]+ = /.test(line);
}

/** The sync script's report, strictly: every line one of its tags. */
export function parseSyncOutput(stdout: string): SyncResult {
  const r: SyncResult = { snapshot: "", guid: "", bytes: null, resumed: null, warnings: [] };
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    const [tag, ...rest] = line.split("\t");
    if (tag === "bytes" && rest.length === 1) r.bytes = /^\d+$/.test(rest[0]!) ? (r.bytes ?? 0) + Number(rest[0]) : r.bytes;
    else if (tag === "resumed" && rest.length === 1) r.resumed = rest[0]!;
    else if (tag === "snapshot" && rest.length === 2 && /^\d+$/.test(rest[1]!)) [r.snapshot, r.guid] = [rest[0]!, rest[1]!];
    else if (tag === "warning") r.warnings.push(rest.join("\t"));
    else throw new Error(`unexpected line from the replication script: ${JSON.stringify(line)}`);
  }
  if (!r.snapshot) throw new Error("the replication script reported no snapshot");
  return r;
}

/** Whether a snapshot is one this replication took on its source (and prunes there): its dataset, its prefix and a time, this stack's marker. */
export function replicationOwns(config: Record<string, unknown>, lineage: string, s: { dataset: string; snapshot: string; marker?: string | null }): boolean {
  const cfg = configOf(config);
  return s.dataset === cfg.source && s.marker === lineage && isStamped(s.snapshot, cfg.prefix);
}

/**
 * A scheduled replication's timer on the source host: the sync script in mode auto, with
 * everything it needs as positional parameters (the same as `backplane replicate` passes,
 * plus the rules it applies alone: rollback allowed, source retention, declared snapshots).
 */
export function replicationTimer(cfg: Config, o: { id: string; lineage: string; address: string; user: string; live: HostLive; declaredIds: ReadonlySet<string> }): TimerFiles {
  const pool = o.live.pools.get(poolOf(cfg.source));
  const bookmark = !o.live.legacy && (!pool || pool.features.has("bookmarks"));
  const declared = [...o.declaredIds].filter((x) => x.startsWith(`${cfg.source}@`)).sort();
  return timerFiles({
    name: `backplane-replicate-${o.id}`,
    description: "backplane scheduled replication",
    identifier: "backplane-replicate",
    // busy: another transfer of this replication (an operator's) brings the target up; not a failed run
    successExitStatus: 75,
    header: `backplane replication ${o.address} of stack lineage ${o.lineage}: generated by backplane; an edit is drift.\n${cfg.source} → ${cfg.address}:${cfg.target} every ${cfg.every}`,
    args: [cfg.source, cfg.prefix, o.lineage, "auto", "", "", cfg.raw ? "1" : "0", o.id, String(cfg.port), o.user, cfg.address, holdTag(o.id), bookmark ? "1" : "0", "", cfg.force ? "1" : "0", String(cfg.retainSource), declared.join("\n")],
    body: SYNC_SCRIPT,
    onCalendar: onCalendar([{ label: "", period: periodMinutes(cfg.every!), keep: 1 }]),
  });
}

/** The snapshots of one dataset as the replication planner sees them. */
function chainOf(live: HostLive, dataset: string): (ChainSnapshot & { full: string; marker: string | null; userrefs: number })[] {
  return [...live.snapshots.values()].filter((s) => s.dataset === dataset).map((s) => {
    const extra = live.replication?.snapshots.get(s.name);
    return { name: s.snapshot, full: s.name, guid: s.guid, createtxg: s.createtxg, creation: extra?.creation ?? 0, marker: s.marker ?? null, userrefs: extra?.userrefs ?? 0 };
  }).sort((a, b) => (a.createtxg < b.createtxg ? -1 : 1));
}

function idOf(c: Record<string, unknown>): string {
  return `${c.source_dataset as string} → ${c.target_host as string}:${c.target_dataset as string}`;
}

/** What the setup needs from the other host, or why it cannot be planned. */
function targetOf(cfg: Config, ctx: PlanContext): { live: HostLive; config: HostConfig; hostKey: string } | string {
  const other = ctx.otherHost?.(cfg.targetHost);
  if (!other?.config) return `target_host ${cfg.targetHost} is not a host of this stack`;
  if (!other.live) return `target host ${cfg.targetHost} could not be read`;
  if (!other.live.replication) return `target host ${cfg.targetHost} was read without its replication facts`;
  if (!other.config.hostKey) return `the target host ${cfg.targetHost} has no pinned host_key: the source host checks the target's key on the tunnel with it (strict, no trust on first use)`;
  // a key accepted on first use by the operator's machine is not handed on to another host
  if (other.config.hostKeyLearntIn) return `the target host ${cfg.targetHost}'s key was learnt on first use (${other.config.hostKeyLearntIn}), not pinned in the stack: pin host_key for a replication target, the source host trusts it on the tunnel without you`;
  if (cfg.targetHost === ctx.live.host) return "the target host is the source host: replicate to another host";
  return { live: other.live, config: other.config, hostKey: other.config.hostKey };
}

export const replicationKind: ResourceKind = {
  type: REPLICATION,
  id: idOf,
  plan(r, state, ctx): Planned {
    const cfg = configOf(r.config);
    const base = { ...baseChange(r, idOf(r.config)), alsoUses: [cfg.targetHost] };
    // the chain, the holds, the key and its authorisation belong to what was set up: not moved in place
    const moved = state ? (["source_dataset", "target_host", "target_dataset"] as const).filter((k) => state.attributes[k] !== r.config[k]) : [];
    if (moved.length > 0) return { errors: [`${moved.join(", ")} cannot change on an existing replication (was ${moved.map((k) => String(state!.attributes[k])).join(", ")}): its snapshots, holds, key and authorisation belong to the old one; remove this replication (apply), then add the new one under another name`], change: noop(base, "cannot change in place") };
    const target = targetOf(cfg, ctx);
    if (typeof target === "string") return { errors: [target], change: noop(base, "cannot be planned") };
    // zfs recv -o sets them on the target: what its OpenZFS version and pool can take
    const unsupported = capabilityProblems(target.live, poolOf(cfg.target), normalizeProperties(cfg.receive), `receive_properties of ${cfg.target}`, cfg.receive);
    if (unsupported.length > 0) return { errors: unsupported, change: noop(base, "cannot be set on the target") };
    const id = replicationId(ctx.lineage, r.address);
    const known = knownHostsLine(cfg.address, cfg.port, target.hostKey);
    const volume = ctx.live.datasets.get(cfg.source)?.get("type")?.value === "volume" || ctx.declaredVolumes?.has(cfg.source) === true;
    const options = authorizedOptions(targetCommand(cfg, volume));
    const keys = ctx.live.replication?.keys;
    const publicKey = keys?.publicKeys.get(id) ?? null;
    const expectedLine = publicKey ? authorizedLine(options, publicKey, id) : null;
    const missing = [
      ...(publicKey ? [] : [`key missing on ${ctx.live.host}`]),
      ...(keys?.knownHosts.get(id) === known ? [] : [`known_hosts for ${cfg.address} ${keys?.knownHosts.has(id) ? "differs" : "missing"} on ${ctx.live.host}`]),
      ...(expectedLine && target.live.replication!.keys.authorized.get(id) === expectedLine ? [] : [`authorisation ${target.live.replication!.keys.authorized.has(id) ? "differs" : "missing"} on ${cfg.targetHost}`]),
    ];
    // a scheduled replication: the source host's own timer runs the same script (mode auto)
    const timer = cfg.every ? replicationTimer(cfg, { id, lineage: ctx.lineage, address: r.address, user: target.config.user, live: ctx.live, declaredIds: ctx.declaredIds }) : null;
    if (timer) {
      const unavailable = timersUnavailable(ctx.live);
      if (unavailable) return { errors: [`every: ${unavailable}`], change: noop(base, "cannot be scheduled") };
    }
    const timerIssues = timer ? timerProblems(timer, ctx.live.timers!, state?.attributes.files as Record<string, unknown> | undefined) : [];
    const oldUnit = !timer && typeof state?.attributes.unit === "string" ? state.attributes.unit : null;
    const after = {
      ...r.config, key_id: id, public_key: publicKey, last_snapshot: state?.attributes.last_snapshot ?? null, last_guid: state?.attributes.last_guid ?? null,
      ...(timer ? { unit: timer.name, files: Object.fromEntries([...timer.files].map(([p, t]) => [p, sha256(t)])) } : {}),
    };
    if (missing.length === 0 && timerIssues.length === 0 && !oldUnit) return { errors: [], change: noop(base, "up to date", after) };
    const steps: Step[] = [
      ...(missing.length === 0 ? [] : [
        { command: sh(KEY_SCRIPT, id, known), label: "Authorizing the replication key", handOver: { host: cfg.targetHost, command: sh(AUTHORIZE_SCRIPT, id, options) } },
        { command: argv("cat", `${REPLICATION_KEY_DIR}/${id}.pub`), label: "Reading the replication key", captures: "public_key" },
      ]),
      // after the key and its authorisation: the timer's first run needs both
      ...(timer && timerIssues.length > 0 ? [{ command: installTimer(timer), label: `Installing ${timer.name}.timer`, schedule: true }] : []),
      ...(oldUnit ? [{ command: removeTimer(oldUnit), label: `Removing ${oldUnit}.timer`, schedule: true }] : []),
    ];
    const reasons = [...missing, ...(state ? timerIssues : []), ...(oldUnit ? [`every removed: ${oldUnit}.timer is removed (apply and backplane replicate still replicate)`] : [])];
    return {
      errors: [],
      change: {
        ...base, action: state ? "update" : "create", reason: state ? reasons.join("; ") : "does not exist", destructive: false, steps, after,
        attrs: [
          ...(missing.length === 0 ? [] : [
            { name: "key", after: `${REPLICATION_KEY_DIR}/${id} on ${ctx.live.host} (ed25519, made there)` },
            { name: "authorized on", after: `${cfg.targetHost}: ${toShell(forcedCommand(cfg, volume))}${timer ? " (and the state and prune verbs of a scheduled replication)" : ""}` },
          ]),
          ...(timer && timerIssues.length > 0 ? [{ name: "timer", after: `${timer.name}.timer on ${ctx.live.host} (every ${cfg.every}, OnCalendar=${onCalendar([{ label: "", period: periodMinutes(cfg.every!), keep: 1 }])})` }] : []),
          ...(oldUnit ? [{ name: "timer", before: `${oldUnit}.timer` }] : []),
        ],
      },
    };
  },
  planDelete(address, state, ctx): Planned {
    const cfg = configOf(state.attributes);
    const id = replicationId(ctx.lineage, address);
    return {
      errors: [],
      change: {
        ...deleteBase(address, state), alsoUses: [cfg.targetHost], action: "delete", destructive: false, after: null, attrs: [],
        reason: `no longer in the configuration: its key and authorisation are removed; ${cfg.target} on ${cfg.targetHost} and the snapshots stay`,
        steps: [
          // the timer first: a run must not start between the two other steps
          ...(typeof state.attributes.unit === "string" ? [{ command: removeTimer(state.attributes.unit), label: `Removing ${state.attributes.unit}.timer` }] : []),
          { command: sh(DEAUTHORIZE_SCRIPT, id), label: "Removing the replication key's authorisation", on: cfg.targetHost },
          { command: sh(REMOVE_KEY_SCRIPT, id, holdTag(id), cfg.source), label: "Removing the replication key" },
        ],
      },
    };
  },
  drift(address, state, live): Drift[] {
    const [recorded, id] = [state.attributes.public_key, state.attributes.key_id];
    if (typeof recorded !== "string" || typeof id !== "string" || !live.replication) return [];
    // this replication's own key file, not any replication's key with the same text
    const found = live.replication.keys.publicKeys.get(id);
    return [
      ...(found === recorded ? [] : [{ address, host: state.host, id: state.id, property: "replication key", recorded: "present", live: found ? "replaced" : "missing" }]),
      ...timerDrift(address, state.host, state.id, state.attributes, live),
    ];
  },
  importAttributes: () => null,
};

/** 41.9 MB, 512 B: a size for people (SI units, as rates are given). */
export function bytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

/**
 * Replication layouts backplane does not run (yet), refused before anything reaches a host:
 * two replications of one source dataset (both would snapshot, hold and prune one chain),
 * two into one target, a target the stack also declares as a dataset or clone (the first
 * receive creates it), and a source that is itself a replication's target (the target's own
 * snapshots would make it diverge from its source).
 */
export function replicationTopologyProblems(graph: { resources: ReadonlyMap<string, DesiredResource> }): { address: string; host: string; message: string }[] {
  const problems: { address: string; host: string; message: string }[] = [];
  const reps = [...graph.resources.values()].filter((r) => r.type === REPLICATION && r.mode === "resource");
  const key = (host: string, dataset: unknown) => `${host}\u0000${String(dataset)}`;
  // the replication that claimed a source (or target) first; a later one with the same is refused
  const firstBy = (f: (r: DesiredResource) => string) => {
    const first = new Map<string, string>();
    for (const r of reps) if (!first.has(f(r))) first.set(f(r), r.address);
    return (r: DesiredResource) => (first.get(f(r)) === r.address ? undefined : first.get(f(r)));
  };
  const sameSource = firstBy((r) => key(r.host, r.config.source_dataset));
  const sameTarget = firstBy((r) => key(r.config.target_host as string, r.config.target_dataset));
  const targets = new Set(reps.map((r) => key(r.config.target_host as string, r.config.target_dataset)));
  for (const r of reps) {
    const fail = (message: string) => problems.push({ address: r.address, host: r.host, message });
    const s = sameSource(r);
    if (s) fail(`${String(r.config.source_dataset)} on ${r.host} is replicated by ${s} already: one replication per source dataset (two would snapshot, hold and prune the same chain)`);
    const t = sameTarget(r);
    if (t) fail(`${String(r.config.target_dataset)} on ${String(r.config.target_host)} is the target of ${t} already: one replication per target dataset`);
    if (targets.has(key(r.host, r.config.source_dataset))) fail(`${String(r.config.source_dataset)} on ${r.host} is itself a replication target: replicating it onwards is not supported yet (its own snapshots would make it diverge from its source)`);
    const declared = [...graph.resources.values()].find((x) => x.host === r.config.target_host && ["backplane_dataset", "backplane_clone"].includes(x.type) && x.config.name === r.config.target_dataset);
    if (declared) fail(`${String(r.config.target_dataset)} on ${String(r.config.target_host)} is also declared as ${declared.address}: a replication target is created by its first receive and owned by the replication; declare only its parent`);
  }
  return problems;
}

/** "2h 10m", "3d 4h", "45s": how long ago, for people. */
export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (d > 0) return `${d}d ${h % 24}h`;
  if (h > 0) return `${h}h ${m % 60}m`;
  return `${m}m`;
}

export interface SyncInput {
  address: string;
  path: string;
  config: Record<string, unknown>;
  lineage: string;
  source: HostLive;
  target: HostLive;
  targetConfig: HostConfig;
  /** epoch seconds the plan is made at */
  now: number;
  /** snapshots the stack declares on the source host (backplane_snapshot): never pruned by a replication */
  declaredSnapshots: ReadonlySet<string>;
}

/**
 * What the target lacks and the commands that bring it over, or the conflict (with its
 * evidence) that stops it. In sync = the source's newest snapshot is on the target and
 * nothing was written to the source since.
 */
export function planSync(i: SyncInput): { sync: Sync; error: string | null } {
  const cfg = configOf(i.config);
  const id = replicationId(i.lineage, i.address);
  const source = chainOf(i.source, cfg.source);
  const targetExists = i.target.datasets.has(cfg.target) || i.target.replication?.datasets.has(cfg.target) === true;
  const targetRow = i.target.replication?.datasets.get(cfg.target);
  const target = chainOf(i.target, cfg.target);
  const path = incrementalPath(source, { exists: targetExists, snapshots: target, resumeToken: targetRow?.resumeToken ?? null, written: targetRow?.written ?? 0 });
  const base: Sync = {
    address: i.address, path: i.path, sourceHost: i.source.host, targetHost: i.target.host, source: cfg.source, target: cfg.target,
    status: "never replicated", behind: source.length, lagSeconds: null, written: null, send: null, from: null, rollsBack: null, run: null, pruneTarget: null,
  };
  let from: ChainSnapshot | null = null;
  let rollsBack: string[] | null = null;
  if (path.kind === "conflict") {
    const c = path.conflict;
    if (c.type === "no-common" || !cfg.force) return { sync: base, error: describeConflict(c, `${cfg.target} on ${i.target.host}`, `${cfg.source} on ${i.source.host}`) };
    from = c.common;
    rollsBack = c.type === "diverged" ? c.targetOnly.map((s) => `${cfg.target}@${s}`) : [`${c.written} bytes written to ${cfg.target}`];
  } else if (path.kind === "incremental") from = path.from;
  const common = from;
  const behind = common ? source.filter((s) => s.createtxg > common.createtxg).length : source.length;
  const lag = common ? i.now - common.creation : null;
  const sourceWritten = i.source.replication?.datasets.get(cfg.source)?.written ?? 1;
  const status: Sync["status"] = path.kind === "resume" ? "interrupted" : !common ? "never replicated" : behind === 0 && sourceWritten === 0 && !rollsBack ? "in sync" : "behind";
  const sync: Sync = { ...base, status, behind, lagSeconds: lag, rollsBack, written: i.source.replication?.datasets.get(cfg.source)?.written ?? null };
  if (status === "in sync") return { sync, error: null };
  const send = path.kind === "resume" ? "resume" : common ? "incremental" : "full";
  // source retention: our own snapshots (the prefix and a time, marked by this stack, not declared as
  // snapshots of the stack), newest kept; the new one counts
  const owned = (name: string) => isStamped(name, cfg.prefix);
  const ours = source.filter((s) => owned(s.name) && s.marker === i.lineage && !i.declaredSnapshots.has(s.full));
  const pruneSource = ours.slice(0, Math.max(0, ours.length - (cfg.retainSource - 1))).map((s) => s.full);
  // a pool this apply creates is not read yet: an OpenZFS pool has bookmarks unless they were disabled
  const pool = i.source.pools.get(cfg.source.split("/")[0]!);
  const bookmark = !i.source.legacy && (!pool || pool.features.has("bookmarks"));
  const run: Step = {
    label: `Replicating to ${i.target.host}`,
    command: sh(SYNC_SCRIPT, cfg.source, cfg.prefix, i.lineage, send, common ? `${cfg.source}@${common.name}` : "", path.kind === "resume" ? path.token : "",
      cfg.raw ? "1" : "0", id, String(cfg.port), i.targetConfig.user, cfg.address, holdTag(id), bookmark ? "1" : "0", pruneSource.join("\n")),
  };
  // target retention after the run: the new snapshot counts as one of those kept; never a copy of a
  // source snapshot this stack did not make (another stack's, or one made by hand with the prefix)
  const notOurs = new Set(source.filter((s) => s.marker !== i.lineage).map((s) => s.guid));
  const targetOurs = target.filter((s) => owned(s.name) && !notOurs.has(s.guid));
  const pruneTarget = targetOurs.slice(0, Math.max(0, targetOurs.length - (cfg.retainTarget - 1))).map((s) => s.full);
  return {
    sync: { ...sync, send, from: common ? `${cfg.source}@${common.name}` : null, run, pruneTarget: pruneTarget.length ? { label: `Pruning replication snapshots on ${i.target.host}`, command: sh(PRUNE_TARGET_SCRIPT, ...pruneTarget) } : null },
    error: null,
  };
}

/** One line for the plan: where it stands and what apply does. */
export function describeSync(s: Sync): string {
  const where = `${s.sourceHost}:${s.source} → ${s.targetHost}:${s.target}`;
  const state = s.status === "in sync" ? "in sync"
    : s.status === "interrupted" ? "an interrupted transfer"
    : s.status === "never replicated" ? "never replicated"
    : `${[...(s.behind > 0 ? [`${s.behind} snapshot${s.behind === 1 ? "" : "s"} behind`] : []), ...(s.written ? [`${bytes(s.written)} written since the last replicated snapshot`] : [])].join(", ")}${s.lagSeconds !== null ? `${s.behind > 0 || s.written ? ", " : ""}lag ${ago(s.lagSeconds)}` : ""}`;
  const action = s.send === "resume" ? "apply resumes it from the target's resume token, then sends the rest"
    : s.send === "incremental" ? `apply sends an incremental from @${s.from!.slice(s.from!.indexOf("@") + 1)}`
    : s.send === "full" ? "apply sends a full stream" : "";
  return `${where}: ${state}${action ? ` — ${action}` : ""}${s.rollsBack ? `; ROLLS BACK the target (allow_rollback_target), losing ${s.rollsBack.join(", ")}` : ""}`;
}
