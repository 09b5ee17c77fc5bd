/**
 * Plan renderers: human text in Terraform's conventions (colour only when asked: the CLI
 * decides from TTY and NO_COLOR), JSON for machines, Markdown for a pull-request comment.
 */
import { toDisplay } from "../model/argv.js";
import { SYMBOL, summary, hasChanges, pendingSyncs, type Change, type Plan } from "../model/plan.js";
import { describeSync } from "../resources/replication.js";
import { safeMessage } from "../model/echo.js";

/** The summary line's tail: the replications apply transfers data for. */
function replicateCount(plan: Plan): string {
  const n = pendingSyncs(plan).length;
  return n > 0 ? `, ${n} to replicate` : "";
}

/** The JSON format's version (docs/plan-json.md). */
export const PLAN_JSON_FORMAT = "1";

/** The line a plan with hosts not read ends with: what it shows is not all there is. */
function incompleteNote(plan: Plan): string | null {
  const hosts = (plan.hostErrors ?? []).map((h) => h.host);
  if (hosts.length === 0) return null;
  return `This plan is incomplete: ${hosts.join(", ")} could not be read (see above); apply refuses to run until every host is read.`;
}

const ANSI = { green: "\x1b[32m", yellow: "\x1b[33m", red: "\x1b[31m", bold: "\x1b[1m", dim: "\x1b[2m", reset: "\x1b[0m" };
type Paint = (color: keyof typeof ANSI, s: string) => string;

const VERB: Record<Change["action"], string> = {
  create: "will be created",
  update: "will be updated in-place",
  replace: "must be replaced",
  delete: "will be destroyed",
  noop: "",
};

/** What the change does, in words: a dataset that leaves is kept aside, not destroyed. */
function verb(c: Change): string {
  const carries = c.keptAside?.carries.length ? `, carrying along what this stack does not manage: ${c.keptAside.carries.join(", ")}` : "";
  if (c.action === "delete" && c.keptAside) return `will be kept aside at ${c.keptAside.at} (not destroyed${carries})`;
  if (c.action === "delete" && c.movedAsideWith) return `will be moved aside with ${c.movedAsideWith} (not destroyed)`;
  if (c.action === "replace") return `${VERB.replace} (${c.reason})${c.keptAside ? `; the old one is kept aside at ${c.keptAside.at}${carries}` : ""}`;
  return VERB[c.action];
}

function colorOf(c: Change): keyof typeof ANSI {
  return c.action === "create" ? "green" : c.action === "update" ? "yellow" : "red";
}

export function renderHuman(plan: Plan, opts: { color: boolean }): string {
  const paint: Paint = (c, s) => (opts.color ? `${ANSI[c]}${s}${ANSI.reset}` : s);
  const out: string[] = [];
  for (const h of plan.hostErrors ?? []) {
    out.push(paint("red", `Error: host ${h.host} could not be read: ${h.message}`));
    if (h.notPlanned.length > 0) out.push(`  Not planned on ${h.host}: ${h.notPlanned.join(", ")}`);
    out.push("");
  }
  if (plan.drift.length > 0) {
    out.push(paint("bold", "Objects have changed outside of backplane"), "", "backplane detected the following changes made outside of backplane since the last apply:", "");
    for (const d of plan.drift) {
      out.push(`  ${paint("yellow", "~")} ${d.address} on ${d.host}: ${d.id} ${d.property}: recorded ${JSON.stringify(d.recorded)}, live ${JSON.stringify(d.live)}`);
    }
    out.push("");
  }
  if (plan.notManaged.length > 0) {
    out.push("Not managed by this stack (left alone):");
    for (const n of plan.notManaged) out.push(`  ${paint("dim", "?")} ${n.kind} ${n.id} on ${n.host}`);
    out.push("");
  }
  if (plan.errors.length > 0) {
    for (const e of plan.errors) out.push(paint("red", safeMessage(`Error: ${e.address} on ${e.host}: ${e.message}`, 2000)));
    out.push("");
  }
  if ((plan.syncs ?? []).length > 0) {
    out.push(paint("bold", "Replication:"));
    for (const s of plan.syncs!) out.push(`  ${paint(s.run ? (s.rollsBack ? "red" : "yellow") : "dim", s.run ? ">" : "=")} ${s.address}: ${describeSync(s)}`);
    out.push("");
  }
  const leftInPlace = plan.changes.filter((c) => c.action === "noop" && c.note);
  if (leftInPlace.length > 0) {
    out.push(paint("bold", "Left in place:"));
    for (const c of leftInPlace) out.push(`  ${paint("dim", "=")} ${c.address} on ${c.host}: ${c.note}`);
    out.push("");
  }
  const gone = plan.changes.filter((c) => c.action === "noop" && c.removeFromState && !c.note);
  if (gone.length > 0) {
    out.push(paint("bold", "Records dropped from state (the object is already gone from its host):"));
    for (const c of gone) out.push(`  ${paint("dim", "-")} ${c.address}: ${c.id} on ${c.host}`);
    out.push("");
  }
  const changes = plan.changes.filter((c) => c.action !== "noop");
  const incomplete = incompleteNote(plan);
  if (changes.length === 0 && pendingSyncs(plan).length > 0) {
    out.push(`${paint("bold", "Plan:")} 0 to add, 0 to change, 0 to destroy${replicateCount(plan)}.`);
    if (incomplete) out.push(paint("red", incomplete));
    return out.join("\n") + "\n";
  }
  if (changes.length === 0) {
    out.push(plan.refreshOnly ? "Refresh only: no changes are proposed." : incomplete ? "No changes on the hosts that were read." : paint("green", "No changes. Your hosts match the configuration."));
    if (incomplete) out.push(paint("red", incomplete));
    return out.join("\n") + "\n";
  }
  out.push("backplane will perform the following actions:", "");
  for (const c of changes) {
    out.push(`  ${paint("bold", `# ${c.address}`)}${c.path ? ` (${c.path})` : ""} on ${c.host} ${paint(c.action === "replace" || c.action === "delete" ? "red" : "bold", verb(c))}`);
    if (c.keptAside) out.push(`  ${paint("dim", `# restore: zfs rename ${c.keptAside.at} ${c.id}${c.action === "replace" ? " (after moving the new one away)" : ""}; safety snapshot ${c.keptAside.snapshot.slice(c.keptAside.snapshot.indexOf("@"))}`)}`);
    if (c.note) out.push(`  # (${c.note})`);
    out.push(`  ${paint(colorOf(c), SYMBOL[c.action])} ${c.type.replace("backplane_", "")} "${c.id}" {`);
    const width = Math.max(0, ...c.attrs.map((a) => a.name.length));
    for (const a of c.attrs) {
      const name = a.name.padEnd(width);
      const forces = a.forcesReplacement ? paint("red", " # forces replacement") : "";
      if (a.before === undefined) out.push(`      ${paint("green", "+")} ${name} = ${JSON.stringify(a.after ?? "")}${forces}`);
      else if (a.after === undefined) out.push(`      ${paint("red", "-")} ${name} = ${JSON.stringify(a.before)} -> (inherited)${forces}`);
      else out.push(`      ${paint("yellow", "~")} ${name} = ${JSON.stringify(a.before)} -> ${JSON.stringify(a.after)}${forces}`);
    }
    out.push("    }");
    if (c.destructive) out.push(`    ${paint("red", "! destructive: needs --allow-destroy")}`);
    out.push("");
  }
  const s = summary(plan);
  out.push(`${paint("bold", "Plan:")} ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy${replicateCount(plan)}.`);
  if (incomplete) out.push(paint("red", incomplete));
  return out.join("\n") + "\n";
}

/** The documented JSON format (docs/plan-json.md). Commands are shown with secrets masked. */
export function renderJson(plan: Plan): string {
  return JSON.stringify(
    {
      format_version: PLAN_JSON_FORMAT,
      stack: plan.stack,
      lineage: plan.lineage,
      state_serial: plan.stateSerial,
      live_fingerprints: plan.liveFingerprints,
      refresh_only: plan.refreshOnly,
      destroy: plan.destroy === true,
      summary: summary(plan),
      has_changes: hasChanges(plan),
      changes: plan.changes.filter((c) => c.action !== "noop").map((c) => ({
        address: c.address, type: c.type, host: c.host, id: c.id, path: c.path, action: c.action, symbol: SYMBOL[c.action],
        reason: c.reason, destructive: c.destructive,
        attributes: c.attrs.map((a) => ({ name: a.name, before: a.before ?? null, after: a.after ?? null, forces_replacement: a.forcesReplacement === true })),
        commands: c.steps.map((s) => toDisplay(s.command)),
        // a secret handed from this change's host to another: what runs there, fed by the command at `step`
        hand_overs: c.steps.flatMap((s, step) => (s.handOver ? [{ step, host: s.handOver.host, command: toDisplay(s.handOver.command) }] : [])),
        also_uses_hosts: c.alsoUses ?? [],
        kept_aside: c.keptAside ? { at: c.keptAside.at, safety_snapshot: c.keptAside.snapshot, carries: c.keptAside.carries } : null,
        moved_aside_with: c.movedAsideWith ?? null,
      })),
      // what the plan leaves on its host on purpose, and why (a destroy's non-empty or adopted pool)
      left_in_place: plan.changes.filter((c) => c.action === "noop" && c.note).map((c) => ({ address: c.address, type: c.type, host: c.host, id: c.id, note: c.note, record_dropped: c.removeFromState === true })),
      drift: plan.drift,
      not_managed: plan.notManaged,
      replications: (plan.syncs ?? []).map((x) => ({
        address: x.address, source_host: x.sourceHost, source: x.source, target_host: x.targetHost, target: x.target, status: x.status,
        behind: x.behind, lag_seconds: x.lagSeconds, send: x.send, from: x.from, rolls_back: x.rollsBack,
        commands: [...(x.run ? [{ host: x.sourceHost, command: toDisplay(x.run.command) }] : []), ...(x.pruneTarget ? [{ host: x.targetHost, command: toDisplay(x.pruneTarget.command) }] : [])],
      })),
      errors: plan.errors,
      host_errors: (plan.hostErrors ?? []).map((h) => ({ host: h.host, message: h.message, not_planned: h.notPlanned })),
    },
    null,
    2,
  ) + "\n";
}

/**
 * The one JSON document of a plan or drift run that failed before it had a plan (the
 * configuration did not load, the state is locked or unreadable, ...): the error, and no
 * `changes` or `summary`, so that nothing reads "no changes" into a run that did not plan.
 */
export function renderJsonFailure(stack: string | null, message: string): string {
  return JSON.stringify({ format_version: PLAN_JSON_FORMAT, stack, errors: [{ address: null, host: null, message }], host_errors: [] }, null, 2) + "\n";
}

export function renderMarkdown(plan: Plan): string {
  const s = summary(plan);
  const out: string[] = [`### backplane plan: \`${plan.stack}\``, ""];
  const unread = plan.hostErrors ?? [];
  if (unread.length) {
    out.push("**Hosts not read**", "");
    for (const h of unread) out.push(`- :x: \`${h.host}\`: ${h.message}${h.notPlanned.length ? ` — not planned: ${h.notPlanned.map((a) => `\`${a}\``).join(", ")}` : ""}`);
    out.push("");
  }
  if (plan.errors.length) {
    out.push("**Errors**", "");
    for (const e of plan.errors) out.push(safeMessage(`- :x: \`${e.address}\` on \`${e.host}\`: ${e.message}`, 2000));
    out.push("");
  }
  if (plan.drift.length) {
    out.push("**Drift** (changed outside backplane)", "", "| resource | host | object | property | recorded | live |", "|---|---|---|---|---|---|");
    for (const d of plan.drift) out.push(`| \`${d.address}\` | ${d.host} | \`${d.id}\` | ${d.property} | \`${d.recorded}\` | \`${d.live}\` |`);
    out.push("");
  }
  if ((plan.syncs ?? []).length) {
    out.push("**Replication**", "");
    for (const x of plan.syncs!) out.push(`- ${x.run ? (x.rollsBack ? ":warning:" : ":arrow_right:") : ":white_check_mark:"} \`${x.address}\`: ${describeSync(x)}`);
    out.push("");
  }
  const leftInPlace = plan.changes.filter((c) => c.action === "noop" && c.note);
  if (leftInPlace.length) {
    out.push("**Left in place**", "");
    for (const c of leftInPlace) out.push(`- \`${c.address}\` on \`${c.host}\`: ${c.note}`);
    out.push("");
  }
  const changes = plan.changes.filter((c) => c.action !== "noop");
  if (changes.length === 0) out.push(unread.length ? "No changes on the hosts that were read." : "No changes.");
  else {
    out.push("| | resource | host | object | reason |", "|---|---|---|---|---|");
    for (const c of changes) out.push(`| \`${SYMBOL[c.action]}\` | \`${c.address}\` | ${c.host} | \`${c.id}\` | ${c.reason}${c.keptAside ? `; kept aside at \`${c.keptAside.at}\`` : ""}${c.movedAsideWith ? `; moved aside with \`${c.movedAsideWith}\`` : ""}${c.destructive ? " :warning: destructive" : ""} |`);
    out.push("", "<details><summary>attribute changes</summary>", "", "```diff");
    for (const c of changes) {
      out.push(`# ${c.address} (${c.id})`);
      for (const a of c.attrs) out.push(`${a.before === undefined ? "+" : a.after === undefined ? "-" : "!"} ${a.name}: ${a.before ?? ""}${a.before !== undefined && a.after !== undefined ? " -> " : ""}${a.after ?? (a.before !== undefined ? " (inherited)" : "")}`);
    }
    out.push("```", "</details>");
  }
  out.push("", `**Plan:** ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy${replicateCount(plan)}.`, "");
  const incomplete = incompleteNote(plan);
  if (incomplete) out.push(`**${incomplete}**`, "");
  return out.join("\n");
}
