/**
 * `backplane probe`: every probe of the stack evaluated against hosts read now. The facts come
 * from the refresh's one round trip per host (with health facts added); io_latency samples run
 * at the same time, one bpftrace per host in parallel, for the longest sample any of the
 * host's probes asks. The I/O is here; the decisions are provider/resources/probe.ts's.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { DesiredGraph } from "./load.js";
import type { Transport } from "../transport/transport.js";
import type { State } from "../model/state.js";
import type { Plan } from "../model/plan.js";
import type { ProbeReport, ProbeResult } from "../model/probe.js";
import { DEFAULT_PARALLELISM, refreshAll, type Refreshed } from "./project.js";
import { makePlan } from "./plan.js";
import { batchScript, splitSections } from "./batch.js";
import { evaluateProbe, replicationViews, scheduleFailures } from "../resources/probe.js";
import { probeThresholds, type ProbeCheck } from "../schema/kinds/probe.js";
import { ioTraceCommand, mountInfoCommand, parseIoTrace, parseZfsMounts, IO_UNSUPPORTED_EXIT, type IoSample } from "../zfs/io-latency.js";
import { hostSaid } from "../model/echo.js";

/** One host's I/O sampled for `seconds` (one round trip: bpftrace, then the mount table). */
export async function sampleIo(t: Transport, seconds: number): Promise<IoSample> {
  const nonce = randomBytes(8).toString("hex");
  // bpftrace needs ≈5 s to attach under emulation, then samples: the round trip may take that long
  const r = await t.script(batchScript([{ key: "io-trace", command: ioTraceCommand(seconds) }, { key: "io-mounts", command: mountInfoCommand }], nonce), { timeoutMs: (seconds + 120) * 1000 });
  if (r.exitCode !== 0) return { failed: `sampling I/O on ${t.host} failed: exit ${r.exitCode}: ${hostSaid(r.stderr)}` };
  const s = splitSections(r.stdout, nonce);
  const trace = s.get("io-trace");
  const mounts = s.get("io-mounts");
  if (!trace || !mounts) return { failed: `sampling I/O on ${t.host}: the output was cut short` };
  if (trace.exitCode === IO_UNSUPPORTED_EXIT) return { unsupported: hostSaid(trace.stdout.trim()) };
  if (trace.exitCode !== 0) {
    const said = hostSaid(trace.stderr.trim() || trace.stdout.trim());
    // failing to attach means the host cannot trace; failing after it (killed, out of memory) is an error of this sample
    if (!trace.stdout.includes('"type": "attached_probes"')) return { unsupported: `bpftrace could not attach its probes on ${t.host} (exit ${trace.exitCode}): ${said}` };
    return { failed: `bpftrace ended with exit ${trace.exitCode} on ${t.host} after attaching: ${said}` };
  }
  if (mounts.exitCode !== 0) return { failed: `reading /proc/self/mountinfo on ${t.host} failed: ${hostSaid(mounts.stderr)}` };
  try {
    return parseIoTrace(trace.stdout, parseZfsMounts(mounts.stdout), seconds);
  } catch (e) {
    return { failed: `bpftrace's output on ${t.host} was not understood: ${(e as Error).message}` };
  }
}

/**
 * `planned`: hosts already read with health facts and the plan made from them, at `planNow`
 * (`backplane drift --probes`: one read, one plan); otherwise both are made here, the hosts
 * read while the I/O samples run.
 */
export async function runProbes(graph: DesiredGraph, transports: ReadonlyMap<string, Transport>, state: State | null, stack: string, planned?: { refreshed: Refreshed; plan: Plan; planNow: number }, parallelism = DEFAULT_PARALLELISM): Promise<ProbeReport> {
  const t0 = Date.now();
  const at = new Date(t0).toISOString();
  const probes = [...graph.resources.values()].filter((r) => r.type === "backplane_probe");
  const ioSeconds = new Map<string, number>();
  for (const p of probes) if (p.config.check === "io_latency") ioSeconds.set(p.host, Math.max(ioSeconds.get(p.host) ?? 0, probeThresholds(p.config).sampleSeconds));
  const [read, ...io] = await Promise.all([
    planned?.refreshed ?? refreshAll(graph, transports, parallelism, { health: true, state }),
    ...[...ioSeconds].map(async ([host, seconds]) => [host, await sampleIo(transports.get(host)!, seconds).catch((e: Error): IoSample => ({ failed: e.message }))] as const),
  ]);
  const ioByHost = new Map(io);
  const { live, failed } = read;
  const planNow = planned?.planNow ?? Math.floor(Date.now() / 1000);
  const plan = planned?.plan ?? makePlan({ stack, graph, state, live, unread: failed, newLineage: randomUUID(), now: planNow });
  const unread = new Map(failed.map((f) => [f.host, f.message]));
  const replications = replicationViews([...graph.resources.values()], plan, unread);
  const peerNames = new Map<string, string>();
  for (const [h, l] of live) for (const [name, i] of l.wg.interfaces) peerNames.set(i.publicKey, `${h}/${name}`);
  const failedRuns = state ? scheduleFailures([...graph.resources.values()], state.lineage, live) : [];
  const results: ProbeResult[] = [];
  for (const p of probes) {
    const input = { address: p.address, path: p.path, host: p.host, check: p.config.check as ProbeCheck, target: String(p.config.target), t: probeThresholds(p.config) };
    results.push(...evaluateProbe(input, { live: live.get(p.host) ?? null, unread: unread.get(p.host) ?? null, replications, peerNames, io: ioByHost.get(p.host), planNow, failedRuns: failedRuns.filter((f) => f.host === p.host) }));
  }
  return { stack, at, elapsedMs: Date.now() - t0, results };
}
