/**
 * The commands Terraform users reach for to look, not to change: `version`, `validate`
 * (what a pre-commit hook runs: load and check, no host), `show` (a saved plan, or the
 * state) and `output` (the values the stack exports with TerraformOutput).
 */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Workspace } from "./compose.js";
import { closeTransports, transportsFor } from "./compose.js";
import { openProject, refreshAll, stacksIn, synth } from "../engine/project.js";
import { parallelismOption } from "./parallelism.js";
import { configurationProblems } from "../engine/plan.js";
import { LoadError } from "../engine/load.js";
import { parseSavedPlan } from "../engine/saved-plan.js";
import { renderHuman, renderJson } from "../engine/render.js";
import { outputValues, outputsJson, renderOutputs } from "../engine/outputs.js";
import { hostFacts } from "../resources/host-facts.js";
import { safeMessage } from "../model/echo.js";
import { versionFacts, versionText } from "./version.js";

const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

/** Every string of a parsed file with its control characters (escape sequences) made visible as `?`. */
function printable<T>(v: T): T {
  const clean = (x: unknown): unknown =>
    typeof x === "string" ? x.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?")
      : Array.isArray(x) ? x.map(clean)
        : typeof x === "object" && x !== null ? Object.fromEntries(Object.entries(x).map(([k, y]) => [clean(k) as string, clean(y)]))
          : x;
  return clean(v) as T;
}
const color = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

interface Common { dir: string; stack?: string; synth: boolean; trustOnFirstUse?: boolean }

export interface InfoKit {
  withCommon(c: Command): Command;
  project(o: Common, how?: { connects?: boolean }): Promise<Workspace>;
}

/** One problem of validate's report: Terraform's diagnostic shape. */
interface Diagnostic { severity: "error"; summary: string; stack: string | null }

export function registerInfoCommands(program: Command, kit: InfoKit): void {
  kit.withCommon(program.command("version").description("backplane's version and node's; with --hosts, each host's OpenZFS, kernel and WireGuard"))
    .option("--hosts", "also read each host of the stack (one round trip each)")
    .option("--json", "machine-readable output")
    .addOption(parallelismOption())
    .action(async (o: Common & { hosts?: boolean; json?: boolean; parallelism?: number }) => {
      const v = versionFacts();
      if (!o.hosts) return out(o.json ? JSON.stringify(v, null, 2) : versionText(v));
      const p = await kit.project(o);
      const transports = transportsFor(p.graph.hosts.values());
      try {
        const { live, failed } = await refreshAll(p.graph, transports, o.parallelism);
        type HostVersions = { error: string } | { zfs_version: string | null; zfs_kmod: string | null; kernel: string; wireguard: string };
        const hosts: Record<string, HostVersions> = Object.fromEntries([...p.graph.hosts.keys()].map((h): [string, HostVersions] => {
          const l = live.get(h);
          if (!l) return [h, { error: failed.find((f) => f.host === h)?.message ?? "not read" }];
          const f = hostFacts(l);
          return [h, { zfs_version: f.zfs_version || null, zfs_kmod: f.zfs_kmod || null, kernel: f.kernel, wireguard: f.wireguard }];
        }));
        if (failed.length) process.exitCode = 1;
        if (o.json) return out(JSON.stringify({ ...v, hosts }, null, 2));
        out(versionText(v));
        for (const [h, f] of Object.entries(hosts)) {
          out(safeMessage("error" in f ? `+ host ${h}: not read: ${f.error}` : `+ host ${h}: OpenZFS ${f.zfs_version ?? "(not OpenZFS)"}${f.zfs_kmod && f.zfs_kmod !== f.zfs_version ? ` (module ${f.zfs_kmod})` : ""}, kernel ${f.kernel}, WireGuard ${f.wireguard}`, 2000));
        }
      } finally {
        await closeTransports(transports.values());
      }
    });

  program.command("validate").description("synthesize and check the configuration of every stack; reads no host and no state (a pre-commit hook)")
    .option("--dir <dir>", "project directory (with cdktf.json)", ".")
    .option("--stack <name>", "only this stack")
    .option("--no-synth", "check the existing synthesized output instead of synthesizing first")
    .option("--json", "machine-readable output (Terraform's validate -json shape)")
    .action(async (o: { dir: string; stack?: string; synth: boolean; json?: boolean }) => {
      const dir = resolve(o.dir);
      const diagnostics: Diagnostic[] = [];
      const checked: string[] = [];
      try {
        if (o.synth) await synth(dir);
        const stacks = o.stack ? [o.stack] : await stacksIn(dir);
        if (stacks.length === 0) diagnostics.push({ severity: "error", summary: "no synthesized stacks: the app wrote none", stack: null });
        for (const stack of stacks) {
          try {
            const { graph } = await openProject(dir, stack);
            for (const e of configurationProblems(graph)) diagnostics.push({ severity: "error", summary: `${e.address} on ${e.host}: ${e.message}`, stack });
            checked.push(stack);
          } catch (e) {
            if (e instanceof LoadError) for (const p of e.problems) diagnostics.push({ severity: "error", summary: p, stack });
            else diagnostics.push({ severity: "error", summary: (e as Error).message, stack });
          }
        }
      } catch (e) {
        diagnostics.push({ severity: "error", summary: (e as Error).message, stack: null });
      }
      const valid = diagnostics.length === 0;
      if (o.json) out(JSON.stringify({ format_version: "1.0", valid, error_count: diagnostics.length, warning_count: 0, stacks: checked, diagnostics }, null, 2));
      else if (valid) out(`Success! The configuration is valid (${checked.map((s) => `stack ${s}`).join(", ")}).`);
      else {
        for (const d of diagnostics) out(safeMessage(`Error: ${d.stack ? `stack ${d.stack}: ` : ""}${d.summary}`, 4000));
        out(`\n${diagnostics.length} error${diagnostics.length === 1 ? "" : "s"}: the configuration is not valid.`);
      }
      process.exitCode = valid ? 0 : 1;
    });

  kit.withCommon(program.command("show").description("show a plan saved with plan -out, or (without a file) what the state records"))
    .argument("[planfile]", "a plan saved with plan -out")
    .option("--json", "machine-readable output")
    .action(async (planfile: string | undefined, o: Common & { json?: boolean }) => {
      if (planfile) {
        // a saved plan is shown as it was made: no stack, state or host is read
        // a plan file travels (a CI artefact): what it says reaches the terminal without its control characters
        const saved = printable(parseSavedPlan(await readFile(planfile, "utf8"), planfile));
        if (o.json) return out(renderJson(saved.plan));
        const flags = Object.entries(saved.options).filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`);
        out(`Saved plan for stack ${saved.stack} (state serial ${saved.stateSerial ?? "none"}${flags.length ? `; ${flags.join("; ")}` : ""}).\n`);
        return out(renderHuman(saved.plan, { color: color() }));
      }
      const p = await kit.project({ ...o, synth: false }, { connects: false });
      const state = await p.backend.read();
      if (o.json) return out(JSON.stringify({ stack: p.stack, state, outputs: Object.fromEntries(outputValues(p.graph.outputs ?? new Map(), state, p.graph.resources).map((v) => [v.name, v])) }, null, 2));
      if (!state || Object.keys(state.resources).length === 0) return out(`The state of stack ${p.stack} is empty: nothing has been applied.`);
      out(`# stack ${p.stack}: state serial ${state.serial}, lineage ${state.lineage}\n`);
      for (const [address, r] of Object.entries(state.resources).sort(([a], [b]) => (a < b ? -1 : 1))) {
        out(`# ${address}: ${r.type.replace("backplane_", "")} "${r.id}" on ${r.host}`);
        const attrs = Object.entries(r.attributes);
        const width = Math.max(0, ...attrs.map(([k]) => k.length));
        for (const [k, v] of attrs) out(`    ${k.padEnd(width)} = ${JSON.stringify(v)}`);
        if (r.dependencies?.length) out(`    ${"(after)".padEnd(width)}   ${r.dependencies.join(", ")}`);
        out("");
      }
      const values = outputValues(p.graph.outputs ?? new Map(), state, p.graph.resources);
      if (values.length) out(`Outputs:\n\n${renderOutputs(values)}`);
    });

  // as Terraform's output reads what was applied, this reads the synthesized stack as it is (--synth runs the app first)
  program.command("output").description("the values the stack exports (TerraformOutput), from what state recorded")
    .argument("[name]", "one output (a sensitive one is shown only when named)")
    .option("--dir <dir>", "project directory (with cdktf.json)", ".")
    .option("--stack <name>", "stack to use when the app has several")
    .option("--synth", "run the app first (default: the stack as last synthesized)")
    .option("--no-synth", "(the default; accepted for symmetry with the other commands)")
    .option("--json", "machine-readable output")
    .option("--raw", "the named output's value alone, as plain text (a string, number or boolean)")
    .action(async (name: string | undefined, o: Common & { json?: boolean; raw?: boolean }) => {
      const p = await kit.project({ ...o, synth: o.synth === true }, { connects: false });
      const all = outputValues(p.graph.outputs ?? new Map(), await p.backend.read(), p.graph.resources);
      if (name === undefined) {
        if (o.raw) throw new Error("-raw needs the name of one output");
        if (o.json) return out(outputsJson(all));
        if (all.length === 0) return out(`Stack ${p.stack} declares no outputs (TerraformOutput).`);
        return out(renderOutputs(all));
      }
      const one = all.find((v) => v.name === name);
      if (!one) throw new Error(`stack ${p.stack} has no output ${JSON.stringify(name)}${all.length ? ` (outputs: ${all.map((v) => v.name).join(", ")})` : ""}`);
      if (o.json) return out(JSON.stringify(one.value, null, 2));
      if (!one.known) throw new Error(`output ${name} is not known yet: it is known after apply`);
      if (o.raw) {
        if (typeof one.value === "object" && one.value !== null) throw new Error(`-raw prints only a string, number or boolean; ${name} is ${Array.isArray(one.value) ? "a list" : "a map"}: use -json`);
        return void process.stdout.write(String(one.value));
      }
      out(JSON.stringify(one.value, null, 2));
    });
}
