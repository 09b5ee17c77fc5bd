/**
 * backplane_snapshot_policy: sanoid-style snapshots taken and pruned by the host itself, on
 * a systemd timer backplane installs (provider/systemd/timers.ts). Pure.
 *
 * The host runs a generated POSIX sh script: the policy's values as its positional
 * parameters (quoted by the one quoting function), then a fixed body. Each run takes the
 * snapshot of every bucket whose current period has none yet (`zfs snapshot [-r] -o
 * backplane:managed=<lineage>`), then prunes each bucket to its count, per dataset of the
 * tree. It prunes only snapshots named `<prefix><label>-<slot>` that carry this stack's
 * marker set on the snapshot itself (a hand-made one with the same name does not), never a
 * held one (a replication's base is held), and says so for one it cannot destroy (a clone's
 * origin). It logs each snapshot and prune with its time to the journal; a run that cannot
 * snapshot exits non-zero (the service's failed state is drift and fails the
 * snapshot_freshness probe).
 */
import { createHash } from "node:crypto";
import type { DesiredResource } from "../model/desired.js";
import type { Drift } from "../model/plan.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import { bucketsOf, describeBuckets, isStamped, onCalendar, specOf, type ScheduleConfig } from "../zfs/snapshot-schedule.js";
import { installTimer, removeTimer, sha256, timerDrift, timerFiles, timerProblems, timersUnavailable, type TimerFiles } from "../systemd/timers.js";
import { baseChange, deleteBase, noop, type Planned, type PlanContext, type ResourceKind } from "./kind.js";

export const SNAPSHOT_POLICY = "backplane_snapshot_policy";
export const DEFAULT_POLICY_PREFIX = "bp-auto-";

const SNAPSHOT_BODY = [
  "set -u",
  "ds=$1 rec=$2 prefix=$3 lineage=$4 spec=$5",
  // milliseconds where date has %N (GNU), else whole seconds
  'ms() { t=$(date +%s%3N); case $t in *N) echo $(( $(date +%s) * 1000 ));; *) echo "$t";; esac; }',
  'zfs list -H -o name "$ds" >/dev/null 2>&1 || { echo "cannot snapshot $ds: it does not exist" >&2; exit 1; }',
  'if [ "$rec" = 1 ]; then r=-r; else r=; fi',
  "now=$(date -u +%s)",
  "failed=0",
  "while read -r label period keep; do",
  '  [ -n "$label" ] || continue',
  "  case $period in",
  '    month) stamp=$(date -u -d "@$now" +%Y%m01T000000Z) ;;',
  // weeks start on Monday: 1970-01-05 was one (345600 s after the epoch)
  '    10080) stamp=$(date -u -d "@$(( (now - 345600) / 604800 * 604800 + 345600 ))" +%Y%m%dT%H%M%SZ) ;;',
  '    *) s=$((period * 60)); stamp=$(date -u -d "@$(( now / s * s ))" +%Y%m%dT%H%M%SZ) ;;',
  "  esac",
  '  snap="$ds@$prefix$label-$stamp"',
  '  zfs list -H -o name -t snapshot "$snap" >/dev/null 2>&1 && continue',
  "  t0=$(ms)",
  `  if zfs snapshot $r -o "${MANAGED_PROPERTY}=$lineage" "$snap"; then echo "took $snap\${r:+ and its descendants} in $(( $(ms) - t0 )) ms"; else echo "cannot take $snap" >&2; failed=1; fi`,
  "done <<EOF",
  "$spec",
  "EOF",
  "t0=$(ms)",
  'if [ "$rec" = 1 ]; then depth=-r; else depth="-d 1"; fi',
  // the marker set on the snapshot itself (a snapshot inherits its dataset's user properties)
  `marks=$(zfs get -H -o name,value -s local -t snapshot $depth ${MANAGED_PROPERTY} "$ds") || { echo "cannot read the snapshots of $ds" >&2; exit 1; }`,
  'list=$(zfs list -Hp -t snapshot -o name,userrefs -s createtxg $depth "$ds") || { echo "cannot list the snapshots of $ds" >&2; exit 1; }',
  // per dataset and bucket, oldest first: all but the newest <keep> go, held ones stay
  "verdicts=$(printf '%s\\n' \"$list\" | MARKS=\"$marks\" SPEC=\"$spec\" LINEAGE=\"$lineage\" PREFIX=\"$prefix\" awk -F'\\t' '",
  "  BEGIN {",
  '    n = split(ENVIRON["MARKS"], m, "\\n"); for (i = 1; i <= n; i++) { split(m[i], f, "\\t"); if (f[2] == ENVIRON["LINEAGE"]) ours[f[1]] = 1 }',
  '    k = split(ENVIRON["SPEC"], sp, "\\n"); for (i = 1; i <= k; i++) { split(sp[i], g, " "); if (g[1] != "") keep[g[1]] = g[3] + 0 }',
  '    p = ENVIRON["PREFIX"]',
  "  }",
  "  NF == 2 && ($1 in ours) {",
  '    at = index($1, "@"); d = substr($1, 1, at - 1); s = substr($1, at + 1)',
  "    if (substr(s, 1, length(p)) != p) next",
  "    rest = substr(s, length(p) + 1)",
  "    for (l in keep) if (substr(rest, 1, length(l) + 1) == l \"-\" && length(rest) == length(l) + 17 && substr(rest, length(l) + 2) ~ /^[0-9]+T[0-9]+Z$/) { key = d SUBSEP l; c[key]++; nm[key, c[key]] = $1; rf[key, c[key]] = $2 }",
  "  }",
  "  END {",
  "    for (key in c) { split(key, kl, SUBSEP); for (i = 1; i <= c[key] - keep[kl[2]]; i++) print (rf[key, i] > 0 ? \"held\" : \"destroy\") \"\\t\" nm[key, i] }",
  "  }')",
  "pruned=0",
  "while IFS='\t' read -r verdict snap; do",
  '  [ -n "$snap" ] || continue',
  '  if [ "$verdict" = held ]; then echo "kept $snap: held ($(zfs holds -H "$snap" | cut -f 2 | tr \'\\n\' \' \'))"; continue; fi',
  // the marker once more, of this snapshot alone: a value cannot forge a line of this read
  `  [ "$(zfs get -H -o value -s local ${MANAGED_PROPERTY} "$snap")" = "$lineage" ] || { echo "kept $snap: not marked by this stack"; continue; }`,
  '  if zfs destroy "$snap"; then pruned=$((pruned + 1)); else echo "kept $snap: zfs destroy refused it (a clone\'s origin?)"; fi',
  "done <<EOF",
  "$verdicts",
  "EOF",
  'echo "pruned $pruned snapshot(s) of $ds in $(( $(ms) - t0 )) ms"',
  'exit "$failed"',
].join("\n");

interface PolicyConfig extends ScheduleConfig {
  dataset: string;
  recursive: boolean;
  prefix: string;
}

function configOf(c: Record<string, unknown>): PolicyConfig {
  return { ...(c as ScheduleConfig), dataset: c.dataset as string, recursive: c.recursive === true, prefix: (c.snapshot_prefix as string | undefined) ?? DEFAULT_POLICY_PREFIX };
}

/** The policy's unit name: backplane-snapshot-<id>, the id from the stack's lineage and the address. */
export function policyUnitName(lineage: string, address: string): string {
  return `backplane-snapshot-${createHash("sha256").update(`${lineage}\0${address}`).digest("hex").slice(0, 16)}`;
}

/** The script, service and timer that run this policy on its host. */
export function policyFiles(lineage: string, address: string, config: Record<string, unknown>): TimerFiles {
  const cfg = configOf(config);
  const buckets = bucketsOf(cfg);
  return timerFiles({
    name: policyUnitName(lineage, address),
    description: "backplane snapshot policy",
    identifier: "backplane-snapshot",
    header: [`backplane snapshot policy ${address} of stack lineage ${lineage}: generated by backplane; an edit is drift.`, `${cfg.dataset}${cfg.recursive ? " and its descendants" : ""}: ${describeBuckets(buckets)}`].join("\n"),
    args: [cfg.dataset, cfg.recursive ? "1" : "0", cfg.prefix, lineage, specOf(buckets)],
    body: SNAPSHOT_BODY,
    onCalendar: onCalendar(buckets),
  });
}

/** Whether a snapshot is one this policy took (and may prune): its dataset (or tree), a bucket's name, this stack's marker. */
export function policyOwns(config: Record<string, unknown>, lineage: string, s: { dataset: string; snapshot: string; marker?: string | null }): boolean {
  const cfg = configOf(config);
  const inTree = s.dataset === cfg.dataset || (cfg.recursive && s.dataset.startsWith(`${cfg.dataset}/`));
  return inTree && s.marker === lineage && bucketsOf(cfg).some((b) => isStamped(s.snapshot, `${cfg.prefix}${b.label}-`));
}

/**
 * Schedules backplane does not run, refused before anything reaches a host: two policies of
 * one host whose trees overlap with the same prefix (the one with fewer kept would prune the
 * other's snapshots, and their `zfs snapshot -r` would race for one name), and a policy on or
 * above a replication target (its snapshots would make the target diverge).
 */
export function scheduleTopologyProblems(graph: { resources: ReadonlyMap<string, DesiredResource> }): { address: string; host: string; message: string }[] {
  const problems: { address: string; host: string; message: string }[] = [];
  const policies = [...graph.resources.values()].filter((r) => r.type === SNAPSHOT_POLICY && r.mode === "resource");
  const covers = (p: DesiredResource, dataset: string) => {
    const c = configOf(p.config);
    return dataset === c.dataset || (c.recursive && dataset.startsWith(`${c.dataset}/`));
  };
  policies.forEach((a, i) => {
    for (const b of policies.slice(0, i)) {
      const [ca, cb] = [configOf(a.config), configOf(b.config)];
      if (a.host !== b.host || ca.prefix !== cb.prefix || !(covers(a, cb.dataset) || covers(b, ca.dataset))) continue;
      problems.push({ address: a.address, host: a.host, message: `${ca.dataset}${ca.recursive ? " and its descendants" : ""} overlaps ${b.address} (${cb.dataset}${cb.recursive ? " and its descendants" : ""}) with the same snapshot_prefix '${ca.prefix}': one would prune the other's snapshots; give one another prefix, or one policy for the tree` });
    }
  });
  for (const r of graph.resources.values()) {
    if (r.type !== "backplane_replication" || r.mode !== "resource") continue;
    const [host, target] = [String(r.config.target_host), String(r.config.target_dataset)];
    for (const p of policies) {
      if (p.host === host && (covers(p, target) || target === configOf(p.config).dataset)) problems.push({ address: p.address, host, message: `it would snapshot ${target}, the target of ${r.address}: a replication target takes only what it receives (its own snapshots make it diverge); snapshot the source instead` });
    }
  }
  return problems;
}

/** What state records: the unit and each file's sha256 (drift needs them once the code is gone). */
function recorded(files: TimerFiles): Record<string, unknown> {
  return { unit: files.name, files: Object.fromEntries([...files.files].map(([p, t]) => [p, sha256(t)])) };
}

export const snapshotPolicyKind: ResourceKind = {
  type: SNAPSHOT_POLICY,
  id: (c) => `${c.dataset as string} snapshot policy`,
  plan(r, state, ctx: PlanContext): Planned {
    const base = baseChange(r, `${r.config.dataset as string} snapshot policy`);
    const unavailable = timersUnavailable(ctx.live);
    if (unavailable) return { errors: [unavailable], change: noop(base, "cannot be planned") };
    const files = policyFiles(ctx.lineage, r.address, r.config);
    const cfg = configOf(r.config);
    const after = { ...r.config, ...recorded(files) };
    const problems = timerProblems(files, ctx.live.timers!, state?.attributes.files as Record<string, unknown> | undefined);
    if (problems.length === 0) return { errors: [], change: noop(base, "up to date", after) };
    const schedule = describeBuckets(bucketsOf(cfg));
    return {
      errors: [],
      change: {
        ...base,
        action: state ? "update" : "create",
        reason: state ? problems.join("; ") : "does not exist",
        destructive: false,
        steps: [{ command: installTimer(files), label: `Installing ${files.name}.timer` }],
        after,
        attrs: [
          { name: "timer", after: `${files.name}.timer (OnCalendar=${onCalendar(bucketsOf(cfg))})` },
          { name: "snapshots", after: `${cfg.dataset}${cfg.recursive ? " and its descendants" : ""}@${cfg.prefix}<label>-<UTC period start>: ${schedule}` },
        ],
      },
    };
  },
  planDelete(address, state): Planned {
    const unit = state.attributes.unit as string;
    const prefix = (state.attributes.snapshot_prefix as string | undefined) ?? DEFAULT_POLICY_PREFIX;
    return {
      errors: [],
      change: {
        ...deleteBase(address, state),
        action: "delete",
        destructive: false,
        after: null,
        attrs: [],
        reason: `no longer in the configuration: ${unit}.timer and its script are removed; the snapshots it took (${state.attributes.dataset as string}@${prefix}…) stay`,
        note: `${unit}.timer and its script are removed; the snapshots it took (${state.attributes.dataset as string}@${prefix}…) stay`,
        steps: [{ command: removeTimer(unit), label: `Removing ${unit}.timer` }],
      },
    };
  },
  drift(address, state, live): Drift[] {
    return timerDrift(address, state.host, state.id, state.attributes, live);
  },
  importAttributes: () => null,
};
