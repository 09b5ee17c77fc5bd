/**
 * Property-based: every field of every kind, and the raw cdk.tf.json around it, fed hostile
 * and valid values. Each case is either refused at load — before any process: a recording
 * Transport saw nothing and a fake `ssh` first on PATH recorded nothing — with the construct
 * path (or the host's label) and the field in a short, escaped message; or, when valid, it
 * reaches the host as exactly one argv element equal to the input in its canonical form,
 * checked by reading the quoted command back through a local POSIX shell
 * (`sh -c 'printf "%s\0" "$@"' sh <quoted words>`). No real ssh is spawned here.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { loadStack, LoadError, type DesiredGraph } from "../../provider/engine/load.js";
import { makePlan } from "../../provider/engine/plan.js";
import { argv, toShell, type Argv } from "../../provider/model/argv.js";
import type { RunResult, Transport } from "../../provider/transport/transport.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { resolveProperty } from "../../provider/zfs/properties.js";
import { canonicalAllowedIp, canonicalInterfaceAddress } from "../../provider/wg/net.js";
import { withHost, HOST_KEY } from "./helpers/synth.js";
import { liveFrom } from "./helpers/seed.js";
import { hostile, from, ALNUM, LOWER } from "./helpers/hostile.js";
import { optionValue } from "./helpers/openssh.js";

type Doc = Record<string, any>;

/** Records what it is asked to run; runs nothing. */
class RecordingTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  readonly commands: Argv[] = [];
  constructor(readonly host: string) {}
  async run(cmd: Argv): Promise<RunResult> {
    this.roundTrips++;
    this.commands.push(cmd);
    return { stdout: "", stderr: "", exitCode: 0, durationMs: 0 };
  }
  async script(): Promise<RunResult> {
    this.roundTrips++;
    return { stdout: "", stderr: "", exitCode: 0, durationMs: 0 };
  }
  prepare(cmd: Argv) {
    this.commands.push(cmd);
    return { file: "true", args: [] };
  }
  async close() {}
}

/** The words a POSIX shell reads back from the quoted command, as the remote side would. */
function shellWords(cmd: Argv): string[] {
  const out = execFileSync("sh", ["-c", `sh -c 'printf "%s\\0" "$@"' sh ${toShell(cmd)}`], { maxBuffer: 64 << 20 }).toString("utf8");
  return out.split("\0").slice(0, -1);
}

let resourcesBase: Doc;
let hostBase: Doc;
let fakeDir: string;
const sshLog = () => join(fakeDir, "ssh-argv");
const spawned = () => (existsSync(sshLog()) ? readFileSync(sshLog(), "utf8") : "");
const oldPath = process.env.PATH;
const oldRuntime = process.env.BACKPLANE_RUNTIME_DIR;

beforeAll(() => {
  fakeDir = mkdtempSync(join(tmpdir(), "bp-fake-ssh-"));
  // the only `ssh` these tests can reach: it records its argv (NUL-separated) and does nothing
  writeFileSync(join(fakeDir, "ssh"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >> "${sshLog()}"\nprintf '\\n' >> "${sshLog()}"\nexit 0\n`);
  chmodSync(join(fakeDir, "ssh"), 0o755);
  process.env.PATH = `${fakeDir}:${oldPath}`;
  process.env.BACKPLANE_RUNTIME_DIR = fakeDir;
  resourcesBase = withHost((h) => {
    h.pool("pool", { name: "tank", vdevs: ["/dev/vdb"], properties: { comment: "ok" }, filesystemProperties: { compression: "lz4" } });
    h.dataset("ds", { name: "tank/a", properties: { mountpoint: "/srv/a" }, userProperties: { "com.example:note": "x" } });
    h.snapshot("snap", { dataset: "tank/a", name: "s1" });
    h.clone("cl", { name: "tank/c", origin: "tank/a@s1" });
    const wg = h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.1/24"] });
    wg.addPeer("p", { publicKey: "KHWDMlK1varaUtJE5K6XqvUibuDQ7Fz7NErynUN4ZBc=", allowedIps: ["10.0.0.2/32"], endpoint: "10.200.0.2:51820" });
  });
  hostBase = withHost(() => {});
  delete hostBase.resource;
});

afterAll(() => {
  process.env.PATH = oldPath;
  if (oldRuntime === undefined) delete process.env.BACKPLANE_RUNTIME_DIR;
  else process.env.BACKPLANE_RUNTIME_DIR = oldRuntime;
  rmSync(fakeDir, { recursive: true, force: true });
  const c = counts;
  console.log(
    `bad-input property tests: ${c.tried} cases tried; ${c.rejected} rejected at load before any process; ` +
      `${c.delivered} accepted and delivered intact; ${c.planRefused} accepted but refused by the planner (needs host state, nothing sent); ` +
      `${c.benign} raw-document changes accepted as harmless (a valid resource name or construct path); ` +
      `${c.falseRejections} false rejections; ${c.mangled} delivered mangled`,
  );
});

const counts = { tried: 0, rejected: 0, delivered: 0, planRefused: 0, benign: 0, falseRejections: 0, mangled: 0 };

const find = (doc: Doc, type: string, prefix: string): Doc => {
  const all = doc.resource[type] as Record<string, Doc>;
  return all[Object.keys(all).find((k) => k.startsWith(prefix))!]!;
};
const addressOf = (doc: Doc, type: string, prefix: string) => `${type}.${Object.keys(doc.resource[type]).find((k) => k.startsWith(prefix))}`;

/** A value as JSON can carry it: strings mostly, numbers for the numeric fields. */
type Value = any;

interface Field {
  name: string;
  doc: "resources" | "host";
  /** resource type and id prefix (resources only) */
  at?: [string, string];
  set(doc: Doc, v: Value): void;
  /** what a refusal must name besides the construct path */
  names: string;
  /** the argv word a valid value arrives as (resources), or a check of the ssh argv (host) */
  word?(v: Value): string;
  host?(v: Value, args: string[], knownHosts: string | null): boolean;
  valid?: fc.Arbitrary<Value>;
  hostile?: fc.Arbitrary<Value>;
}

/** Numbers JSON can carry, and things that are not numbers, for the numeric fields. */
const numberish: fc.Arbitrary<Value> = fc.oneof(
  fc.integer({ min: -100_000, max: 5_000_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1, 22, 65535, 65536, 2 ** 32, 2 ** 53 + 2, 0.5, 1e308, -0, "22", "1; reboot", null, true, [], {}),
);

const component = from(`${ALNUM}_-:. `, 1, 20).filter((c) => c !== "." && c !== "..");
const validDatasetName = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => `tank/${cs.join("/")}`).filter((n) => n.length <= 255);
const userPropName = fc.tuple(from(`${LOWER}0123456789_.`, 1, 20), from(`${LOWER}0123456789-_.:`, 0, 20)).map(([a, b]) => `${a}:${b}`);
const printable = fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }).filter((s) => !/[\p{Cc}]/u.test(s));
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("base64"));

const ds = (d: Doc) => find(d, "backplane_dataset", "prod_ds_");
const pool = (d: Doc) => find(d, "backplane_pool", "prod_pool_");
const snap = (d: Doc) => find(d, "backplane_snapshot", "prod_snap_");
const clone = (d: Doc) => find(d, "backplane_clone", "prod_cl_");
const wg = (d: Doc) => find(d, "backplane_wireguard_interface", "prod_wg_");
const peer = (d: Doc) => find(d, "backplane_wireguard_peer", "prod_wg_p_");
const provider = (d: Doc) => d.provider.backplane[0] as Doc;
const sshOption = (args: string[], key: string) => args.find((a, i) => args[i - 1] === "-o" && a.startsWith(`${key}=`));

const FIELDS: Field[] = [
  { name: "dataset name", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "name", set: (d, v) => { ds(d).name = v; }, word: (v) => v, valid: validDatasetName },
  {
    name: "dataset property name", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "properties",
    set: (d, v) => { ds(d).properties = { [v]: "on" }; }, word: (v) => `${resolveProperty(v).name}=on`,
    valid: fc.constantFrom("atime", "exec", "rdonly", "readonly", "setuid", "devices", "relatime"),
  },
  { name: "dataset mountpoint", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "mountpoint", set: (d, v) => { ds(d).properties = { mountpoint: v }; }, word: (v) => `mountpoint=${v.length > 1 ? v.replace(/\/+$/, "") : v}`,
    valid: fc.array(printable.filter((c) => !c.includes("/") && c !== ".." && new TextEncoder().encode(c).length < 256), { minLength: 1, maxLength: 4 }).map((cs) => `/${cs.join("/")}`).filter((p) => p.length <= 1023) },
  { name: "dataset property value", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "properties", set: (d, v) => { ds(d).properties = { quota: v }; }, word: () => "", valid: fc.constantFrom("1G", "500M", "none", "1.5T") },
  { name: "user property name", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "user_properties", set: (d, v) => { ds(d).user_properties = { [v]: "x" }; }, word: (v) => `${v}=x`, valid: userPropName.filter((n) => n !== "backplane:managed") },
  { name: "user property value", doc: "resources", at: ["backplane_dataset", "prod_ds_"], names: "user_properties", set: (d, v) => { ds(d).user_properties = { "com.example:note": v }; }, word: (v) => `com.example:note=${v}`, valid: printable },
  { name: "snapshot name", doc: "resources", at: ["backplane_snapshot", "prod_snap_"], names: "name", set: (d, v) => { snap(d).name = v; }, word: (v) => `tank/a@${v}`, valid: component },
  { name: "clone name", doc: "resources", at: ["backplane_clone", "prod_cl_"], names: "name", set: (d, v) => { clone(d).name = v; }, word: (v) => v, valid: validDatasetName.filter((n) => n !== "tank/a") },
  { name: "clone origin", doc: "resources", at: ["backplane_clone", "prod_cl_"], names: "origin", set: (d, v) => { clone(d).origin = v; }, word: (v) => v },
  { name: "clone property name", doc: "resources", at: ["backplane_clone", "prod_cl_"], names: "properties", set: (d, v) => { clone(d).properties = { [v]: "off" }; }, word: (v) => `${resolveProperty(v).name}=off`, valid: fc.constantFrom("atime", "exec", "compress", "compression") },
  { name: "pool vdev", doc: "resources", at: ["backplane_pool", "prod_pool_"], names: "vdevs", set: (d, v) => { pool(d).vdevs = [v]; }, word: (v) => v, valid: from(`${ALNUM}_:+-`, 1, 30).map((s) => `/dev/${s}`) },
  { name: "pool property name", doc: "resources", at: ["backplane_pool", "prod_pool_"], names: "properties", set: (d, v) => { pool(d).properties = { [v]: "on" }; }, word: (v) => `${v}=on`, valid: fc.constantFrom("autotrim", "autoexpand", "autoreplace", "listsnapshots", "multihost", "delegation") },
  { name: "pool comment", doc: "resources", at: ["backplane_pool", "prod_pool_"], names: "comment", set: (d, v) => { pool(d).properties = { comment: v }; }, word: (v) => `comment=${v}`, valid: fc.string({ unit: fc.constantFrom(...[..." !\"#$%&'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~"]), minLength: 0, maxLength: 32 }) },
  { name: "pool filesystem property", doc: "resources", at: ["backplane_pool", "prod_pool_"], names: "filesystem_properties", set: (d, v) => { pool(d).filesystem_properties = { [v]: "off" }; }, word: (v) => `${resolveProperty(v).name}=off`, valid: fc.constantFrom("atime", "compress", "exec", "rdonly") },
  { name: "wireguard interface name", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "name", set: (d, v) => { wg(d).name = v; peer(d).interface = v; }, word: (v) => v,
    valid: from(`${ALNUM}_=+.-`, 1, 15).filter((n) => !n.startsWith("-") && n !== "." && n !== "..") },
  { name: "wireguard address", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "addresses", set: (d, v) => { wg(d).addresses = [v]; }, word: canonicalInterfaceAddress,
    valid: fc.oneof(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))).map(([a, n]) => `${a}/${n}`) },
  { name: "peer public key", doc: "resources", at: ["backplane_wireguard_peer", "prod_wg_p_"], names: "public_key", set: (d, v) => { peer(d).public_key = v; }, word: (v) => v, valid: key32 },
  { name: "peer allowed ip", doc: "resources", at: ["backplane_wireguard_peer", "prod_wg_p_"], names: "allowed_ips", set: (d, v) => { peer(d).allowed_ips = [v]; }, word: canonicalAllowedIp,
    valid: fc.oneof(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))).map(([a, n]) => `${a}/${n}`) },
  { name: "peer endpoint", doc: "resources", at: ["backplane_wireguard_peer", "prod_wg_p_"], names: "endpoint", set: (d, v) => { peer(d).endpoint = v; }, word: (v) => v, valid: fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`) },
  { name: "snapshot retain_prefix", doc: "resources", at: ["backplane_snapshot", "prod_snap_"], names: "retain_prefix", set: (d, v) => { snap(d).retain_prefix = v; snap(d).retain_count = 3; }, word: () => "", valid: component },
  { name: "wireguard rotate", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "rotate", set: (d, v) => { wg(d).rotate = v; }, word: () => "", valid: printable },
  { name: "wireguard listen_port", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "listen_port", set: (d, v) => { wg(d).listen_port = v; }, word: (v) => String(v), valid: fc.integer({ min: 1, max: 65535 }), hostile: numberish },
  { name: "wireguard mtu", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "mtu", set: (d, v) => { wg(d).mtu = v; }, word: (v) => String(v), valid: fc.integer({ min: 576, max: 9000 }), hostile: numberish },
  { name: "wireguard fwmark", doc: "resources", at: ["backplane_wireguard_interface", "prod_wg_"], names: "fwmark", set: (d, v) => { wg(d).fwmark = v; }, word: (v) => (v === 0 ? "-" /* 0 is off: not set */ : String(v)), valid: fc.integer({ min: 1, max: 0xffffffff }), hostile: numberish },
  { name: "peer persistent_keepalive", doc: "resources", at: ["backplane_wireguard_peer", "prod_wg_p_"], names: "persistent_keepalive", set: (d, v) => { peer(d).persistent_keepalive = v; }, word: (v) => String(v), valid: fc.integer({ min: 0, max: 65535 }), hostile: numberish },
  // the host: every field of the provider block, delivered to (fake) ssh
  { name: "host port", doc: "host", names: "port", set: (d, v) => { provider(d).port = v; }, host: (v, args) => args[args.indexOf("-p") + 1] === String(v), valid: fc.integer({ min: 1, max: 65535 }), hostile: numberish },
  { name: "host connect_timeout", doc: "host", names: "connect_timeout", set: (d, v) => { provider(d).connect_timeout = v; }, host: (v, args) => sshOption(args, "ConnectTimeout") === `ConnectTimeout=${v}`, valid: fc.integer({ min: 1, max: 600 }), hostile: numberish },
  { name: "host alias", doc: "host", names: "alias", set: (d, v) => { provider(d).alias = v; }, host: (v, args, kh) => sshOption(args, "HostKeyAlias") === `HostKeyAlias=backplane-${v.toLowerCase()}` && kh === `backplane-${v.toLowerCase()} ${HOST_KEY}\n`,
    valid: fc.tuple(from(`${ALNUM.slice(0, 52)}`, 1, 1), from(`${ALNUM}_-`, 0, 62)).map(([a, b]) => a + b) },
  { name: "host address", doc: "host", names: "address", set: (d, v) => { provider(d).address = v; }, host: (v, args) => args[args.indexOf("--") + 1] === v, valid: fc.oneof(fc.ipV4(), fc.domain()) },
  { name: "host user", doc: "host", names: "user", set: (d, v) => { provider(d).user = v; }, host: (v, args) => args[args.indexOf("-l") + 1] === v,
    valid: fc.tuple(from(`${ALNUM}_`, 1, 1), from(`${ALNUM}_.-`, 0, 31)).map(([a, b]) => a + b).filter((u) => u !== "." && u !== "..") },
  { name: "host identity_file", doc: "host", names: "identity_file", set: (d, v) => { provider(d).identity_file = v; }, host: (v, args) => optionValue(sshOption(args, "IdentityFile") ?? "", { percentTokens: true }) === v, valid: printable.filter((p) => !p.includes("${")) },
  { name: "host known_hosts_file", doc: "host", names: "known_hosts_file", set: (d, v) => { delete provider(d).host_key; provider(d).known_hosts_file = v; },
    host: (v, args) => optionValue(sshOption(args, "UserKnownHostsFile") ?? "", { percentTokens: true }) === v, valid: printable.filter((p) => !p.includes("${")) },
  // ssh -F does not expand '~': "~/" is the home (expanded by the transport), "~user/" is refused
  { name: "host ssh_config_file", doc: "host", names: "ssh_config_file", set: (d, v) => { provider(d).ssh_config_file = v; },
    host: (v, args) => args[args.indexOf("-F") + 1] === (v === "~" || v.startsWith("~/") ? `${userInfo().homedir}${v.slice(1)}` : v), valid: printable.filter((p) => !/^~[^/]/.test(p)) },
  { name: "host key", doc: "host", names: "host_key", set: (d, v) => { provider(d).host_key = v; }, host: (v, _args, kh) => kh === `backplane-prod ${v.split(" ").slice(0, 2).join(" ")}\n`,
    valid: fc.tuple(key32, fc.constantFrom("", " comment", " root@host")).map(([k, c]) => { const t = Buffer.from("ssh-ed25519"); const b = Buffer.concat([Buffer.from([0, 0, 0, t.length]), t, Buffer.from([0, 0, 0, 32]), Buffer.from(k, "base64")]); return `ssh-ed25519 ${b.toString("base64")}${c}`; }) },
  { name: "host command prefix", doc: "host", names: "command_prefix", set: (d, v) => { provider(d).command_prefix = [v]; }, host: (v, args) => remoteWords(args[args.length - 1]!)[0] === v,
    valid: from(`${ALNUM}_./=-`, 1, 20) },
];

/** The words of the remote command string as the remote shell splits it. */
function remoteWords(remote: string): string[] {
  return execFileSync("sh", ["-c", `sh -c 'printf "%s\\0" "$@"' sh ${remote}`]).toString("utf8").split("\0").slice(0, -1);
}

type Verdict = { kind: "rejected"; message: string } | { kind: "delivered" } | { kind: "plan-refused" } | { kind: "mangled"; detail: string };

function loadOrReject(doc: Doc): DesiredGraph | { message: string } {
  try {
    return loadStack(doc);
  } catch (e) {
    // a refusal is a LoadError listing problems — never a raw library exception
    expect(e).toBeInstanceOf(LoadError);
    return { message: (e as Error).message };
  }
}

async function runResourceCase(f: Field, v: Value): Promise<Verdict> {
  const doc = structuredClone(resourcesBase);
  f.set(doc, v);
  const transport = new RecordingTransport("prod");
  const g = loadOrReject(doc);
  if ("message" in g) {
    expect(transport.commands).toEqual([]);
    return { kind: "rejected", message: g.message };
  }
  const plan = makePlan({ stack: "t", graph: g, state: null, live: new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")]]), newLineage: "00000000-0000-4000-8000-000000000000" });
  const change = plan.changes.find((c) => c.address === addressOf(doc, f.at![0], f.at![1]));
  if (!change || change.steps.length === 0) return { kind: "plan-refused" };
  for (const s of change.steps) await transport.run(s.command);
  const want = f.word!(v);
  let found = want === "";
  for (const cmd of transport.commands) {
    const words = shellWords(cmd);
    if (JSON.stringify(words) !== JSON.stringify(cmd.map((w) => w.text))) return { kind: "mangled", detail: `${JSON.stringify(cmd.map((w) => w.text))} came back as ${JSON.stringify(words)}` };
    if (words.includes(want)) found = true;
  }
  return found ? { kind: "delivered" } : { kind: "mangled", detail: `no argv element is ${JSON.stringify(want)}` };
}

async function runHostCase(f: Field, v: Value): Promise<Verdict> {
  const doc = structuredClone(hostBase);
  f.set(doc, v);
  const before = spawned();
  const g = loadOrReject(doc);
  if ("message" in g) {
    expect(spawned()).toBe(before);
    return { kind: "rejected", message: g.message };
  }
  const config = [...g.hosts.values()][0]!;
  writeFileSync(sshLog(), "");
  const t = new SshTransport(config);
  await t.run(argv("zfs", "list", "-H"));
  const args = readFileSync(sshLog(), "utf8").replace(/\n$/, "").split("\0").slice(0, -1);
  const known = sshOption(args, "UserKnownHostsFile");
  const khPath = known ? optionValue(known, { percentTokens: true }) : null;
  const kh = config.hostKey && khPath && existsSync(khPath) ? readFileSync(khPath, "utf8") : null;
  return f.host!(v, args, kh) ? { kind: "delivered" } : { kind: "mangled", detail: JSON.stringify(args).slice(0, 400) };
}

function judge(f: Field, v: Value, verdict: Verdict, mustAccept: boolean): void {
  counts.tried++;
  if (verdict.kind === "rejected") {
    counts.rejected++;
    if (mustAccept) counts.falseRejections++;
    expect(mustAccept, `false rejection of ${f.name} ${String(JSON.stringify(v)).slice(0, 200)}: ${verdict.message.slice(0, 400)}`).toBe(false);
    const m = verdict.message;
    expect(m.length).toBeLessThan(4000);
    expect(m).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/);
    expect(m).toContain(f.doc === "host" ? "provider backplane" : "test/prod/");
    expect(m).toContain(f.names);
  } else if (verdict.kind === "delivered") counts.delivered++;
  else if (verdict.kind === "plan-refused") counts.planRefused++;
  else {
    counts.mangled++;
    throw new Error(`${f.name} ${String(JSON.stringify(v)).slice(0, 200)} was accepted but ${verdict.detail}`);
  }
}

const run = (f: Field, v: Value) => (f.doc === "host" ? runHostCase(f, v) : runResourceCase(f, v));

describe("every field: refused at load before any process, or delivered as one intact argv element", () => {
  for (const f of FIELDS) {
    it(`${f.name}: hostile values`, async () => {
      await fc.assert(fc.asyncProperty(f.hostile ?? hostile(), async (v) => judge(f, v, await run(f, v), false)), { numRuns: 40, seed: 12 });
    }, 120_000);
    if (f.valid) {
      it(`${f.name}: values OpenZFS, OpenSSH or WireGuard accept are accepted and delivered`, async () => {
        await fc.assert(fc.asyncProperty(f.valid!, async (v) => judge(f, v, await run(f, v), true)), { numRuns: 25, seed: 12 });
      }, 120_000);
    }
  }

  it("every hand-written case, in every field", async () => {
    const { HAND_WRITTEN } = await import("./helpers/hostile.js");
    for (const f of FIELDS) for (const v of HAND_WRITTEN) judge(f, v, await run(f, v), false); // numeric fields: strings are refused
  }, 300_000);

  it("raw cdk.tf.json: hostile keys and shapes are refused with short, escaped messages", async () => {
    await fc.assert(fc.asyncProperty(hostile(), fc.constantFrom("resource-name", "resource-type", "top-level", "meta-path", "provider-name", "attribute"), async (v, where) => {
      const doc = structuredClone(resourcesBase);
      const all = doc.resource.backplane_dataset as Doc;
      const id = Object.keys(all)[0]!;
      if (where === "resource-name") { all[v] = all[id]; delete all[id]; }
      else if (where === "resource-type") doc.resource[v] = { x: {} };
      else if (where === "top-level") doc[v] = {};
      else if (where === "meta-path") all[id]["//"] = { metadata: { path: v } };
      else if (where === "provider-name") doc.provider[v] = [{}];
      else all[id][v] = "x";
      const g = loadOrReject(doc);
      counts.tried++;
      if ("message" in g) {
        counts.rejected++;
        expect(g.message.length).toBeLessThan(4000);
        expect(g.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/);
      } else {
        // accepted: a benign key (a valid resource name, a harmless path) changes nothing that runs
        counts.benign++;
      }
    }), { numRuns: 120, seed: 12 });
  }, 120_000);

  it("ran at least 500 cases, with no false rejection and nothing delivered mangled", () => {
    expect(counts.tried).toBeGreaterThanOrEqual(500);
    expect(counts.falseRejections).toBe(0);
    expect(counts.mangled).toBe(0);
  });
});
