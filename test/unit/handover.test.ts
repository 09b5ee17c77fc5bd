/**
 * handOver: a secret made by one process reaches the other through a pipe between them, and
 * the sender commits only after the receiver said "ok". Real processes (LocalTransport).
 */
import { describe, it, expect } from "vitest";
import { mkdtemp, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { handOver } from "../../provider/transport/handover.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { argv } from "../../provider/model/argv.js";

// The sender makes a random secret, writes it to stdout (the receiver), waits for "ok", then commits.
const SEND = 'umask 077; head -c 32 /dev/urandom | base64 > "$1/made"; cat "$1/made"; IFS= read -r ack; [ "$ack" = ok ] || { echo "no ack" >&2; exit 1; }; cp "$1/made" "$1/committed"';

describe("handOver", () => {
  it("delivers the sender's stdout to the receiver, and the sender commits only after the receiver's ok", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-handover-"));
    const a = new LocalTransport("a");
    const b = new LocalTransport("b");
    const r = await handOver(
      { transport: a, command: argv("sh", "-c", SEND, "send", dir) },
      { transport: b, command: argv("sh", "-c", 'head -n 1 > "$1/received"; echo ok', "receive", dir) },
    );
    expect(r.to.exitCode).toBe(0);
    expect(r.from.exitCode, r.from.stderr).toBe(0);
    const made = await readFile(join(dir, "made"), "utf8");
    expect(made).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(await readFile(join(dir, "received"), "utf8")).toBe(made);
    expect(await readFile(join(dir, "committed"), "utf8")).toBe(made);
    // what came back to this process: the acknowledgement only, never the secret
    expect(r.to.stdout).toBe("ok\n");
    expect(r.from.stdout).toBe("");
    expect(a.roundTrips + b.roundTrips).toBe(2);
  });

  it("leaves the sender's half undone when the receiver fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-handover-"));
    const r = await handOver(
      { transport: new LocalTransport("a"), command: argv("sh", "-c", SEND, "send", dir) },
      { transport: new LocalTransport("b"), command: argv("sh", "-c", 'head -n 1 >/dev/null; echo "disk full" >&2; exit 3', "receive") },
    );
    expect(r.to.exitCode).toBe(3);
    expect(r.to.stderr).toContain("disk full");
    expect(r.from.exitCode).toBe(1);
    expect(r.from.stderr).toContain("no ack");
    expect(existsSync(join(dir, "committed"))).toBe(false);
  });

  it("fails the receiver cleanly when the sender dies before sending", async () => {
    const r = await handOver(
      { transport: new LocalTransport("a"), command: argv("sh", "-c", "echo 'no wg here' >&2; exit 2") },
      { transport: new LocalTransport("b"), command: argv("sh", "-c", 'line=$(head -n 1); [ -n "$line" ] || { echo "nothing arrived" >&2; exit 1; }; echo ok') },
    );
    expect(r.from.exitCode).toBe(2);
    expect(r.to.exitCode).toBe(1);
    expect(r.to.stderr).toContain("nothing arrived");
  });
});

describe("a hand-over whose host gives no answer", () => {
  class Limited extends LocalTransport {
    readonly commandTimeoutMs = 500;
  }
  it("returns at the limit (it never hangs), both sides exit 255 with 'no answer within', and the sender does not commit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-handover-"));
    const t0 = Date.now();
    const r = await handOver(
      { transport: new Limited("a"), command: argv("sh", "-c", `${SEND}; exec sleep 30`, "send", dir) },
      { transport: new Limited("b"), command: argv("sh", "-c", "exec sleep 30") },
    );
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect([r.from.exitCode, r.to.exitCode]).toEqual([255, 255]);
    expect(r.to.stderr).toMatch(/no answer within 0\.5 s/);
    expect(existsSync(join(dir, "committed"))).toBe(false);
  }, 20_000);

  it("the apply reports the change's outcome as unknown, not failed", async () => {
    const { BatchRunner } = await import("../../provider/engine/apply-run.js");
    const runner = new BatchRunner(new Map([["a", new Limited("a")], ["b", new Limited("b")]]), () => {});
    const c = {
      address: "backplane_wireguard_peer.p", type: "backplane_wireguard_peer", host: "a", id: "wg0 peer k", path: "s/p",
      action: "update" as const, reason: "", attrs: [], destructive: false, dependsOn: [], after: {},
      steps: [{ command: argv("sh", "-c", "exec sleep 30"), label: "Sharing preshared key", handOver: { host: "b", command: argv("sh", "-c", "exec sleep 30") } }],
    };
    expect(await runner.runHandingOver("a", c)).toBe(false);
    expect(runner.failures.map((f) => f.unknown)).toEqual([true]);
  }, 20_000);
});
