/**
 * The replications' transfers, after the plan's changes: each one is a round trip on its
 * source host (the data goes from there to the target over the tunnel, never through this
 * machine), then, once it succeeded, its target pruning on the target host. Up to
 * `parallelism` transfers per source host run at once; one that fails does not stop the
 * others. Each success is recorded in state (the newest replicated snapshot and its GUID)
 * as it completes.
 */
import { ConnectError, type Transport } from "../transport/transport.js";
import type { Sync } from "../model/plan.js";
import { bytes, isSendChatter, parseSyncOutput, sendProgress, type SyncResult } from "../resources/replication.js";
import { hostSaid } from "../model/echo.js";
import type { ProgressEvent } from "./progress.js";

export interface SyncOutcome {
  sync: Sync;
  /** completed: the target holds the new snapshot */
  result: SyncResult | null;
  /** what went wrong (a failed prune after a completed transfer too) */
  error: string | null;
  /** the connection was lost: the transfer may have completed; the next plan finds out by GUID */
  unknown: boolean;
  /** not run: a transfer of this replication was already running on the source host (its timer's, or another operator's) */
  busy?: boolean;
  seconds: number;
}

/** Some replications failed; the others completed. */
export class ReplicationError extends Error {
  constructor(readonly outcomes: readonly SyncOutcome[]) {
    const failed = outcomes.filter((o) => o.error);
    const done = outcomes.filter((o) => o.result && !o.error);
    super([
      `replication failed for ${failed.length} of ${outcomes.length}:`,
      ...failed.map((o) => `  - ${o.sync.address} (${o.sync.sourceHost}:${o.sync.source} → ${o.sync.targetHost}:${o.sync.target})${o.unknown ? " [outcome unknown]" : ""}: ${o.error}`),
      `replicated: ${done.length ? done.map((o) => o.sync.address).join(", ") : "nothing"}`,
    ].join("\n"));
    this.name = "ReplicationError";
  }
}

/** The sync script's exit code when another transfer of the replication holds its lock (sysexits' EX_TEMPFAIL). */
export const BUSY_EXIT = 75;

/** How long one transfer may run (see runSyncs). */
export const TRANSFER_TIMEOUT_MS = 24 * 3600 * 1000;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function describeOutcome(o: SyncOutcome): string {
  const where = `${o.sync.source} → ${o.sync.targetHost}:${o.sync.target}`;
  if (o.busy) return `${where}: skipped, a transfer of this replication is already running on ${o.sync.sourceHost} (its timer's?): that one brings the target up`;
  if (!o.result) return `${where}: FAILED after ${o.seconds.toFixed(1)}s: ${o.error}`;
  const r = o.result;
  const rate = r.bytes !== null && o.seconds > 0 ? `, ${mb(r.bytes)} (estimated stream size) at ${(r.bytes / 1e6 / o.seconds).toFixed(1)} MB/s` : "";
  const kind = o.sync.send === "incremental" ? `incremental from @${o.sync.from!.slice(o.sync.from!.indexOf("@") + 1)}` : o.sync.send;
  return `${where}: ${kind}${r.resumed ? ` (resumed ${r.resumed} from the target's token)` : ""} → @${r.snapshot.slice(r.snapshot.indexOf("@") + 1)} in ${o.seconds.toFixed(1)}s${rate}${r.warnings.map((w) => `; warning: ${w}`).join("")}${o.error ? `; ${o.error}` : ""}`;
}

/** Logs a running transfer's progress (bytes, share, rate) at most every `everyMs`, from `zfs send -v -P`'s stderr. */
export function progress(s: Sync, t0: number, log: (line: string) => void, everyMs = 5000): (chunk: string) => void {
  let total: number | null = null;
  let last = t0;
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const p = sendProgress(line);
      if (!p) continue;
      if ("total" in p) total = (total ?? 0) + p.total;
      else if (Date.now() - last >= everyMs) {
        last = Date.now();
        const secs = (last - t0) / 1000;
        log(`${s.source} → ${s.targetHost}:${s.target}: ${bytes(p.sent)}${total ? ` of ${bytes(total)} (${Math.min(100, Math.round((p.sent / total) * 100))}%)` : ""} sent, ${(p.sent / 1e6 / secs).toFixed(1)} MB/s`);
      }
    }
  };
}

export async function runSyncs(o: {
  syncs: readonly Sync[];
  transports: ReadonlyMap<string, Transport>;
  parallelism: number;
  log: (line: string) => void;
  /** records a completed transfer in state */
  record: (s: Sync, r: SyncResult) => Promise<void>;
  /** asked to stop: no transfer starts any more (a running one finishes); the outcomes leave them out */
  stop?: AbortSignal;
  /** hears each transfer start and end (engine/progress.ts) */
  onProgress?: (e: ProgressEvent) => void;
}): Promise<SyncOutcome[]> {
  const outcomes: SyncOutcome[] = [];
  const one = async (s: Sync) => {
    const t0 = Date.now();
    const about = { address: s.address, action: "replicate" as const, id: s.source, host: s.sourceHost, to: `${s.targetHost}:${s.target}` };
    o.onProgress?.({ ...about, phase: "start", at: t0 });
    o.log(`${s.source} → ${s.targetHost}:${s.target}: ${s.send === "resume" ? "resuming" : `sending ${s.send}`}...`);
    const outcome: SyncOutcome = { sync: s, result: null, error: null, unknown: false, seconds: 0 };
    try {
      // a transfer may outlast the host's command_timeout (made for quick commands): ssh's keepalives
      // on both hops notice a dead link, and the source host runs one transfer per replication at a time
      const source = o.transports.get(s.sourceHost)!;
      const r = await source.run(s.run!.command, { onStderr: progress(s, t0, o.log), timeoutMs: Math.max(source.commandTimeoutMs ?? 0, TRANSFER_TIMEOUT_MS) });
      outcome.seconds = (Date.now() - t0) / 1000;
      if (r.exitCode === BUSY_EXIT) outcome.busy = true;
      else if (r.exitCode !== 0) outcome.error = hostSaid(r.stderr.split("\n").filter((l) => l.trim() && !isSendChatter(l)).join("\n")) || `exit ${r.exitCode}`;
      else {
        outcome.result = parseSyncOutput(r.stdout);
        await o.record(s, outcome.result);
        if (s.pruneTarget) {
          const p = await o.transports.get(s.targetHost)!.run(s.pruneTarget.command);
          if (p.exitCode !== 0) outcome.error = `replicated, but pruning on ${s.targetHost} failed: ${hostSaid(p.stderr) || `exit ${p.exitCode}`}`;
          // a snapshot held or cloned on the target is kept: said, not a failure (the next run tries again)
          for (const line of p.stdout.split("\n").filter((l) => l.startsWith("kept\t"))) outcome.result.warnings.push(`kept ${line.slice(5)} on ${s.targetHost} (held or cloned)`);
        }
      }
    } catch (e) {
      outcome.seconds = (Date.now() - t0) / 1000;
      outcome.unknown = e instanceof ConnectError && e.phase === "lost";
      outcome.error = (e as Error).message;
    }
    outcomes.push(outcome);
    o.log(describeOutcome(outcome));
    o.onProgress?.({ ...about, phase: "end", at: Date.now(), outcome: outcome.error ? (outcome.unknown ? "unknown" : "failed") : outcome.busy ? "not run" : "done" });
  };
  const bySource = new Map<string, Sync[]>();
  for (const s of o.syncs) if (s.run) bySource.set(s.sourceHost, [...(bySource.get(s.sourceHost) ?? []), s]);
  await Promise.all([...bySource.values()].map(async (queue) => {
    const worker = async () => {
      while (o.stop?.aborted !== true) {
        const s = queue.shift();
        if (!s) return;
        await one(s);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallelism, queue.length)) }, worker));
  }));
  return outcomes;
}
