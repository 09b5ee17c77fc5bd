/**
 * The I/O around the pure engine: synthesize the app of cdktf.json, read cdk.tf.json,
 * open the state backend the stack names, connect to hosts and refresh them in parallel.
 */
import { execa } from "execa";
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { loadStack, type DesiredGraph, type HostConfig } from "./load.js";
import { refreshHost, type HostLive } from "./live.js";
import { SshTransport } from "../transport/ssh.js";
import type { Transport } from "../transport/transport.js";
import { LocalStateBackend } from "../../state/local.js";
import type { StateBackend } from "../../state/backend.js";
import { userPropertiesOf } from "../resources/index.js";

export interface Project {
  dir: string;
  stack: string;
  graph: DesiredGraph;
  backend: StateBackend;
}

export async function synth(dir: string, log: (l: string) => void = () => {}): Promise<number> {
  const cfgPath = join(dir, "cdktf.json");
  if (!existsSync(cfgPath)) throw new Error(`${dir} has no cdktf.json`);
  const cfg = JSON.parse(await readFile(cfgPath, "utf8")) as { app?: string; output?: string };
  if (!cfg.app) throw new Error(`${cfgPath} has no "app" to run`);
  const t0 = Date.now();
  const outdir = join(dir, cfg.output ?? "cdktf.out");
  // The app command is the operator's own configuration, run as cdktf runs it: through a shell.
  const r = await execa(cfg.app, { cwd: dir, shell: true, reject: false, all: true, env: { CDKTF_OUTDIR: outdir, CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1" } });
  if (r.exitCode !== 0) throw new Error(`synth failed (${cfg.app}):\n${r.all}`);
  log(`synthesized ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return Date.now() - t0;
}

export async function stacksIn(dir: string): Promise<string[]> {
  const root = join(dir, "cdktf.out", "stacks");
  return existsSync(root) ? (await readdir(root)).sort() : [];
}

export async function openProject(dir: string, stackName?: string): Promise<Project> {
  const stacks = await stacksIn(dir);
  if (stacks.length === 0) throw new Error(`no synthesized stacks in ${dir}/cdktf.out: run backplane synth`);
  const stack = stackName ?? (stacks.length === 1 ? stacks[0]! : undefined);
  if (!stack) throw new Error(`${dir} has several stacks (${stacks.join(", ")}): choose one with --stack`);
  if (!stacks.includes(stack)) throw new Error(`no stack '${stack}' (have: ${stacks.join(", ")})`);
  const doc = JSON.parse(await readFile(join(dir, "cdktf.out", "stacks", stack, "cdk.tf.json"), "utf8"));
  const graph = loadStack(doc);
  let backend: StateBackend;
  if (!graph.backend || graph.backend.type === "local") {
    const p = graph.backend?.path ?? `terraform.${stack}.tfstate`;
    backend = new LocalStateBackend(isAbsolute(p) ? p : resolve(dir, p));
  } else {
    throw new Error("the PostgreSQL state backend arrives with its own issue; use LocalBackend for now");
  }
  return { dir, stack, graph, backend };
}

export function transportsFor(hosts: Iterable<HostConfig>): Map<string, Transport> {
  return new Map([...hosts].map((h) => [h.alias, new SshTransport(h)]));
}

/** Every host in parallel (bounded), one round trip each. */
export async function refreshAll(graph: DesiredGraph, transports: ReadonlyMap<string, Transport>, parallelism = 8): Promise<Map<string, HostLive>> {
  const userProps = userPropertiesOf([...graph.resources.values()].map((r) => r.config));
  const hosts = [...transports.keys()];
  const out = new Map<string, HostLive>();
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const h = hosts[next++]!;
      out.set(h, await refreshHost(transports.get(h)!, userProps));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, hosts.length) }, worker));
  return out;
}
