/**
 * The `backplane` command. Thin: parses flags, calls the engine, prints, sets the exit code.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { constants as fsConstants } from "node:fs";
import { dirname, resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { openProject, synth, refreshAll, stacksIn, everyHostRead, DEFAULT_PARALLELISM } from "../engine/project.js";
import { parallelismOption } from "./parallelism.js";
import { closeOpenTransports, closeTransports, transportsFor, workspaceOf, type Workspace } from "./compose.js";
import { installExitCleanup } from "./on-exit.js";
import { cleanupRuntimeDir } from "../transport/ssh.js";
import { makePlan, liveSummary, replanDeferred } from "../engine/plan.js";
import { hostFacts } from "../resources/host-facts.js";
import { renderHuman, renderJson, renderJsonFailure, renderMarkdown } from "../engine/render.js";
import { apply, type ApplyOptions } from "../engine/apply.js";
import { LongRun, interruption, INTERRUPTED_EXIT } from "./long-run.js";
import { hasChanges, hasProblems, PlanRefusedError, type Plan } from "../model/plan.js";
import { ENGINE_KINDS } from "../resources/index.js";
import type { HostLive } from "../model/live.js";
import { sshFingerprint, type Transport } from "../transport/transport.js";
import type { HostConfig } from "../model/desired.js";
import { newState, UNREADABLE_LOCK_ID, type State } from "../model/state.js";
import { parseSavedPlan, savedPlan, savedPlanProblems, StalePlanError } from "../engine/saved-plan.js";
import { planImport } from "../engine/import.js";
import { faultInjection } from "./fault.js";
import { lockWithin } from "../../state/lock-wait.js";
import { DurationError, parseDuration } from "../model/duration.js";
import { registerRestoreCommands } from "./restore-commands.js";
import { registerProbeCommand } from "./probe-command.js";
import { registerStateCommands } from "./state-commands.js";
import { runProbes } from "../engine/probe-run.js";
import { renderProbeJson, renderProbeTable } from "../engine/probe-render.js";
import { probeExitCode, type ProbeReport } from "../model/probe.js";
import { resolveHostTrust } from "./trust.js";
import { hostSaid } from "../model/echo.js";
import { terraformSpellings, type OptionKinds } from "./spellings.js";
import { registerInfoCommands } from "./info-commands.js";

const color = () => process.stdout.isTTY === true && !process.env.NO_COLOR;
const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
const err = (s: string) => {
  try {
    process.stderr.write(s.endsWith("\n") ? s : `${s}\n`);
  } catch {
    // a closed or hung-up stderr: the message has nowhere to go, the run goes on
  }
};

interface Common {
  dir: string;
  stack?: string;
  synth: boolean;
  trustOnFirstUse?: boolean;
}

/**
 * The words that name this project and stack again on a command line, so a message's
 * recovery command (force-unlock) works as pasted: --dir when it is not the current
 * directory (absolute: the command may be run from elsewhere), --stack when it was given.
 */
function scopeOf(o: Common): string[] {
  const dir = resolve(o.dir);
  return [...(dir !== process.cwd() ? ["--dir", dir] : []), ...(o.stack ? ["--stack", o.stack] : [])];
}

/** The stack and its state backend; `connects: false` for commands that reach no host (no host key is settled for them). */
async function project(o: Common, how: { connects?: boolean } = {}): Promise<Workspace> {
  const dir = resolve(o.dir);
  if (o.synth) await synth(dir);
  const loaded = await openProject(dir, o.stack);
  const opened = how.connects === false ? loaded : await resolveHostTrust(loaded, { trustOnFirstUse: o.trustOnFirstUse === true, onNotice: (m) => err(`backplane: ${m}`) });
  const w = workspaceOf(opened, { onNotice: err, scope: scopeOf(o), fault: faultInjection() });
  // once a signal ends the process, nothing more is written to state: the lock is released
  // first, and a batch that ends meanwhile must not record itself under someone else's lock
  const write = w.backend.write.bind(w.backend);
  w.backend.write = async (...a: Parameters<typeof write>) => {
    if (endingOnSignal) throw new Error("not written: the process is ending on a signal (the next plan finds what the change did)");
    return write(...a);
  };
  return w;
}

async function closeAll(ts: Map<string, Transport>) {
  await closeTransports(ts.values());
}

/**
 * -out=FILE is checked before any host is read: a plan that took minutes to make is not
 * then lost to a typo in the folder's name or a read-only file.
 */
async function assertWritable(file: string): Promise<void> {
  if (file === "" || file.endsWith("/")) throw new Error(`-out needs a file name, not ${JSON.stringify(file)}`);
  const target = resolve(file);
  try {
    if ((await stat(target)).isDirectory()) throw new Error(`cannot write the plan to ${file}: it is a directory`);
    await access(target, fsConstants.W_OK);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error((e as Error).message.startsWith("cannot write") ? (e as Error).message : `cannot write the plan to ${file}: ${(e as Error).message}`);
  }
  try {
    await access(dirname(target), fsConstants.W_OK | fsConstants.X_OK);
  } catch (e) {
    throw new Error(`cannot write the plan to ${file}: ${(e as Error).message}`);
  }
}

/** Which long options of the whole command line take a value and which are flags (for terraformSpellings). */
function optionKinds(root: Command): OptionKinds {
  const takesValue = new Set<string>();
  const optionalValue = new Set<string>();
  const flags = new Set<string>();
  const visit = (c: Command) => {
    for (const o of c.options) {
      const name = o.long?.replace(/^--/, "");
      if (name) (o.required ? takesValue : o.optional ? optionalValue : flags).add(name);
    }
    c.commands.forEach(visit);
  };
  visit(root);
  return { takesValue, optionalValue, flags };
}

/**
 * apply() with what a person watching expects (cli/long-run.ts): per-resource progress lines,
 * and Ctrl-C — the first stops starting changes, a second abandons. Null when the run was
 * stopped that way (the exit code is then set: 130, with nothing failed).
 */
async function watchedApply(o: Omit<ApplyOptions, "log" | "stop" | "onProgress">): Promise<Awaited<ReturnType<typeof apply>> | null> {
  const run = new LongRun({ out, err, tty: process.stdout.isTTY === true });
  try {
    return await run.run((watch) => apply({ ...o, log: run.detail, ...watch }));
  } catch (e) {
    if (!interruption(e)) throw e;
    err(`\n${e.message}`);
    process.exitCode = INTERRUPTED_EXIT;
    return null;
  }
}

/** commander: a repeatable option collects its values (Terraform's -replace=A -replace=B). */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** -lock and -lock-timeout, as Terraform spells them, on every command that reads or writes state. */
interface Locking {
  lock: boolean;
  lockTimeout: number;
}

const withLocking = (c: Command) =>
  c.option("--lock [true|false]", "hold the state lock while the command runs (Terraform's -lock=false skips it)", (v: string) => {
    if (v !== "true" && v !== "false") throw new InvalidArgumentError("-lock takes true or false, e.g. -lock=false");
    return v === "true";
  }, true)
    .option("--lock-timeout <duration>", "wait this long for a lock another process holds, e.g. -lock-timeout=30s or 5m (default 0: do not wait)", (v: string) => {
      try {
        return parseDuration(v);
      } catch (e) {
        throw e instanceof DurationError ? new InvalidArgumentError(e.message) : e;
      }
    }, 0);

/**
 * Runs `fn` holding the state lock (unless -lock=false), released however `fn` ends. `fn`
 * returns the exit code instead of calling process.exit, which would skip the release.
 */
async function withStateLock<T>(p: Workspace, o: Locking, operation: string, fn: () => Promise<T>): Promise<T> {
  if (!o.lock) return fn();
  const held = await lockWithin(p.backend, operation, o.lockTimeout, { onWait: err });
  const release = () => p.backend.unlock(held.id);
  heldLocks.add(release);
  try {
    return await fn();
  } finally {
    heldLocks.delete(release);
    await release();
  }
}

/** Locks held right now: a signal releases them (the process writes nothing more) rather than leave them stale. */
const heldLocks = new Set<() => Promise<void>>();

async function releaseHeldLocks(): Promise<void> {
  await Promise.all([...heldLocks].map((r) => r().catch(() => {})));
}

/** The plan of every host that could be read; those that could not are the plan's hostErrors. */
async function planFor(p: Workspace, opts: { refreshOnly?: boolean; targets?: string[]; replace?: string[]; health?: boolean; destroy?: boolean; parallelism?: number }) {
  const state = await p.backend.read();
  const transports = transportsFor(p.graph.hosts.values());
  try {
    const refreshed = await refreshAll(p.graph, transports, opts.parallelism ?? DEFAULT_PARALLELISM, { health: opts.health === true, state });
    const { live, failed } = refreshed;
    const planNow = Math.floor(Date.now() / 1000);
    const plan = makePlan({ stack: p.stack, graph: p.graph, state, live, unread: failed, newLineage: randomUUID(), refreshOnly: opts.refreshOnly, targets: opts.targets, replace: opts.replace, destroy: opts.destroy, now: planNow });
    return { plan, state, transports, live, refreshed, planNow };
  } catch (e) {
    await closeAll(transports);
    throw e;
  }
}

/**
 * In a JSON mode stdout carries exactly one JSON document whatever happens: the plan, or,
 * when the run fails before it has one to print, the error (renderJsonFailure). `print`
 * is how the body prints its document.
 */
async function oneJsonDocument(json: boolean, stack: string | undefined, body: (print: (doc: string) => void) => Promise<void>): Promise<void> {
  let printed = false;
  try {
    await body((doc) => {
      printed = true;
      out(doc);
    });
  } catch (e) {
    if (json && !printed) out(renderJsonFailure(stack ?? null, (e as Error).message));
    throw e;
  }
}

/**
 * Compact live facts kept in a saved plan, to say exactly what changed when it is stale; with
 * the host key each host was checked against (a key learnt on first use is outside the code,
 * so the plan file binds it: a host trusted again with another key makes the plan stale).
 */
function liveSummaries(live: Map<string, HostLive>, hosts: ReadonlyMap<string, HostConfig>): Record<string, Record<string, string>> {
  return Object.fromEntries([...live].map(([h, l]) => {
    const c = hosts.get(h);
    const key = c?.hostKey ? `${sshFingerprint(c.hostKey)}${c.hostKeyLearntIn ? " (learnt on first use)" : ""}` : c?.knownHostsFile ? `known_hosts_file ${c.knownHostsFile}` : "(none)";
    return [h, { ...liveSummary(l), "ssh host key": key }];
  }));
}

/** The operator's answer; "interrupted": Ctrl-C at the prompt (the terminal is in raw mode: it is a key, not a signal). */
async function confirm(plan: Plan, auto: boolean): Promise<boolean | "interrupted"> {
  if (auto) return true;
  if (!process.stdin.isTTY) throw new Error("refusing to apply without confirmation: not a terminal; pass --auto-approve");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const a = await rl.question(`\nDo you want to perform these actions on ${[...new Set(plan.changes.filter((c) => c.action !== "noop").map((c) => c.host))].join(", ")}?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: `);
    return a.trim() === "yes";
  } catch (e) {
    if ((e as { code?: string }).code === "ABORT_ERR") return "interrupted";
    throw e;
  } finally {
    rl.close();
  }
}

const program = new Command("backplane")
  .description("Infrastructure as code for the storage and network back plane: ZFS, WireGuard, replication, probes.")
  .showHelpAfterError();

const withCommon = (c: Command) =>
  c.option("--dir <dir>", "project directory (with cdktf.json)", ".")
    .option("--stack <name>", "stack to use when the app has several")
    .option("--no-synth", "use the existing cdktf.out instead of synthesizing first")
    .option("--trust-on-first-use", "for a host the stack pins no key for: accept the key it presents now, print its fingerprint, record it in .backplane/<stack>.known_hosts and check it strictly afterwards");

program.command("synth").description("run the app of cdktf.json and write cdktf.out/stacks/<stack>/cdk.tf.json")
  .option("--dir <dir>", "project directory", ".")
  .action(async (o: { dir: string }) => {
    const ms = await synth(resolve(o.dir));
    for (const s of await stacksIn(resolve(o.dir))) {
      // loaded (validated) but no backend opened: synth needs no state and no connection string
      const p = await openProject(resolve(o.dir), s);
      out(`stack ${s}: ${p.graph.resources.size} resources on ${p.graph.hosts.size} hosts (${[...p.graph.hosts.keys()].join(", ")})`);
    }
    out(`synth took ${(ms / 1000).toFixed(1)}s`);
  });

withCommon(program.command("graph").description("print the dependency graph (order, dependencies)"))
  .option("--dot", "Graphviz output")
  .action(async (o: Common & { dot?: boolean }) => {
    const p = await project(o, { connects: false });
    if (o.dot) {
      out("digraph backplane {");
      for (const a of p.graph.order) {
        const r = p.graph.resources.get(a)!;
        out(`  "${a}" [label="${r.type}\\n${r.host}: ${String(r.config.name ?? r.config.dataset ?? "")}"];`);
        for (const d of r.dependsOn) out(`  "${a}" -> "${d}";`);
      }
      out("}");
      return;
    }
    for (const [i, a] of p.graph.order.entries()) {
      const r = p.graph.resources.get(a)!;
      out(`${String(i + 1).padStart(3)}. ${a}  [${r.host}] ${r.path}${r.dependsOn.length ? `\n       after ${r.dependsOn.join(", ")}` : ""}`);
    }
  });

withLocking(withCommon(program.command("plan").description("show what apply would change")))
  .option("-o, --out <file>", "save the plan to apply it exactly later (Terraform's -out=FILE works too)")
  .option("--detailed-exitcode", "exit 0 = no changes, 2 = changes, 1 = error")
  .option("--json", "machine-readable output (docs/plan-json.md)")
  .addOption(new Option("--format <format>", "output format").choices(["text", "json", "markdown"]).default("text"))
  .option("--target <address>", "limit to this resource and what it needs (with -destroy: what depends on it); repeat for more", collect, [] as string[])
  .option("--refresh-only", "only report drift")
  .option("--destroy", "plan to remove every resource the state records (the data-safety rules hold: datasets are kept aside, apply needs --allow-destroy)")
  .option("--replace <address>", "replace this resource although nothing changed (a WireGuard interface: a new key); repeat for more", collect, [] as string[])
  .addOption(parallelismOption())
  .action(async (o: Common & Locking & { out?: string; detailedExitcode?: boolean; json?: boolean; format: string; target?: string[]; refreshOnly?: boolean; replace?: string[]; destroy?: boolean; parallelism?: number }) => {
    const format = o.json ? "json" : o.format;
    await oneJsonDocument(format === "json", o.stack, async (print) => {
      if (o.out !== undefined) await assertWritable(o.out);
      if (o.destroy && (o.refreshOnly || o.replace?.length)) throw new Error("-destroy cannot be combined with -refresh-only or -replace");
      const p = await project(o);
      process.exitCode = await withStateLock(p, o, "plan", async () => {
        const { plan, transports, live } = await planFor(p, { refreshOnly: o.refreshOnly, targets: o.target, replace: o.replace, destroy: o.destroy, parallelism: o.parallelism });
        await closeAll(transports);
        print(format === "json" ? renderJson(plan) : format === "markdown" ? renderMarkdown(plan) : renderHuman(plan, { color: color() }));
        if (hasProblems(plan)) return 1;
        if (o.out) {
          const options = { targets: o.target, replace: o.replace, refreshOnly: o.refreshOnly, destroy: o.destroy };
          await writeFile(o.out, JSON.stringify(savedPlan({ stack: p.stack, configHash: p.configHash, options, plan, live: liveSummaries(live, p.graph.hosts) }), null, 2) + "\n", { mode: 0o600 });
          // in JSON mode stdout holds the document only
          (format === "json" ? err : out)(`Saved the plan to ${o.out}. Apply exactly this plan with: backplane apply ${o.out}`);
        }
        return o.detailedExitcode && hasChanges(plan) ? 2 : 0;
      });
    });
  });

withLocking(withCommon(program.command("apply").description("apply the changes (or a plan saved with plan -out); `backplane destroy` is apply -destroy")))
  .argument("[planfile]", "a plan saved with plan -out")
  .option("--auto-approve", "do not ask for confirmation")
  .option("--input <true|false>", "-input=false: never ask (without -auto-approve the apply is refused instead of prompting)", (v: string) => {
    if (v !== "true" && v !== "false") throw new InvalidArgumentError("-input takes true or false, e.g. -input=false");
    return v === "true";
  }, true)
  .option("--allow-destroy", "allow destroying and replacing objects")
  .option("--destroy", "remove every resource the state records (needs --allow-destroy for what it destroys; pools still holding data stay)")
  .option("--target <address>", "limit to this resource and what it needs (with -destroy: what depends on it); repeat for more", collect, [] as string[])
  .option("--refresh-only", "only accept what was read: record drift, change nothing on the hosts")
  .addOption(parallelismOption("hosts read and worked on at once"))
  .option("--replication-parallelism <n>", "replication transfers at once per source host", "2")
  .option("--replace <address>", "replace this resource although nothing changed (a WireGuard interface: a new key); repeat for more", collect, [] as string[])
  .action(async (planfile: string | undefined, o: Common & Locking & { autoApprove?: boolean; input: boolean; allowDestroy?: boolean; destroy?: boolean; target?: string[]; refreshOnly?: boolean; parallelism?: number; replicationParallelism: string; replace?: string[] }) => {
    if (planfile && (o.destroy || o.target?.length || o.refreshOnly)) throw new Error("-destroy, -target and -refresh-only belong to the plan: make a new plan with them and -out, then apply it");
    if (o.destroy && (o.refreshOnly || o.replace?.length)) throw new Error("-destroy cannot be combined with -refresh-only or -replace");
    if (!o.input && !o.autoApprove && !planfile) throw new Error("refusing to apply: -input=false and no -auto-approve (nothing may ask for approval)");
    const parallelism = o.parallelism ?? DEFAULT_PARALLELISM;
    const p = await project(planfile ? { ...o, synth: false } : o);
    await withStateLock(p, o, "apply", async () => {
      let plan: Plan;
      let transports: Map<string, Transport>;
      let live: Map<string, HostLive>;
      const state = await p.backend.read();
      if (planfile && o.replace?.length) throw new Error("--replace belongs to the plan: make a new plan with --replace and -out, then apply it");
      if (planfile && o.trustOnFirstUse) throw new Error("--trust-on-first-use cannot be combined with a saved plan: a plan applies to the hosts it was made against (trust them with plan --trust-on-first-use)");
      if (planfile) {
        // Re-derive the plan from the same inputs and run that: the file's commands are for review.
        const saved = parseSavedPlan(await readFile(planfile, "utf8"), planfile);
        transports = transportsFor(p.graph.hosts.values());
        // a saved plan is compared with every host as it is now: all must be read
        live = everyHostRead(await refreshAll(p.graph, transports, parallelism, { state }));
        const { targets, replace, refreshOnly, destroy } = saved.options;
        const fresh = makePlan({ targets, replace, refreshOnly, destroy, stack: p.stack, graph: p.graph, state, live, newLineage: saved.lineage });
        const problems = savedPlanProblems(saved, { stack: p.stack, state, configHash: p.configHash, fresh, live: liveSummaries(live, p.graph.hosts) });
        if (problems.length > 0) {
          await closeAll(transports);
          throw new StalePlanError(problems);
        }
        const flags = [...(targets ?? []).map((t) => `--target ${t}`), ...(replace ?? []).map((r) => `--replace ${r}`), ...(refreshOnly ? ["--refresh-only"] : []), ...(destroy ? ["--destroy"] : [])];
        if (flags.length > 0) out(`The saved plan was made with ${flags.join(" ")}.`);
        plan = fresh;
      } else {
        const r = await planFor(p, { replace: o.replace, targets: o.target, refreshOnly: o.refreshOnly, destroy: o.destroy, parallelism });
        plan = r.plan;
        transports = r.transports;
        live = r.live;
      }
      out(renderHuman(plan, { color: color() }));
      if (hasProblems(plan)) throw new PlanRefusedError(plan.errors, plan.hostErrors);
      if (!hasChanges(plan)) {
        await apply({ plan, state, backend: p.backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 1, log: out });
        await closeAll(transports);
        return;
      }
      // A saved plan was reviewed when it was made: applying it needs no second approval (as in Terraform).
      const approved = await confirm(plan, o.autoApprove === true || planfile !== undefined);
      if (approved !== true) {
        out("Apply cancelled.");
        await closeAll(transports);
        process.exitCode = approved === "interrupted" ? 130 : 1;
        return;
      }
      const t0 = Date.now();
      const preventDestroy = new Set([...p.graph.resources.values()].filter((r) => r.preventDestroy).map((r) => r.address));
      try {
        const replan = (address: string, st: State) =>
          replanDeferred(p.graph, address, st, live, st.serial + 1);
        const r = await watchedApply({ plan, state, backend: p.backend, transports, allowDestroy: o.allowDestroy === true, preventDestroy, parallelism, replicationParallelism: Number(o.replicationParallelism), replan, fault: faultInjection() });
        if (r === null) return;
        const s = plan.changes.filter((c) => c.action !== "noop");
        out(`\nApply complete! Resources: ${s.filter((c) => c.action === "create").length} added, ${s.filter((c) => c.action === "update").length} changed, ${s.filter((c) => c.action === "delete").length} destroyed, ${s.filter((c) => c.action === "replace").length} replaced${r.replicated.some((x) => x.result) ? `; ${r.replicated.filter((x) => x.result).length} replicated` : ""}${r.replicated.some((x) => x.busy) ? `; ${r.replicated.filter((x) => x.busy).length} left to a transfer already running` : ""}. (${((Date.now() - t0) / 1000).toFixed(1)}s; SSH round trips incl. refresh: ${[...transports].map(([h, t]) => `${h} ${t.roundTrips}`).join(", ")}; ${r.roundTrips} for the changes)`);
      } finally {
        await closeAll(transports);
      }
    });
  });

withLocking(withCommon(program.command("replicate").description("run only the replication transfers (what a timer or a CI schedule calls), with apply's safety rules")))
  .argument("[address...]", "replications to run (default: every replication of the stack)")
  .option("--replication-parallelism <n>", "replication transfers at once per source host", "2")
  .addOption(parallelismOption())
  .action(async (addresses: string[], o: Common & Locking & { replicationParallelism: string; parallelism?: number }) => {
    const p = await project(o);
    await withStateLock(p, o, "replicate", async () => {
      const all = [...p.graph.resources.values()].filter((r) => r.type === "backplane_replication").map((r) => r.address);
      const unknown = addresses.filter((a) => !all.includes(a));
      if (unknown.length) throw new Error(`not a replication of this stack: ${unknown.join(", ")} (replications: ${all.join(", ") || "none"})`);
      const wanted = new Set(addresses.length ? addresses : all);
      const { plan, state, transports } = await planFor(p, { parallelism: o.parallelism });
      try {
        // a replication whose only change is its timer is set up: its transfers run (apply repairs the timer)
        const notSetUp = plan.changes.filter((c) => wanted.has(c.address) && c.action !== "noop" && !(c.action === "update" && c.steps.every((s) => s.schedule)));
        const errors = plan.errors.filter((e) => wanted.has(e.address));
        const unread = (plan.hostErrors ?? []).filter((h) => h.notPlanned.some((a) => wanted.has(a)));
        if (errors.length || unread.length) throw new PlanRefusedError(errors, unread);
        if (notSetUp.length) throw new Error(`not set up yet: ${notSetUp.map((c) => `${c.address} (${c.reason})`).join(", ")}; run backplane apply first`);
        const syncs = (plan.syncs ?? []).filter((x) => wanted.has(x.address));
        const only: Plan = { ...plan, changes: plan.changes.filter((c) => c.action === "noop"), syncs };
        out(renderHuman({ ...only, drift: [], notManaged: [] }, { color: color() }));
        const t0 = Date.now();
        const r = await watchedApply({ plan: only, state, backend: p.backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 1, replicationParallelism: Number(o.replicationParallelism) });
        if (r === null) return;
        const [sent, busy] = [r.replicated.filter((x) => x.result).length, r.replicated.filter((x) => x.busy).length];
        out(`\nReplication complete: ${sent} replicated, ${busy ? `${busy} left to a transfer already running, ` : ""}${syncs.length - r.replicated.length} already in sync (${((Date.now() - t0) / 1000).toFixed(1)}s).`);
      } finally {
        await closeAll(transports);
      }
    });
  });

withLocking(withCommon(program.command("drift").description("CI check: exit 0 when hosts match the code, 2 when they drifted or changes are pending, 1 on error")))
  .addOption(new Option("--format <format>", "report format").choices(["text", "json", "markdown"]).default("markdown"))
  .option("--probes", "also evaluate the stack's probes (from the same read of each host); a failing probe counts as drift (exit 2)")
  .addOption(parallelismOption())
  .action(async (o: Common & Locking & { format: string; probes?: boolean; parallelism?: number }) => {
    await oneJsonDocument(o.format === "json", o.stack, async (print) => {
      const p = await project(o);
      process.exitCode = await withStateLock(p, o, "drift", async () => {
        const { plan, transports, state, refreshed, planNow } = await planFor(p, { health: o.probes === true, parallelism: o.parallelism });
        let probes: ProbeReport | null = null;
        try {
          if (o.probes) probes = await runProbes(p.graph, transports, state, p.stack, { refreshed, plan, planNow });
        } finally {
          await closeAll(transports);
        }
        if (o.format === "json") {
          print(probes ? JSON.stringify({ ...JSON.parse(renderJson(plan)), probes: JSON.parse(renderProbeJson(probes)) }, null, 2) : renderJson(plan));
        } else {
          const text = o.format === "markdown" ? renderMarkdown(plan) : renderHuman(plan, { color: color() });
          print(probes ? `${text}\n${o.format === "markdown" ? "### Probes\n\n```\n" : "Probes:\n"}${renderProbeTable(probes)}${o.format === "markdown" ? "```\n" : ""}` : text);
        }
        if (hasProblems(plan) || (probes && probeExitCode(probes) === 1)) return 1;
        return plan.drift.length > 0 || hasChanges(plan) || (probes && probeExitCode(probes) === 2) ? 2 : 0;
      });
    });
  });

withLocking(withCommon(program.command("import").description("adopt an existing pool, dataset, snapshot, clone or WireGuard interface into state")))
  .argument("<address>", "resource address in the stack, e.g. backplane_dataset.prod_media_resource_1234")
  .argument("<id>", "the object's name on the host, e.g. tank/media")
  .option("--force-takeover", "take the object over from the stack whose marker it carries")
  .action(async (address: string, id: string, o: Common & Locking & { forceTakeover?: boolean }) => {
    const p = await project(o);
    const r = p.graph.resources.get(address);
    if (!r) throw new Error(`${address} is not in stack ${p.stack} (see backplane graph)`);
    const kind = ENGINE_KINDS.get(r.type);
    if (!kind) throw new Error(`${r.type} cannot be imported yet`);
    if (kind.id(r.config) !== id) throw new Error(`${address} is configured as ${kind.id(r.config)}, not ${id}`);
    await withStateLock(p, o, "import", async () => {
      const transports = transportsFor([p.graph.hosts.get(r.host)!]);
      try {
        const stored = await p.backend.read();
        const state = stored ?? newState();
        if (state.resources[address]) throw new Error(`${address} is already in state (as ${state.resources[address]!.id})`);
        const live = everyHostRead(await refreshAll(p.graph, transports));
        const recordedAs = Object.entries(state.resources).find(([, x]) => x.host === r.host && x.id === id);
        if (recordedAs) throw new Error(`${id} on ${r.host} is already recorded as ${recordedAs[0]}; to move the record, run: backplane state rm ${recordedAs[0]} first`);
        const decided = planImport({ type: r.type, id, host: r.host, lineage: state.lineage, live: live.get(r.host)!, forceTakeover: o.forceTakeover === true, config: r.config });
        if (decided.takesOverFrom) out(`Taking ${id} over from the stack with lineage ${decided.takesOverFrom} (--force-takeover): that stack no longer manages it.`);
        let expected = stored?.serial ?? null;
        // A new stack's state (its lineage) is saved before the marker reaches the host: killed
        // in between, the object carries a lineage that the next run knows as its own.
        if (expected === null && decided.marker) {
          state.serial = 1;
          await p.backend.write(state, null);
          expected = 1;
        }
        // Mark it ours, so backplane may later change or (with --allow-destroy) remove it.
        if (decided.marker) {
          const res = await transports.get(r.host)!.run(decided.marker);
          if (res.exitCode !== 0) throw new Error(`marking ${id} as managed failed: ${hostSaid(res.stderr)}`);
        }
        state.resources[address] = { type: r.type, host: r.host, id, attributes: decided.attributes, dependencies: [...r.dependsOn].sort() };
        state.serial = (expected ?? 0) + 1;
        await p.backend.write(state, expected);
        out(`Import successful: ${address} is ${id} on ${r.host}.`);
      } finally {
        await closeAll(transports);
      }
    });
  });

withCommon(program.command("facts").description("what each host is and can do: OpenZFS version, kernel, WireGuard implementation, pool features"))
  .option("--json", "machine-readable output")
  .addOption(parallelismOption())
  .action(async (o: Common & { json?: boolean; parallelism?: number }) => {
    const p = await project(o);
    const transports = transportsFor(p.graph.hosts.values());
    try {
      const live = everyHostRead(await refreshAll(p.graph, transports, o.parallelism));
      // the backplane_host data source's attributes, plus what only a person needs
      const facts = Object.fromEntries([...live].map(([h, l]) => [h, {
        ...hostFacts(l), zfs_note: l.zfs.userland ? null : l.zfs.raw, legacy: l.legacy,
        pool_health: Object.fromEntries([...l.pools].map(([n, pool]) => [n, pool.row.health])),
        wireguard_interfaces: [...l.wg.interfaces.keys()],
      }]));
      if (o.json) out(JSON.stringify(facts, null, 2));
      else for (const [h, f] of Object.entries(facts)) {
        out(`${h}: ${f.zfs_version ? `OpenZFS ${f.zfs_version}` : `non-OpenZFS ZFS (${f.zfs_note})`}, kernel ${f.kernel}, WireGuard ${f.wireguard}`);
        for (const [n, health] of Object.entries(f.pool_health)) out(`  pool ${n}: ${health}, ${f.pool_features[n]!.split(",").filter(Boolean).length} features enabled`);
      }
    } finally {
      await closeAll(transports);
    }
  });

registerRestoreCommands(program, { withCommon, withLocking, project, withStateLock });
registerProbeCommand(program, { withCommon, withLocking, project, withStateLock });

registerStateCommands(program, { withCommon, withLocking, project, withStateLock });
registerInfoCommands(program, { withCommon, project });

withCommon(program.command("force-unlock").description("remove a lock left by a process that died"))
  .argument("<id>", `the lock ID shown in the lock error; '${UNREADABLE_LOCK_ID}' removes a lock file that cannot be read (empty or garbage)`)
  .action(async (id: string, o: Common) => {
    const p = await project({ ...o, synth: false }, { connects: false });
    await p.backend.forceUnlock(id);
    out(id === UNREADABLE_LOCK_ID ? "The unreadable lock file was removed." : `Lock ${id} removed.`);
  });

// Terraform's spellings (-out=FILE, -auto-approve, -no-color, -version, ...) as commander's.
const spelled = terraformSpellings(process.argv.slice(2), optionKinds(program));
if (spelled.noColor) process.env.NO_COLOR = "1";
const args = [...process.argv.slice(0, 2), ...spelled.args];

let endingOnSignal = false;
installExitCleanup({ closeOpen: async () => { /* the lock first: closing the masters ends the sessions a command waits on, and its own cleanup would race the exit */ endingOnSignal = true; await releaseHeldLocks(); await closeOpenTransports(); }, removeRuntime: cleanupRuntimeDir });

// `backplane show | head`: a reader that stops early is not an error of ours, and it changes
// nothing of the run — the command goes on to its end and its exit code (drift's 2 stays 2)
// The same for stderr, and for a terminal that hung up (EIO): the run ends as it would have,
// releasing its lock, rather than die on a write nobody can read.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "EIO") throw e;
  });
}

/**
 * A JSON mode (-json, --format json) keeps stdout one JSON document whatever happens: a run
 * that fails before printing its own (a flag refused, a stack that does not load, a host
 * error in `version --hosts -json`, ...) prints an error object there, so a pipeline never
 * reads an empty stdout as "nothing to report".
 */
const jsonMode = args.some((a, i) => a === "--json" || a === "--format=json" || (a === "--format" && args[i + 1] === "json"));
let stdoutUsed = false;
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = ((...a: Parameters<typeof writeStdout>) => {
  stdoutUsed = true;
  return writeStdout(...a);
}) as typeof process.stdout.write;
const jsonError = (message: string) => {
  // the shape plan and drift print for a run that failed before it had a plan (docs/plan-json.md)
  if (jsonMode && !stdoutUsed) writeStdout(renderJsonFailure(null, message));
};

// commander's own refusals (an unknown flag, a missing argument) come here too, rather than exit on their own
const overrideExits = (c: Command): void => {
  c.exitOverride();
  c.commands.forEach(overrideExits);
};
overrideExits(program);

program.parseAsync(args).catch(async (e: Error) => {
  if (e instanceof CommanderError) {
    // help and version displays are not failures; commander has already printed its message
    if (e.exitCode === 0) process.exit(0);
    jsonError(e.message.replace(/^error: /, ""));
    process.exit(e.exitCode);
  }
  err(`Error: ${e.message}`);
  jsonError(e.message);
  // the ssh masters of a command that failed half way are closed before the folder goes
  await closeOpenTransports();
  process.exit(1);
});
