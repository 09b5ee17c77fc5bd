/**
 * How SshTransport reports ssh failing: a fake `ssh` first on PATH plays what OpenSSH prints
 * and does (the strings are OpenSSH's own messages). A connection never made ran nothing; one
 * lost after output arrived is unknown; a hung host is given up at its command timeout even
 * when a ControlMaster holds the session's pipes (the fake keeps its stdout open in a child
 * that only `ssh -O exit` stops, as a master does).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SshTransport } from "../../provider/transport/ssh.js";
import { ConnectError } from "../../provider/transport/transport.js";

const bin = mkdtempSync(join(tmpdir(), "bp-fake-ssh-"));
const PATH = process.env.PATH;
function fake(body: string) {
  writeFileSync(join(bin, "ssh"), `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-O" ] && { [ -f '${bin}/holder' ] && kill "$(cat '${bin}/holder')" 2>/dev/null; exit 0; }; done\n${body}\n`);
  chmodSync(join(bin, "ssh"), 0o755);
}
const transport = (commandTimeoutMs?: number) =>
  new SshTransport({ alias: "h", address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 }, { commandTimeoutMs });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: Error) => e);

beforeAll(() => { process.env.PATH = `${bin}:${PATH}`; });
afterAll(() => { process.env.PATH = PATH; });

describe("ssh failures", () => {
  it("a connection never made: phase connect (nothing ran)", async () => {
    fake(`echo "ssh: connect to host 10.0.0.2 port 22: Connection refused" >&2; exit 255`);
    const e = await failure(transport().script("echo hi"));
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).phase).toBe("connect");
  });

  it("a connection closed after output arrived: lost (unknown), with the output kept, even though ssh's words look like a refusal", async () => {
    fake(`printf '@@bp-1:begin c0s0\\n'; echo "Connection closed by 10.0.0.2 port 22" >&2; exit 255`);
    const e = (await failure(transport().script("echo hi"))) as ConnectError;
    expect(e.phase).toBe("lost");
    expect(e.partialStdout).toBe("@@bp-1:begin c0s0\n");
  });

  it("a host that hangs is given up at the command timeout although a master holds the session's pipes", async () => {
    fake(`sleep 30 & echo $! > '${bin}/holder'; exec sleep 30`);
    const t0 = Date.now();
    const e = (await failure(transport(500).script("echo hi"))) as ConnectError;
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(e.phase).toBe("lost");
    expect(e.message).toMatch(/no answer within 0\.5 s/);
  }, 20_000);
});
