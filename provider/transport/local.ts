/** The machine backplane runs on, for a host whose address is "local". Same contract as ssh. */
import { execa } from "execa";
import { toDisplay, type Argv } from "../model/argv.js";
import type { RunOptions, RunResult, Transport } from "./transport.js";

export class LocalTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  constructor(readonly host: string, private readonly prefix: string[] = []) {}

  private async exec(file: string, args: string[], display: string, stdin?: string, timeoutMs?: number, onStderr?: (chunk: string) => void): Promise<RunResult> {
    this.roundTrips++;
    this.log.push(display);
    const t0 = Date.now();
    const [f, ...rest] = [...this.prefix, file, ...args];
    const child = execa(f!, rest, { input: stdin ?? "", reject: false, timeout: timeoutMs ?? 600_000, stripFinalNewline: false });
    if (onStderr) child.stderr?.on("data", (c: Buffer) => onStderr(c.toString("utf8")));
    const r = await child;
    return { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), exitCode: r.exitCode ?? -1, durationMs: Date.now() - t0 };
  }

  run(cmd: Argv, opts: RunOptions = {}) {
    const [first, ...rest] = cmd.map((w) => w.text);
    return this.exec(first!, rest, toDisplay(cmd), opts.stdin, opts.timeoutMs, opts.onStderr);
  }

  prepare(cmd: Argv) {
    this.roundTrips++;
    this.log.push(toDisplay(cmd));
    const [file, ...args] = [...this.prefix, ...cmd.map((w) => w.text)];
    return { file: file!, args };
  }

  script(text: string, opts: { timeoutMs?: number } = {}) {
    return this.exec("sh", ["-s"], `sh -s <<script (${text.split("\n").length} lines)>>`, text, opts.timeoutMs);
  }

  async close() {}
}
