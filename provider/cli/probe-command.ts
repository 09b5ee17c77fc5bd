/**
 * `backplane probe` (docs/probes.md): evaluates the stack's probes now and prints a table,
 * JSON or Prometheus text; `--textfile` writes the Prometheus text atomically for
 * node_exporter's textfile collector; `--listen` serves it at /metrics, evaluating on a scrape
 * when the last evaluation is older than `--cache`. Exit 0 all ok, 2 any failing, 1 an error.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { createServer, type Server } from "node:http";
import { rename, writeFile } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { runProbes } from "../engine/probe-run.js";
import { parallelismOption } from "./parallelism.js";
import { renderProbeJson, renderProbeTable, renderPrometheus } from "../engine/probe-render.js";
import { probeExitCode, type ProbeReport } from "../model/probe.js";
import { parseDuration } from "../model/duration.js";
import { closeTransports, transportsFor, type Workspace } from "./compose.js";
import type { CliKit } from "./restore-commands.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
const err = (s: string) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`);

interface Common { dir: string; stack?: string; synth: boolean }
interface ProbeOptions extends Common { json?: boolean; format: string; listen?: string; cache: string; textfile?: string; parallelism?: number }

/** host:port of --listen; an IPv6 address in brackets ([::1]:9100). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`--listen '${text}' is not HOST:PORT (e.g. 127.0.0.1:9187)`);
  return { host: m[1] ?? m[2]!, port };
}

/** What to tell an operator who serves the metrics beyond this machine (they name hosts, pools and datasets; no TLS, no authentication). */
export function listenWarning(host: string): string | null {
  if (/^127\./.test(host) || host === "::1" || host === "localhost") return null;
  return `backplane probe: serving on ${host}, beyond this machine: /metrics names hosts, pools and datasets and has no TLS or authentication; keep it on loopback or a trusted network`;
}

/** The probes of one stack, evaluated with transports kept open between evaluations (one ssh master per host). */
export function probeEvaluator(p: Workspace, parallelism?: number) {
  const transports = transportsFor(p.graph.hosts.values());
  return {
    evaluate: async (): Promise<ProbeReport> => runProbes(p.graph, transports, await p.backend.read(), p.stack, undefined, parallelism),
    close: () => closeTransports(transports.values()),
  };
}

export async function writeTextfile(path: string, text: string): Promise<void> {
  // node_exporter may read at any moment: a whole file or the previous one, never half
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/**
 * Serves /metrics until a signal ends the process. A scrape gets the latest evaluation at
 * once and, when that is older than `cacheMs`, starts the next one in the background (an
 * evaluation with an I/O sample takes longer than Prometheus's default 10 s scrape timeout);
 * only the first scrape waits. Concurrent scrapes share one evaluation;
 * backplane_probe_timestamp_seconds says how old the served one is.
 */
export function serveMetrics(evaluate: () => Promise<ProbeReport>, where: { host: string; port: number }, cacheMs: number, log: (l: string) => void): Promise<Server> {
  let last: { at: number; text: string } | null = null;
  // the last evaluation failed: scrapes get 503 (Prometheus marks the target down) until one succeeds
  let failure: string | null = null;
  let running: Promise<string> | null = null;
  const next = (): Promise<string> => {
    running ??= evaluate().then((r) => {
      last = { at: Date.now(), text: renderPrometheus(r) };
      failure = null;
      return last.text;
    }, (e: Error) => {
      failure = e.message;
      log(`backplane probe: evaluation failed: ${e.message}`);
      throw e;
    }).finally(() => { running = null; });
    return running;
  };
  const fresh = async (): Promise<string> => {
    if (!last || failure) return next();
    if (Date.now() - last.at >= cacheMs) next().catch(() => undefined);
    return last.text;
  };
  const server = createServer((req, res) => {
    // the path only (a request line such as "GET //" is no URL: never parsed as one)
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end('<html><body><a href="/metrics">/metrics</a></body></html>\n');
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    fresh().then(
      (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(req.method === "HEAD" ? undefined : text),
      (e: Error) => res.writeHead(503, { "content-type": "text/plain" }).end(`evaluation failed: ${e.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

export function registerProbeCommand(program: Command, kit: CliKit): void {
  kit.withCommon(program.command("probe").description("evaluate the stack's probes (health checks): exit 0 all ok, 2 any failing, 1 an error"))
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "prometheus"]).default("table"))
    .option("--json", "the same as --format json")
    .option("--textfile <path>", "also write the Prometheus text to this file atomically (node_exporter's textfile collector)")
    .option("--listen <host:port>", "serve /metrics (Prometheus text) instead of printing; probes are evaluated on a scrape")
    .option("--cache <duration>", "with --listen: how old the served evaluation may get before a scrape starts the next one", "15s")
    .addOption(parallelismOption())
    .action(async (o: ProbeOptions) => {
      const format = o.json ? "json" : o.format;
      const cacheMs = parseDuration(o.cache, "--cache");
      const where = o.listen ? parseListen(o.listen) : null;
      if (where && (o.textfile || o.json || o.format !== "table")) throw new Error("--listen serves Prometheus text at /metrics: it takes neither --textfile, --json nor --format");
      const p = await kit.project(o);
      const ev = probeEvaluator(p, o.parallelism);
      if (where) {
        const warning = listenWarning(where.host);
        if (warning) err(warning);
        const server = await serveMetrics(ev.evaluate, where, cacheMs, err);
        const a = server.address();
        err(`backplane probe: serving http://${typeof a === "object" && a ? (a.family === "IPv6" ? `[${a.address}]` : a.address) : where.host}:${typeof a === "object" && a ? a.port : where.port}/metrics (evaluations cached ${o.cache})`);
        return; // the server keeps the process alive until a signal ends it
      }
      try {
        const report = await ev.evaluate();
        if (o.textfile) await writeTextfile(o.textfile, renderPrometheus(report));
        out(format === "json" ? renderProbeJson(report) : format === "prometheus" ? renderPrometheus(report) : renderProbeTable(report, { color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
        process.exitCode = probeExitCode(report);
      } finally {
        await ev.close();
      }
    });
}
