/** The machine backplane runs on, for a host whose address is "local". Same contract as ssh. */
import { execa } from "execa";
import { toDisplay, type Argv } from "../model/argv.js";
import type { RunOptions, RunResult, ScriptOptions, Transport, TransportLogging } from "./transport.js";
import { roundTripEnd, roundTripLines } from "../model/debug-log.js";

type Shown = Parameters<typeof roundTripLines>[3];

export class LocalTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  /** the processes running now: close() ends them */
  private readonly running = new Set<{ kill: (signal: NodeJS.Signals) => boolean }>();
  constructor(readonly host: string, private readonly prefix: string[] = [], private readonly logging: TransportLogging = {}) {}

  private count(display: string, shown: Shown, how: "run" | "script" | "hand-over"): number {
    this.roundTrips++;
    this.log.push(display);
    for (const line of this.logging.debug ? roundTripLines(this.host, this.roundTrips, how, shown) : []) this.logging.debug!(line);
    return this.roundTrips;
  }

  private async exec(file: string, args: string[], display: string, shown: Shown, stdin?: string, timeoutMs?: number, onStderr?: (chunk: string) => void): Promise<RunResult> {
    const n = this.count(display, shown, "command" in shown ? "run" : "script");
    const t0 = Date.now();
    const [f, ...rest] = [...this.prefix, file, ...args];
    // its own process group, as ssh's (transport/ssh.ts): a Ctrl-C at the terminal does not cut it off
    const child = execa(f!, rest, { input: stdin ?? "", reject: false, timeout: timeoutMs ?? 600_000, stripFinalNewline: false, detached: true });
    this.running.add(child);
    if (onStderr) child.stderr?.on("data", (c: Buffer) => onStderr(c.toString("utf8")));
    const r = await child.finally(() => this.running.delete(child));
    const result = { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), exitCode: r.exitCode ?? -1, durationMs: Date.now() - t0 };
    this.logging.debug?.(roundTripEnd(this.host, n, result.durationMs, result));
    return result;
  }

  run(cmd: Argv, opts: RunOptions = {}) {
    const [first, ...rest] = cmd.map((w) => w.text);
    return this.exec(first!, rest, toDisplay(cmd), { command: cmd }, opts.stdin, opts.timeoutMs, opts.onStderr);
  }

  prepare(cmd: Argv) {
    this.count(toDisplay(cmd), { command: cmd }, "hand-over");
    const [file, ...args] = [...this.prefix, ...cmd.map((w) => w.text)];
    return { file: file!, args };
  }

  script(text: string, opts: ScriptOptions = {}) {
    const display = `sh -s <<script (${text.split("\n").length} lines)>>`;
    return this.exec("sh", ["-s"], display, opts.commands ? { commands: opts.commands } : { display }, text, opts.timeoutMs);
  }

  /** Ends the processes still running. */
  async close() {
    for (const child of this.running) child.kill("SIGTERM");
  }
}
