/**
 * Hands a secret made on one host to another without it passing through this process,
 * its state, its logs or its disk: `from`'s stdout is given to `to` as its stdin — one
 * kernel socket that this process holds only as a *write* end it never writes to and
 * never reads. `to` answers on its stdout ("ok" once it holds the secret; nothing secret),
 * which is relayed to `from`'s stdin, so `from` commits its half only after the other
 * host has its half. Used for WireGuard preshared keys.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { Argv } from "../model/argv.js";
import { runningChildren, type RunResult, type Transport } from "./transport.js";

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

/** Settles when the process has ended, however (exit code, or a signal: 128 + its number). Listen from the spawn on. */
function exited(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    p.on("close", (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : -1)));
    p.on("error", () => resolve(-1));
  });
}

/** What came back, or "" when the stream stays open `graceMs` after its process ended (a pipe held elsewhere). */
function settled(stream: Promise<string>, ended: Promise<unknown>, graceMs: number): Promise<string> {
  return Promise.race([stream, ended.then(() => new Promise<string>((r) => setTimeout(() => r(""), graceMs).unref()))]);
}

/**
 * When either side gives no answer within `timeoutMs` (default: the larger of the two hosts'
 * command timeouts) both processes are killed and both transports closed (an ssh
 * ControlMaster holds a multiplexed session's pipes), and both results carry exit code 255
 * with "no answer within": what ran on either host is unknown.
 */
export async function handOver(
  from: { transport: Transport; command: Argv },
  to: { transport: Transport; command: Argv },
  timeoutMs = Math.max(from.transport.commandTimeoutMs ?? 120_000, to.transport.commandTimeoutMs ?? 120_000),
): Promise<{ from: RunResult; to: RunResult }> {
  const t0 = Date.now();
  const receiver = to.transport.prepare(to.command);
  const sender = from.transport.prepare(from.command);
  // The receiver first, so the sender's stdout can be the receiver's stdin from the start.
  // Each in its own process group: a Ctrl-C at the terminal must not cut a hand-over in two
  // (the CLI lets running work finish on a first Ctrl-C; cli/on-exit.ts).
  const pTo = spawn(receiver.file, receiver.args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
  const pFrom = spawn(sender.file, sender.args, { stdio: ["pipe", pTo.stdin!, "pipe"], detached: true });
  for (const p of [pTo, pFrom]) {
    runningChildren.add(p);
    p.once("close", () => runningChildren.delete(p));
  }
  const [toEnded, fromEnded] = [exited(pTo), exited(pFrom)];
  pFrom.stdin!.on("error", () => undefined); // a sender that already died: its exit code says so
  // The sender's copy is its own now; close ours so only the sender writes into it.
  pTo.stdin!.destroy();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    pFrom.kill("SIGKILL");
    pTo.kill("SIGKILL");
    void from.transport.close();
    void to.transport.close();
  }, timeoutMs);
  const [toOut, toErr, fromOut, fromErr] = [collect(pTo, "stdout"), collect(pTo, "stderr"), collect(pFrom, "stdout"), collect(pFrom, "stderr")];
  const toCode = await toEnded;
  const answer = await settled(toOut, toEnded, 2_000);
  // Relay the receiver's answer (nothing secret): the sender commits only on "ok".
  const took = !timedOut && toCode === 0 && answer.trim() === HANDED_OVER;
  pFrom.stdin!.end(took ? `${HANDED_OVER}\n` : "no\n");
  const fromCode = await fromEnded;
  clearTimeout(timer);
  const ms = Date.now() - t0;
  const lost = `no answer within ${timeoutMs / 1000} s (the host's command_timeout): outcome unknown`;
  return {
    from: { stdout: await settled(fromOut, fromEnded, 2_000), stderr: timedOut ? lost : await settled(fromErr, fromEnded, 2_000), exitCode: timedOut ? 255 : fromCode, durationMs: ms },
    to: { stdout: answer, stderr: timedOut ? lost : await settled(toErr, toEnded, 2_000), exitCode: timedOut ? 255 : toCode, durationMs: ms },
  };
}
