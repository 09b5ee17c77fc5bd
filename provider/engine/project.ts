/**
 * The I/O around the pure engine: synthesize the app of cdktf.json, read cdk.tf.json,
 * refresh hosts in parallel through the transports it is handed. Which transport and which
 * state backend is the composition root's choice (provider/cli/compose.ts), not this module's.
 */
import { execa } from "execa";
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadStack, type DesiredGraph } from "./load.js";
import { configHash } from "./saved-plan.js";
import { refreshHost } from "./live.js";
import type { HostLive, UnreadHost } from "../model/live.js";
import type { Transport } from "../transport/transport.js";
import { hasTimers, userPropertiesOf } from "../resources/index.js";
import type { State } from "../model/state.js";
import { SynthError } from "./synth-error.js";
import { debugSettings } from "../model/debug-log.js";

/** A synthesized stack, loaded and validated. */
export interface Project {
  dir: string;
  stack: string;
  graph: DesiredGraph;
  /** sha256 of the cdk.tf.json it was loaded from (saved plans are bound to it) */
  configHash: string;
}

/** Runs the app of cdktf.json; a failure is a SynthError (engine/synth-error.ts), `verbose` with the app's whole output (default: the debug log's switch). */
export async function synth(dir: string, log: (l: string) => void = () => {}, opts: { verbose?: boolean } = {}): Promise<number> {
  const cfg = await projectConfig(dir);
  if (typeof cfg.app !== "string" || cfg.app === "") throw new Error(`${join(dir, "cdktf.json")} has no "app" to run`);
  const t0 = Date.now();
  const outdir = await outputDirOf(dir);
  // The app command is the operator's own configuration, run as cdktf runs it: through a shell.
  const r = await execa(cfg.app, { cwd: dir, shell: true, reject: false, all: true, env: { CDKTF_OUTDIR: outdir, CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1" } });
  // the app's own error first; its stack trace and the rest of its output with BACKPLANE_LOG=debug
  if (r.exitCode !== 0) throw new SynthError(cfg.app, r.exitCode, String(r.all ?? ""), opts.verbose ?? debugSettings(process.env).on);
  log(`synthesized ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return Date.now() - t0;
}

/** cdktf.json, read: a project's app and output folder. */
async function projectConfig(dir: string): Promise<{ app?: unknown; output?: unknown }> {
  const file = join(dir, "cdktf.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new Error(`${dir} has no cdktf.json`);
  }
  try {
    const cfg = JSON.parse(text) as unknown;
    if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) throw new Error("not a JSON object");
    return cfg as { app?: unknown; output?: unknown };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** Where the app writes its stacks: cdktf.json's `output` (relative to the project, or absolute; cdktf's default cdktf.out). */
export async function outputDirOf(dir: string): Promise<string> {
  // a folder that holds only synthesized output (a CI job planning an artefact) has no cdktf.json
  if (!existsSync(join(dir, "cdktf.json"))) return resolve(dir, "cdktf.out");
  const { output } = await projectConfig(dir);
  if (output !== undefined && (typeof output !== "string" || output === "")) throw new Error(`${join(dir, "cdktf.json")}: "output" must be a folder name`);
  return resolve(dir, output ?? "cdktf.out");
}

export async function stacksIn(dir: string): Promise<string[]> {
  const root = join(await outputDirOf(dir), "stacks");
  return existsSync(root) ? (await readdir(root)).sort() : [];
}

export async function openProject(dir: string, stackName?: string): Promise<Project> {
  const stacks = await stacksIn(dir);
  if (stacks.length === 0) throw new Error(`no synthesized stacks in ${await outputDirOf(dir)}: run backplane synth`);
  const stack = stackName ?? (stacks.length === 1 ? stacks[0]! : undefined);
  if (!stack) throw new Error(`${dir} has several stacks (${stacks.join(", ")}): choose one with --stack`);
  if (!stacks.includes(stack)) throw new Error(`no stack '${stack}' (have: ${stacks.join(", ")})`);
  const text = await readFile(join(await outputDirOf(dir), "stacks", stack, "cdk.tf.json"), "utf8");
  return { dir, stack, graph: loadStack(JSON.parse(text)), configHash: configHash(text) };
}

/** What a refresh gave: the live facts of every host read, and why each other host was not. */
export interface Refreshed {
  live: Map<string, HostLive>;
  /** in host order */
  failed: UnreadHost[];
}

/**
 * Every host in parallel (bounded), one round trip each. A host that cannot be read (not
 * reachable, host key refused, output not understood) does not stop the others: its error is
 * kept, so a plan can show what was read and say what was not.
 */
/**
 * Hosts read (and, by apply, worked on) at once unless -parallelism says otherwise: 10, as
 * Terraform's default. Not higher by default because the connections are ssh handshakes, and
 * a fleet reached through one bastion (ProxyJump) meets sshd's MaxStartups there: from 10
 * handshakes at once (OpenSSH's default 10:30:100) it drops new ones at random, which would
 * show as hosts that could not be read. Fleets reached directly raise it (docs/cli.md).
 */
export const DEFAULT_PARALLELISM = 10;

export async function refreshAll(graph: DesiredGraph, transports: ReadonlyMap<string, Transport>, parallelism = DEFAULT_PARALLELISM, extra: { health?: boolean; state?: State | null } = {}): Promise<Refreshed> {
  const userProps = userPropertiesOf([...graph.resources.values()].map((r) => r.config));
  const options = { replication: [...graph.resources.values()].some((r) => r.type === "backplane_replication"), health: extra.health === true, timers: hasTimers(graph, extra.state ?? null) };
  const hosts = [...transports.keys()];
  const read = new Map<string, HostLive>();
  const failed = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const h = hosts[next++]!;
      try {
        read.set(h, await refreshHost(transports.get(h)!, userProps, options));
      } catch (e) {
        failed.set(h, e instanceof Error ? e.message : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, hosts.length) }, worker));
  // in host order, however they finished
  return {
    live: new Map(hosts.filter((h) => read.has(h)).map((h) => [h, read.get(h)!])),
    failed: hosts.filter((h) => failed.has(h)).map((h) => ({ host: h, message: failed.get(h)! })),
  };
}

/** Hosts that could not be read, for a command that needs them all (apply of a saved plan, import, facts). */
export class UnreadHostsError extends Error {
  constructor(readonly failed: readonly UnreadHost[]) {
    super(`could not read ${failed.length === 1 ? `host ${failed[0]!.host}` : `${failed.length} hosts`}; nothing was changed:\n${failed.map((f) => `  - ${f.message}`).join("\n")}\nRun the command again once ${failed.length === 1 ? "it answers" : "they answer"}.`);
    this.name = "UnreadHostsError";
  }
}

/** The live facts of every host, or UnreadHostsError naming those that could not be read. */
export function everyHostRead(r: Refreshed): Map<string, HostLive> {
  if (r.failed.length > 0) throw new UnreadHostsError(r.failed);
  return r.live;
}
