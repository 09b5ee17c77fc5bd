/**
 * The debug log (BACKPLANE_LOG=debug): its switch, its lines, and that a secret word of a
 * command — a WireGuard private key, were one ever passed — is printed as *** by every
 * transport, never as itself. SshTransport runs against a fake `ssh` first on PATH that runs
 * the remote command here.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debugLine, debugSettings, roundTripEnd, roundTripLines } from "../../provider/model/debug-log.js";
import { argv, secret } from "../../provider/model/argv.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { SshTransport } from "../../provider/transport/ssh.js";

// the shape of a WireGuard private key (base64 of 32 bytes); made up for the test
const KEY = "kEyWgPrivateKeyForTheTest0123456789abcdefgh=";

describe("the switch", () => {
  it.each<[Record<string, string>, { on: boolean; path: string | null; unknown: string | null }]>([
    [{}, { on: false, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "debug" }, { on: true, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "DEBUG" }, { on: true, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "trace" }, { on: true, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "debug", BACKPLANE_LOG_PATH: "/tmp/bp.log" }, { on: true, path: "/tmp/bp.log", unknown: null }],
    [{ BACKPLANE_LOG_PATH: "/tmp/bp.log" }, { on: false, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "off" }, { on: false, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "" }, { on: false, path: null, unknown: null }],
    [{ BACKPLANE_LOG: "verbose" }, { on: false, path: null, unknown: "verbose" }],
  ])("%j", (env, settings) => {
    expect(debugSettings(env)).toEqual(settings);
  });
});

describe("the lines", () => {
  it.each([
    ["a command", roundTripLines("prod", 3, "run", { command: argv("zfs", "create", "tank/with space") }), ["prod #3 run: zfs create 'tank/with space'"]],
    ["a secret word", roundTripLines("prod", 3, "run", { command: argv("wg", "set", "wg0", "private-key", secret(KEY)) }), ["prod #3 run: wg set wg0 private-key ***"]],
    ["a batch", roundTripLines("dr", 7, "script", { commands: [argv("true"), argv("zfs", "set", secret("x=1"), "tank/a")] }), ["dr #7 script [1/2]: true", "dr #7 script [2/2]: zfs set *** tank/a"]],
    ["a script whose commands are not given", roundTripLines("dr", 8, "script", { display: "sh -s <<script (4 lines)>>" }), ["dr #8 script: sh -s <<script (4 lines)>>"]],
    ["a hand-over's side", roundTripLines("prod", 9, "hand-over", { command: argv("wg", "genpsk") }), ["prod #9 hand-over: wg genpsk"]],
  ])("%s", (_what, lines, expected) => {
    expect(lines).toEqual(expected);
  });

  it("how a round trip ended, and a line as written", () => {
    expect(roundTripEnd("prod", 3, 1234, { exitCode: 1, stdout: "ab", stderr: "cde" })).toBe("prod #3 exit 1 after 1.23s (stdout 2 chars, stderr 3 chars)");
    expect(roundTripEnd("prod", 4, 5000, { failed: "prod: cannot connect over ssh: Connection refused" })).toBe("prod #4 failed after 5.00s: prod: cannot connect over ssh: Connection refused");
    expect(debugLine(new Date(Date.UTC(2026, 10, 26, 20, 0, 0, 5)), "one\ntwo")).toBe("2026-11-26T20:00:00.005Z [DEBUG] one\\ntwo");
  });
});

describe("a transport with the debug log on", () => {
  it("LocalTransport: one line per command, secret words as ***, the script's text never", async () => {
    const lines: string[] = [];
    const t = new LocalTransport("here", [], { debug: (l) => lines.push(l) });
    await t.run(argv("echo", secret(KEY)));
    await t.script(`echo ${KEY}\n`, { commands: [argv("echo", secret(KEY))] });
    await t.script(`echo ${KEY}\n`);
    expect(lines).toEqual([
      "here #1 run: echo ***",
      expect.stringMatching(/^here #1 exit 0 after \d+\.\d\ds \(stdout 45 chars, stderr 0 chars\)$/),
      "here #2 script [1/1]: echo ***",
      expect.stringMatching(/^here #2 exit 0 after /),
      "here #3 script: sh -s <<script (2 lines)>>",
      expect.stringMatching(/^here #3 exit 0 after /),
    ]);
    expect(lines.join("\n")).not.toContain(KEY);
  });

  describe("SshTransport", () => {
    const bin = mkdtempSync(join(tmpdir(), "bp-fake-ssh-"));
    const PATH = process.env.PATH;
    beforeAll(() => {
      // runs the remote command (ssh's last argument) here; `-O exit` succeeds
      writeFileSync(join(bin, "ssh"), '#!/bin/sh\nfor a in "$@"; do [ "$a" = "-O" ] && exit 0; done\nfor last; do :; done\nexec sh -c "$last"\n');
      chmodSync(join(bin, "ssh"), 0o755);
      process.env.PATH = `${bin}:${PATH}`;
    });
    afterAll(() => { process.env.PATH = PATH; });

    it("logs the host, the command as toDisplay shows it (secret words ***) and the timing", async () => {
      const lines: string[] = [];
      const t = new SshTransport({ alias: "prod", address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 }, { debug: (l) => lines.push(l) });
      const r = await t.run(argv("printf", "%s", secret(KEY)));
      // sent as itself, shown as ***
      expect(r.stdout).toBe(KEY);
      expect(lines).toEqual(["prod #1 run: printf %s ***", expect.stringMatching(/^prod #1 exit 0 after \d+\.\d\ds \(stdout 44 chars, stderr 0 chars\)$/)]);
      expect(lines.join("\n")).not.toContain(KEY);
      await t.close();
    });

    it("says when a round trip failed, and why", async () => {
      const lines: string[] = [];
      const t = new SshTransport({ alias: "prod", address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 }, { debug: (l) => lines.push(l) });
      await t.run(argv("sh", "-c", "echo 'ssh: connect to host 10.0.0.2 port 22: Connection refused' >&2; exit 255")).catch(() => null);
      expect(lines[1]).toMatch(/^prod #1 failed after \d+\.\d\ds: prod: cannot connect over ssh: .*Connection refused/);
    });

    it("without a sink it runs as before", async () => {
      const t = new SshTransport({ alias: "prod", address: "10.0.0.2", port: 22, user: "root", knownHostsFile: "/dev/null", commandPrefix: [], connectTimeout: 5 });
      expect((await t.run(argv("true"))).exitCode).toBe(0);
    });
  });
});
