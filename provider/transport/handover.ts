/**
 * Hands a secret made on one host to another without it passing through this process,
 * its state, its logs or its disk: `from`'s stdout is given to `to` as its stdin — one
 * kernel socket that this process holds only as a *write* end it never writes to and
 * never reads. `to` answers on its stdout ("ok" once it holds the secret; nothing secret),
 * which is relayed to `from`'s stdin, so `from` commits its half only after the other
 * host has its half. Used for WireGuard preshared keys.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Argv } from "../model/argv.js";
import type { RunResult, Transport } from "./transport.js";

export const HANDED_OVER = "ok";

function collect(p: ChildProcess, stream: "stdout" | "stderr"): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = p[stream];
    if (!s) return resolve("");
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function exited(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1)));
    p.on("error", () => resolve(-1));
  });
}

export async function handOver(
  from: { transport: Transport; command: Argv },
  to: { transport: Transport; command: Argv },
  timeoutMs = 120_000,
): Promise<{ from: RunResult; to: RunResult }> {
  const t0 = Date.now();
  const receiver = to.transport.prepare(to.command);
  const sender = from.transport.prepare(from.command);
  // The receiver first, so the sender's stdout can be the receiver's stdin from the start.
  const pTo = spawn(receiver.file, receiver.args, { stdio: ["pipe", "pipe", "pipe"] });
  const pFrom = spawn(sender.file, sender.args, { stdio: ["pipe", pTo.stdin!, "pipe"] });
  pFrom.stdin!.on("error", () => undefined); // a sender that already died: its exit code says so
  // The sender's copy is its own now; close ours so only the sender writes into it.
  pTo.stdin!.destroy();
  const timer = setTimeout(() => {
    pFrom.kill("SIGTERM");
    pTo.kill("SIGTERM");
  }, timeoutMs);
  const [toOut, toErr, fromOut, fromErr] = [collect(pTo, "stdout"), collect(pTo, "stderr"), collect(pFrom, "stdout"), collect(pFrom, "stderr")];
  const toCode = await exited(pTo);
  const answer = await toOut;
  // Relay the receiver's answer (nothing secret): the sender commits only on "ok".
  const took = toCode === 0 && answer.trim() === HANDED_OVER;
  pFrom.stdin!.end(took ? `${HANDED_OVER}\n` : "no\n");
  const fromCode = await exited(pFrom);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  return {
    from: { stdout: await fromOut, stderr: await fromErr, exitCode: fromCode, durationMs: ms },
    to: { stdout: answer, stderr: await toErr, exitCode: toCode, durationMs: ms },
  };
}
