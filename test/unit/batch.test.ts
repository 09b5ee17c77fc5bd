/** Batched round trips: the script's sections come back apart, and no output can forge a marker. */
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { batchScript, splitSections } from "../../provider/engine/batch.js";
import { parseRefresh, refreshItems } from "../../provider/engine/live.js";
import { argv } from "../../provider/model/argv.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

describe("batch scripts", () => {
  it("run each command once and report stdout, stderr and exit code per section (real sh)", () => {
    const script = batchScript([
      { key: "a", command: argv("printf", "one\\ttwo\\n") },
      { key: "b", command: argv("sh", "-c", "echo oops >&2; exit 3") },
      { key: "c", command: argv("printf", "no newline") },
      { key: "d", command: argv("true") },
    ], "n0nce");
    const out = execFileSync("sh", ["-s"], { input: script }).toString();
    const s = splitSections(out, "n0nce");
    expect(s.get("a")).toMatchObject({ stdout: "one\ttwo\n", exitCode: 0 });
    expect(s.get("b")).toMatchObject({ stdout: "", stderr: "oops\n", exitCode: 3 });
    expect(s.get("c")).toMatchObject({ stdout: "no newline", exitCode: 0 });
    expect(s.get("d")).toMatchObject({ stdout: "", exitCode: 0 });
  });

  it("stop at the first failure when asked (apply)", () => {
    const script = batchScript([
      { key: "a", command: argv("false"), stopOnError: true },
      { key: "b", command: argv("echo", "must not run"), stopOnError: true },
    ], "n0nce");
    const s = splitSections(execFileSync("sh", ["-s"], { input: script }).toString(), "n0nce");
    expect(s.get("a")?.exitCode).toBe(1);
    expect(s.has("b")).toBe(false);
  });

  it("untimed (a refresh): the same sections, stderr and fallbacks, without starting date; timed (apply): how long each ran", () => {
    const items = [
      { key: "a", command: argv("sh", "-c", "sleep 0.2; echo out; echo err >&2") },
      { key: "b", command: argv("false"), fallbacks: [{ name: "old", command: argv("echo", "fallback") }] },
    ];
    const untimed = batchScript(items, "n0nce", { timed: false });
    expect(untimed).not.toContain("date");
    const u = splitSections(execFileSync("sh", ["-s"], { input: untimed }).toString(), "n0nce");
    expect(u.get("a")).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 0, elapsedMs: 0 });
    expect(u.get("b")).toMatchObject({ exitCode: 1, stderr: "" });
    expect(u.get("b.old")).toMatchObject({ stdout: "fallback\n", exitCode: 0 });
    const t = splitSections(execFileSync("sh", ["-s"], { input: batchScript(items, "n0nce") }).toString(), "n0nce");
    expect(t.get("a")).toMatchObject({ stdout: "out\n", stderr: "err\n", exitCode: 0 });
    expect(t.get("a")!.elapsedMs).toBeGreaterThanOrEqual(150);
  });

  it("timed (apply): one date per section and one at the start, each reading ending a section and starting the next", () => {
    const items = [
      { key: "a", command: argv("sleep", "0.2") },
      { key: "b", command: argv("true") },
      { key: "c", command: argv("sleep", "0.1") },
    ];
    const bin = mkdtempSync(join(tmpdir(), "bp-date-"));
    const real = execFileSync("sh", ["-c", "command -v date"]).toString().trim();
    writeFileSync(join(bin, "date"), `#!/bin/sh\necho ran >> "${bin}/count"\nexec ${real} "$@"\n`, { mode: 0o755 });
    const out = execFileSync("sh", ["-s"], { input: batchScript(items, "n0nce"), env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }).toString();
    expect(readFileSync(join(bin, "count"), "utf8").split("\n").filter(Boolean)).toHaveLength(items.length + 1);
    const t = splitSections(out, "n0nce");
    expect(t.get("a")!.elapsedMs).toBeGreaterThanOrEqual(150);
    expect(t.get("b")!.elapsedMs).toBeLessThan(150);
    expect(t.get("c")!.elapsedMs).toBeGreaterThanOrEqual(80);
  });

  it("start sed for a section's stderr only when the command wrote some (a refresh has dozens of quiet sections)", () => {
    const script = batchScript([{ key: "quiet", command: argv("true") }, { key: "loud", command: argv("sh", "-c", "echo x >&2") }], "n0nce", { timed: false });
    // a PATH whose sed records that it ran, then does what sed does
    const bin = mkdtempSync(join(tmpdir(), "bp-sed-"));
    const real = execFileSync("sh", ["-c", "command -v sed"]).toString().trim();
    writeFileSync(join(bin, "sed"), `#!/bin/sh\necho ran >> "${bin}/count"\nexec ${real} "$@"\n`, { mode: 0o755 });
    const out = execFileSync("sh", ["-s"], { input: script, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }).toString();
    expect(splitSections(out, "n0nce").get("loud")!.stderr).toBe("x\n");
    expect(readFileSync(join(bin, "count"), "utf8")).toBe("ran\n");
  });

  it("ignore marker lines forged by command output (wrong nonce)", () => {
    const script = batchScript([{ key: "a", command: argv("printf", "@@bp-other:end a 0\\nreal\\n") }], "n0nce");
    const s = splitSections(execFileSync("sh", ["-s"], { input: script }).toString(), "n0nce");
    expect(s.get("a")?.stdout).toBe("@@bp-other:end a 0\nreal\n");
  });
});

describe("refresh output captured from a vm-tier host with 200 datasets", () => {
  const nonce = readFileSync(join(fixtures, "refresh", "zfs-2.3-200-datasets.nonce"), "utf8").trim();
  const raw = readFileSync(join(fixtures, "refresh", "zfs-2.3-200-datasets.txt"), "utf8");
  it("parses into the host's live model", () => {
    const live = parseRefresh("dr", splitSections(raw, nonce), []);
    expect(live.zfs.userland).toBe("2.3.2");
    expect(live.kernel).toMatch(/^6\.12\./);
    expect([...live.datasets.keys()].filter((n) => n.startsWith("many/ds"))).toHaveLength(200);
    expect(live.pools.get("many")?.row.health).toBe("ONLINE");
    expect(live.pools.get("many")?.features.has("large_blocks")).toBe(true);
  });
  it("has one section per refresh item", () => {
    expect([...splitSections(raw, nonce).keys()]).toEqual(refreshItems([]).map((i) => i.key));
  });
});

describe("refresh output captured from an ns-tier host (zfs-fuse 0.7, pool v23)", () => {
  const nonce = readFileSync(join(fixtures, "refresh", "zfs-fuse-0.7-old-pool.nonce"), "utf8").trim();
  const raw = readFileSync(join(fixtures, "refresh", "zfs-fuse-0.7-old-pool.txt"), "utf8");
  const live = parseRefresh("old", splitSections(raw, nonce), []);
  it("is recognised as an old, non-OpenZFS host in the same round trip", () => {
    expect(live.legacy).toBe(true);
    expect(live.zfs.userland).toBeNull();
    expect(live.zfs.raw).toBe("unrecognized command 'version'");
  });
  it("still reads pools, datasets with sources, and snapshots (derived from zfs get all)", () => {
    expect(live.pools.get("old")?.row.health).toBe("ONLINE");
    expect(live.pools.get("old")?.features.size).toBe(0);
    expect(live.datasets.get("old/logs")?.get("compression")).toEqual({ value: "gzip", source: { kind: "local" } });
    expect(live.datasets.get("old/logs")?.get("backplane:managed")).toEqual({ value: "fixture", source: { kind: "local" } });
    expect(live.snapshots.get("old/logs@first")).toMatchObject({ dataset: "old/logs", snapshot: "first" });
    expect([...live.datasets.keys()].some((n) => n.includes("@"))).toBe(false);
  });
});
