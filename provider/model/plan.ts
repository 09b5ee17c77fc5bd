/**
 * The plan as data. The action *is* its symbol (Terraform's idea); reasons are separate
 * from actions. Renderers (human, JSON, Markdown) read only this.
 */
import type { Argv } from "./argv.js";
import type { UnreadHost } from "./live.js";

export type Action = "create" | "update" | "replace" | "delete" | "noop";

export const KNOWN_AFTER_APPLY = "(known after apply)";

export const SYMBOL: Record<Action, string> = { create: "+", update: "~", replace: "-/+", delete: "-", noop: " " };

export interface AttrChange {
  name: string;
  before?: string;
  /** undefined after = removed (inherited again); "(known after apply)" for unknowns */
  after?: string;
  forcesReplacement?: boolean;
}

export interface Step {
  /** the command, argv quoted at the edge */
  command: Argv;
  /** what the step does, for progress lines */
  label: string;
  /** record the command's trimmed stdout as this computed attribute (a generated public key) */
  captures?: string;
  /**
   * A secret made by this step is handed to another host: the command's stdout goes,
   * through a kernel pipe this process never reads, to `command` on `host`; that command
   * prints "ok" once it holds the secret, and only then does this step's command use it.
   */
  handOver?: { host: string; command: Argv };
  /** runs on this other host (one of the change's `alsoUses`), in its own round trip */
  on?: string;
  /** installs or removes a timer: the change is set up without it (`backplane replicate` may go on) */
  schedule?: boolean;
}

export interface Change {
  address: string;
  type: string;
  host: string;
  /** the object's name on the host */
  id: string;
  path: string;
  action: Action;
  reason: string;
  attrs: AttrChange[];
  /** loses data: needs --allow-destroy */
  destructive: boolean;
  /** commands, in order; empty for noop */
  steps: Step[];
  /** what state records for the resource once the steps succeed (null: remove from state) */
  after: Record<string, unknown> | null;
  dependsOn: string[];
  /** depends on values known only after apply: its steps are made when those are known */
  deferred?: boolean;
  /** other hosts whose sessions this change uses (a hand-over); they run nothing else meanwhile */
  alsoUses?: string[];
  /**
   * a dataset removed or replaced is moved to `at` with a recursive safety `snapshot`, not
   * destroyed; `carries` names what moves along that this stack does not manage
   */
  keptAside?: { at: string; snapshot: string; carries: string[] };
  /** a removed dataset that moves (no steps of its own) with its ancestor's keep-aside */
  movedAsideWith?: string;
  /** a noop whose object is gone from the host: apply drops its record from state */
  removeFromState?: boolean;
  /** said under the change's heading in the plan text: what it does not do (a timer removed, its snapshots staying) */
  note?: string;
}

export interface Drift {
  address: string;
  host: string;
  id: string;
  property: string;
  recorded: string | null;
  live: string | null;
}

export interface PlanError {
  address: string;
  host: string;
  message: string;
}

/** A host that could not be read: nothing of it is planned, and apply refuses the plan. */
export interface HostError extends UnreadHost {
  /** the addresses on that host that were not planned because of it */
  notPlanned: string[];
}

export interface NotManaged {
  host: string;
  kind: "pool" | "dataset" | "snapshot";
  id: string;
}

/**
 * A replication's data transfer, planned from both hosts' snapshots (matched by GUID): what
 * the target lacks and what apply sends. Runs after the changes, each replication on its
 * own, so one that fails does not stop the others.
 */
export interface Sync {
  address: string;
  path: string;
  sourceHost: string;
  targetHost: string;
  source: string;
  target: string;
  status: "in sync" | "behind" | "never replicated" | "interrupted";
  /** source snapshots newer than the newest common one */
  behind: number;
  /** seconds from the newest common snapshot's creation to the plan (null: none in common) */
  lagSeconds: number | null;
  /** bytes written to the source since its newest snapshot (null: not known, e.g. not created yet) */
  written: number | null;
  /** what apply sends (null: nothing, in sync) */
  send: "full" | "incremental" | "resume" | null;
  /** the snapshot an incremental starts from */
  from: string | null;
  /** `zfs recv -F`: the target diverged and the stack allows rolling it back; lists what it loses */
  rollsBack: string[] | null;
  /** on the source host: snapshot, send | ssh target zfs recv, hold, bookmark, prune */
  run: Step | null;
  /** on the target host once the run succeeded: the replication snapshots past retention */
  pruneTarget: Step | null;
}

export interface Plan {
  stack: string;
  lineage: string;
  stateSerial: number | null;
  /** sha256 per host of the live facts the plan was made from */
  liveFingerprints: Record<string, string>;
  changes: Change[];
  drift: Drift[];
  errors: PlanError[];
  /**
   * hosts that could not be read; the plan holds the changes of the others only (absent, as
   * in a plan made before this field existed: every host was read)
   */
  hostErrors?: HostError[];
  notManaged: NotManaged[];
  refreshOnly: boolean;
  /** a plan -destroy (absent: not one) */
  destroy?: boolean;
  /** replications and what apply transfers (absent: the stack has none) */
  syncs?: Sync[];
}

export function summary(plan: Plan): { add: number; change: number; destroy: number } {
  let add = 0, change = 0, destroy = 0;
  for (const c of plan.changes) {
    if (c.action === "create") add++;
    else if (c.action === "update") change++;
    else if (c.action === "delete") destroy++;
    else if (c.action === "replace") { add++; destroy++; }
  }
  return { add, change, destroy };
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== "noop") || pendingSyncs(plan).length > 0;
}

/** The replications apply transfers data for. */
export function pendingSyncs(plan: Plan): Sync[] {
  return (plan.syncs ?? []).filter((s) => s.run !== null);
}

/** An error in the plan or a host not read: such a plan is shown, never applied. */
export function hasProblems(plan: Plan): boolean {
  return plan.errors.length > 0 || (plan.hostErrors ?? []).length > 0;
}

export class PlanRefusedError extends Error {
  constructor(readonly errors: PlanError[], readonly hostErrors: HostError[] = []) {
    const n = errors.length + hostErrors.length;
    super(
      `the plan has ${n} error${n === 1 ? "" : "s"}:\n` +
        [...hostErrors.map((h) => `  - ${h.host}: could not be read: ${h.message}`), ...errors.map((e) => `  - ${e.address} on ${e.host}: ${e.message}`)].join("\n"),
    );
    this.name = "PlanRefusedError";
  }
}
