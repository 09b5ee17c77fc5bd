/**
 * Saved plans (`plan -out FILE`, `apply FILE`). Pure.
 *
 * A plan file is bound to what it was made from: the stack, the state's lineage and serial,
 * a hash of the synthesized configuration, and a summary of everything read from each host.
 * Applying it re-derives the plan from the same inputs and runs the *re-derived* changes —
 * the commands stored in the file are for review only, so an edited file cannot make the
 * apply run anything the planner would not. Any difference refuses the apply, saying which.
 */
import { createHash } from "node:crypto";
import { toDisplay } from "../model/argv.js";
import type { Change, Plan } from "../model/plan.js";
import type { State } from "../model/state.js";

export const PLAN_FORMAT = "backplane-plan/2";

export interface PlanOptions {
  targets?: string[];
  replace?: string[];
  refreshOnly?: boolean;
  /** plan -destroy */
  destroy?: boolean;
}

export interface SavedPlan {
  format: typeof PLAN_FORMAT;
  stack: string;
  /** the lineage the plan applies to (for a stack without state: the one it will create) */
  lineage: string;
  stateSerial: number | null;
  /** sha256 of the synthesized cdk.tf.json the plan was made from */
  configHash: string;
  /** the flags the plan was made with: the apply re-derives it with the same */
  options: PlanOptions;
  plan: Plan;
  /** per host, what was read (see liveSummary): says exactly what changed when it is stale */
  live: Record<string, Record<string, string>>;
}

export function configHash(cdkTfJson: string): string {
  return createHash("sha256").update(cdkTfJson).digest("hex");
}

export function savedPlan(o: { stack: string; configHash: string; options: PlanOptions; plan: Plan; live: Record<string, Record<string, string>> }): SavedPlan {
  return { format: PLAN_FORMAT, stack: o.stack, lineage: o.plan.lineage, stateSerial: o.plan.stateSerial, configHash: o.configHash, options: o.options, plan: o.plan, live: o.live };
}

export class StalePlanError extends Error {
  constructor(readonly reasons: string[]) {
    super(`saved plan is stale: ${reasons.join("\n  and: ")}\nrun plan again`);
    this.name = "StalePlanError";
  }
}

/** Only the four flags a plan is made with, each of its own type: nothing else from a file reaches the planner. */
function optionsFrom(o: unknown, file: string): PlanOptions {
  if (o === undefined) return {};
  const bad = () => new StalePlanError([`${file}: options may hold only targets, replace (lists of addresses), refreshOnly and destroy (true/false)`]);
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw bad();
  const out: PlanOptions = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    if ((k === "targets" || k === "replace") && Array.isArray(v) && v.every((x) => typeof x === "string")) out[k] = [...v];
    else if ((k === "refreshOnly" || k === "destroy") && typeof v === "boolean") out[k] = v;
    else throw bad();
  }
  return out;
}

/** Reads a plan file's JSON, refusing anything that is not a plan of this format. */
export function parseSavedPlan(text: string, file: string): SavedPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StalePlanError([`${file} is not JSON`]);
  }
  const d = doc as Partial<SavedPlan>;
  if (typeof d !== "object" || d === null || d.format !== PLAN_FORMAT) throw new StalePlanError([`${file} is not a backplane plan of format ${PLAN_FORMAT}`]);
  if (typeof d.stack !== "string" || typeof d.lineage !== "string" || typeof d.configHash !== "string" || typeof d.plan !== "object" || typeof d.live !== "object") {
    throw new StalePlanError([`${file} lacks stack, lineage, configuration hash, plan or live summary`]);
  }
  const bad = planShapeProblem(d.plan);
  if (bad) throw new StalePlanError([`${file}: its plan is not one backplane wrote (${bad})`]);
  return { ...(d as SavedPlan), options: optionsFrom(d.options, file) };
}

const ACTIONS = new Set(["create", "update", "replace", "delete", "noop"]);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The shape of a plan, as far as rendering it needs (`show PLANFILE`): the lists are lists and
 * every change names itself with strings and a known action. Applying never runs the file's
 * plan (it is made again and compared), so this guards the review, not the hosts.
 */
function planShapeProblem(plan: unknown): string | null {
  if (!isObj(plan)) return "no plan object";
  for (const k of ["changes", "drift", "errors", "notManaged"]) if (!Array.isArray(plan[k])) return `${k} is not a list`;
  if (plan.hostErrors !== undefined && !Array.isArray(plan.hostErrors)) return "hostErrors is not a list";
  if (plan.syncs !== undefined && !Array.isArray(plan.syncs)) return "syncs is not a list";
  for (const [i, c] of (plan.changes as unknown[]).entries()) {
    if (!isObj(c)) return `change ${i} is not an object`;
    for (const k of ["address", "type", "host", "id", "reason"]) if (typeof c[k] !== "string") return `change ${i}: ${k} is not a string`;
    if (!ACTIONS.has(c.action as string)) return `change ${i}: unknown action`;
    if (!Array.isArray(c.attrs) || !Array.isArray(c.steps)) return `change ${i}: attrs or steps is not a list`;
    if (!(c.steps as unknown[]).every((st) => isObj(st) && Array.isArray(st.command))) return `change ${i}: a step has no command`;
  }
  for (const k of ["drift", "errors", "notManaged"]) if (!(plan[k] as unknown[]).every(isObj)) return `${k} holds something that is not an object`;
  return null;
}

/** What a reviewer approved of a change: everything that decides what runs. */
function reviewed(c: Change): string {
  return JSON.stringify([c.address, c.type, c.host, c.id, c.action, c.destructive, c.deferred === true, c.dependsOn, c.alsoUses ?? [], c.attrs,
    c.steps.map((s) => [toDisplay(s.command), s.captures ?? null, s.handOver ? [s.handOver.host, toDisplay(s.handOver.command)] : null]), c.keptAside ?? null, c.movedAsideWith ?? null]);
}

/** Every reason the saved plan does not match what it would be made from now; empty when it does. */
export function savedPlanProblems(saved: SavedPlan, now: { stack: string; state: State | null; configHash: string; fresh: Plan; live: Record<string, Record<string, string>> }): string[] {
  const problems: string[] = [];
  if (saved.stack !== now.stack) problems.push(`it was made for stack '${saved.stack}', not '${now.stack}'`);
  if (now.state && now.state.lineage !== saved.lineage) problems.push(`it was made for state lineage ${saved.lineage}; the state is lineage ${now.state.lineage} (another stack's state, or recreated)`);
  // without state the file names the lineage the apply will create: it must be its own plan's
  if (saved.plan.lineage !== saved.lineage) problems.push("the plan file's lineage differs from its own plan's");
  if ((now.state?.serial ?? null) !== saved.stateSerial) problems.push(`state serial is ${now.state?.serial ?? "none"}, the plan was made at ${saved.stateSerial ?? "none"}`);
  if (saved.configHash !== now.configHash) problems.push("the configuration (cdk.tf.json) changed since the plan was made");
  for (const h of new Set([...Object.keys(saved.live), ...Object.keys(now.live)])) {
    const a = saved.live[h] ?? {}, b = now.live[h] ?? {};
    const diffs = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
    if (diffs.length === 0) continue;
    const shown = diffs.slice(0, 20).map((k) => `${h}: ${k}: ${a[k] ?? "(absent)"} -> ${b[k] ?? "(absent)"}`);
    problems.push(`${h} changed since it was made:\n      ${shown.join("\n      ")}${diffs.length > 20 ? `\n      ... and ${diffs.length - 20} more` : ""}`);
  }
  if (problems.length > 0) return problems;
  // Same inputs: the planner must make the same changes. A difference means the file was edited.
  const want = new Map(now.fresh.changes.map((c) => [c.address, reviewed(c)]));
  const have = new Map(saved.plan.changes.map((c) => [c.address, reviewed(c)]));
  for (const a of new Set([...want.keys(), ...have.keys()])) {
    if (want.get(a) !== have.get(a)) problems.push(`${a}: the plan file's change differs from what the planner makes from the same inputs (was the file edited?)`);
  }
  return problems;
}
