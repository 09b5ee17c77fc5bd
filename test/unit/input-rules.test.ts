/**
 * The rules issue #12 closes, one behaviour per test: every ZFS property through the one
 * catalogue (pool, root filesystem, clone), OpenZFS's name limits and short names, hosts
 * checked whole at load, host keys parsed, addresses canonical, messages short and escaped.
 */
import { describe, it, expect } from "vitest";
import { loadStack } from "../../provider/engine/load.js";
import { loadRefusal } from "./helpers/load.js";
import { makePlan } from "../../provider/engine/plan.js";
import { toDisplay } from "../../provider/model/argv.js";
import { echo, hostSaid, HOST_SAID_LIMIT } from "../../provider/model/echo.js";
import { ConnectError, HostKeyError } from "../../provider/transport/transport.js";
import { datasetNameProblem, poolNameProblem, snapshotNameProblem } from "../../provider/zfs/names.js";
import { propertyProblems, type PropertyContext } from "../../provider/zfs/assignments.js";
import { poolPropertyProblems } from "../../provider/zfs/pool-properties.js";
import { userPropertyNameProblem, userPropertyValueProblem } from "../../provider/zfs/properties.js";
import { canonicalAllowedIp, canonicalEndpoint, canonicalInterfaceAddress, cidrProblem, interfaceNameProblem } from "../../provider/wg/net.js";
import { userProblem } from "../../provider/schema/kinds/host.js";
import { withHost } from "./helpers/synth.js";
import { liveFrom } from "./helpers/seed.js";

type Doc = Record<string, any>;
const DATASET: PropertyContext = { kind: "filesystem", target: "dataset", ephemeral: false, userProperties: "separate" };
const CLONE: PropertyContext = { kind: "either", target: "clone", ephemeral: false, userProperties: "not-read" };
const ROOT: PropertyContext = { kind: "filesystem", target: "pool-root", ephemeral: false, userProperties: "not-read" };
const messages = (p: { message: string }[]) => p.map((x) => x.message).join(" | ");

const loadMessage = loadRefusal;

const first = (doc: Doc, type: string): Doc => Object.values(doc.resource[type] as Record<string, Doc>)[0]!;

function planSteps(doc: Doc, type: string): string[] {
  const g = loadStack(doc);
  const p = makePlan({ stack: "t", graph: g, state: null, live: new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")]]), newLineage: "00000000-0000-4000-8000-000000000000" });
  return p.changes.filter((c) => c.address.startsWith(`${type}.`)).flatMap((c) => c.steps.map((s) => toDisplay(s.command)));
}

describe("every ZFS property goes through the one catalogue, wherever it appears", () => {
  it("what a host's OpenZFS version cannot take is refused at plan time wherever the property appears: dataset, clone, pool root (real 2.1.11 host)", () => {
    const old = liveFrom("zfs-2.1-prod-pool", "prod");
    const plan = (doc: Doc) => makePlan({ stack: "t", graph: loadStack(doc), state: null, live: new Map([["prod", old]]), newLineage: "00000000-0000-4000-8000-000000000000" });
    const errorsOf = (doc: Doc) => plan(doc).errors.map((e) => e.message).join(" | ");
    const meta = (path: string) => ({ "//": { metadata: { path } } });
    const doc = withHost(() => {});
    doc.resource = { backplane_dataset: { d: { provider: "backplane.prod", name: "tank/d", properties: { recsize: "2M" }, ...meta("test/prod/d/dataset") } } };
    expect(errorsOf(doc)).toMatch(/recordsize=2M cannot be set on prod \(tank\/d\): recordsize above 1M needs OpenZFS 2\.2.*host runs OpenZFS 2\.1\.11/);
    doc.resource = { backplane_clone: { c: { provider: "backplane.prod", name: "tank/c", origin: "tank/srv@s", properties: { recordsize: "4M" }, ...meta("test/prod/c/clone") } } };
    expect(errorsOf(doc)).toMatch(/recordsize=4M cannot be set on prod \(tank\/c\): recordsize above 1M needs OpenZFS 2\.2/);
    doc.resource = { backplane_pool: { p: { provider: "backplane.prod", name: "fresh", vdevs: ["/dev/vdc"], filesystem_properties: { special_small_blocks: "2M" }, ...meta("test/prod/p/pool") } } };
    expect(errorsOf(doc)).toMatch(/special_small_blocks=2M cannot be set on prod \(root filesystem of pool fresh\): special_small_blocks above 1M needs OpenZFS 2\.3/);
    // the same values are fine on the 2.3 host
    const now = liveFrom("zfs-2.3-prod-seed", "prod");
    doc.resource = { backplane_dataset: { d: { provider: "backplane.prod", name: "tank/d", properties: { recsize: "2M", special_small_blocks: "2M" }, ...meta("test/prod/d/dataset") } } };
    expect(makePlan({ stack: "t", graph: loadStack(doc), state: null, live: new Map([["prod", now]]), newLineage: "00000000-0000-4000-8000-000000000000" }).errors).toEqual([]);
  });

  it("a clone may not disable sync unless it is marked ephemeral", () => {
    const doc = withHost(() => {});
    doc.resource = { backplane_clone: { c: { provider: "backplane.prod", name: "tank/c", origin: "tank/a@s", properties: { sync: "disabled" }, "//": { metadata: { path: "test/prod/c/clone" } } } } };
    const m = loadMessage(doc);
    expect(m).toContain("test/prod/c/clone");
    expect(m).toContain("properties.sync");
    expect(m).toContain("ephemeral");
    doc.resource.backplane_clone.c.ephemeral = true;
    expect(() => loadStack(doc)).not.toThrow();
  });

  it("a clone's properties are checked like a dataset's, and encryption is inherited from the origin", () => {
    expect(messages(propertyProblems({ compression: "lz4; reboot" }, CLONE))).toContain("must be one of");
    expect(messages(propertyProblems({ encryption: "on", keyformat: "passphrase" }, CLONE))).toContain("must inherit from the origin");
    expect(messages(propertyProblems({ "com.x:y": "z" }, CLONE))).toContain("user_properties");
  });

  it("a pool's root filesystem properties are checked by name and value, and sync=disabled is refused there", () => {
    expect(messages(propertyProblems({ recordsize: "3K" }, ROOT))).toContain("power of 2");
    expect(messages(propertyProblems({ colour: "blue" }, ROOT))).toContain("unknown or unsupported ZFS property 'colour'");
    expect(messages(propertyProblems({ sync: "disabled" }, ROOT))).toContain("pool's root filesystem");
    expect(messages(propertyProblems({ volsize: "1G" }, ROOT))).toContain("does not apply to a filesystem");
  });

  it("pool properties have their own catalogue: domains, when they may be set, read-only ones", () => {
    const create = { pool: "tank", create: true };
    const adopt = { pool: "tank", create: false };
    expect(poolPropertyProblems({ ashift: "12", autotrim: "on", expand: "on", comment: "rack 4", "feature@async_destroy": "disabled" }, create)).toEqual([]);
    expect(messages(poolPropertyProblems({ ashift: "17" }, create))).toContain("9 to 16");
    expect(messages(poolPropertyProblems({ ashift: "4K" }, create))).toContain("ashift");
    expect(messages(poolPropertyProblems({ comment: "x".repeat(33) }, create))).toContain("must not exceed 32");
    expect(messages(poolPropertyProblems({ comment: "tab\there" }, create))).toContain("printable");
    expect(messages(poolPropertyProblems({ autotrim: "yes" }, create))).toContain("on, off");
    expect(messages(poolPropertyProblems({ "feature@async_destroy": "disabled" }, adopt))).toContain("at creation time");
    expect(messages(poolPropertyProblems({ "feature@async_destroy": "active" }, create))).toContain("'enabled' or 'disabled'");
    expect(messages(poolPropertyProblems({ health: "ONLINE" }, create))).toContain("read-only");
    expect(messages(poolPropertyProblems({ readonly: "on" }, create))).toContain("imported");
    expect(messages(poolPropertyProblems({ altroot: "/mnt" }, adopt))).toContain("created or imported");
    expect(messages(poolPropertyProblems({ bootfs: "tank/root" }, create))).toContain("cannot be set at creation");
    expect(messages(poolPropertyProblems({ cachefile: "relative" }, create))).toContain("absolute path");
    expect(messages(poolPropertyProblems({ autotrim: "on", "autotrim;reboot": "on" }, create))).toContain("unknown pool property");
  });

  it("the pool kind checks its properties and root filesystem properties at load, naming the construct path", () => {
    const doc = withHost((h) => { h.pool("p", { name: "tank", vdevs: ["/dev/vdb"] }); });
    first(doc, "backplane_pool").properties = { ashift: "99" };
    first(doc, "backplane_pool").filesystem_properties = { "compression\nreboot": "lz4" };
    const m = loadMessage(doc);
    expect(m).toContain("test/prod/p/pool");
    expect(m).toContain("properties.ashift");
    expect(m).toContain("compression\\nreboot");
  });

  it("short names OpenZFS accepts are accepted and sent in canonical form", () => {
    const doc = withHost((h) => { h.pool("p", { name: "tank", vdevs: ["/dev/vdb"], properties: { expand: "on" }, filesystemProperties: { compress: "lz4" } }); h.dataset("d", { name: "tank/d", properties: { recsize: "1M", rdonly: "on" } }); });
    expect(planSteps(doc, "backplane_pool").join("\n")).toContain("zpool create -o autoexpand=on -O compression=lz4");
    expect(planSteps(doc, "backplane_dataset").join("\n")).toContain("-o readonly=on -o recordsize=1048576");
    expect(messages(propertyProblems({ compress: "lz4", compression: "zstd" }, DATASET))).toContain("same property (compression)");
  });

  it("read-only properties are refused as read-only, not as unknown", () => {
    for (const p of ["used", "avail", "available", "creation", "guid", "origin", "written@snap", "userused@alice", "mounted", "encroot"]) {
      expect(messages(propertyProblems({ [p]: "1" }, DATASET))).toContain("read-only");
    }
  });

  it("properties OpenZFS accepts but backplane does not read back are refused as not managed, never planned forever", () => {
    expect(messages(propertyProblems({ dedup: "on" }, DATASET))).toContain("does not manage yet");
    expect(messages(propertyProblems({ "userquota@alice": "10G" }, DATASET))).toContain("does not manage yet");
  });

  it("cross-property rules: refreservation=auto on volumes only, encryption needs keyformat, keylocation needs keyformat", () => {
    expect(messages(propertyProblems({ refreservation: "auto" }, DATASET))).toContain("only accepted on volumes");
    expect(propertyProblems({ refreservation: "auto", volsize: "1G" }, { ...DATASET, kind: "volume" })).toEqual([]);
    expect(messages(propertyProblems({ encryption: "on" }, DATASET))).toContain("needs keyformat");
    expect(messages(propertyProblems({ encryption: "off", keyformat: "raw" }, DATASET))).toContain("needs encryption");
    expect(messages(propertyProblems({ keylocation: "prompt" }, DATASET))).toContain("keylocation needs keyformat");
    expect(propertyProblems({ encryption: "aes-256-gcm", keyformat: "passphrase", keylocation: "prompt" }, DATASET)).toEqual([]);
    expect(messages(propertyProblems({ normalization: "formD", utf8only: "off" }, DATASET))).toContain("utf8only=on");
    expect(messages(propertyProblems({ volsize: "1000000", volblocksize: "16K" }, { ...DATASET, kind: "volume" }))).toContain("multiple of volblocksize");
  });

  it("user property names exactly as zfs_prop_user; values with control characters refused clearly", () => {
    expect(userPropertyNameProblem(":x")).toBeNull(); // zfs_prop_user accepts a leading ':'
    expect(userPropertyNameProblem("a.b-c_d:e:f")).toBeNull();
    expect(userPropertyNameProblem(`a:${"b".repeat(253)}`)).toBeNull();
    expect(userPropertyNameProblem(`a:${"b".repeat(254)}`)).toContain("limit is 255");
    expect(userPropertyNameProblem("-a:b")).toContain("option");
    expect(userPropertyValueProblem("line one\nline two")).toContain("a newline (U+000A)");
    expect(userPropertyValueProblem("a\tb")).toContain("a tab (U+0009)");
    expect(userPropertyValueProblem("a\u0007b")).toContain("control character (U+0007)");
    expect(userPropertyValueProblem("naïve ünïcode ok")).toBeNull();
  });
});

describe("a clone of a snapshot construct", () => {
  it("carries the snapshot's literal name, so the loader sees a value and not an expression", () => {
    const doc = withHost((h) => {
      const d = h.dataset("up", { name: "tank/up" });
      h.clone("c", { name: "tank/c", origin: h.snapshot("s", { dataset: d, name: "job-1" }) });
    });
    expect(first(doc, "backplane_clone").origin).toBe("tank/up@job-1");
    expect(() => loadStack(doc)).not.toThrow();
  });
});

describe("names have OpenZFS's limits exactly", () => {
  it("a pool name is at most 239 bytes (room for <pool>/$ORIGIN@$ORIGIN), shorter than a dataset's 255", () => {
    expect(poolNameProblem(`p${"x".repeat(238)}`)).toBeNull();
    expect(poolNameProblem(`p${"x".repeat(239)}`)).toContain("limit is 239");
    expect(datasetNameProblem(`tank/${"x".repeat(250)}`)).toBeNull();
    expect(datasetNameProblem(`tank/${"x".repeat(251)}`)).toContain("limit is 255");
  });
  it("a snapshot's full name counts the dataset part", () => {
    expect(snapshotNameProblem(`tank/${"x".repeat(240)}@${"s".repeat(9)}`)).toBeNull();
    expect(snapshotNameProblem(`tank/${"x".repeat(240)}@${"s".repeat(10)}`)).toContain("limit is 255");
    expect(() => withHost((h) => { h.snapshot("s", { dataset: `tank/${"x".repeat(240)}`, name: "s".repeat(10) }); })).toThrow(/full snapshot name/);
    const doc = withHost((h) => { h.snapshot("s", { dataset: `tank/${"x".repeat(240)}`, name: "s" }); });
    first(doc, "backplane_snapshot").name = "s".repeat(10);
    expect(loadMessage(doc)).toContain("test/prod/s/snapshot");
    expect(loadMessage(doc)).toContain("full snapshot name");
  });
  it("nesting stops below 50 levels (zfs_max_dataset_nesting)", () => {
    expect(datasetNameProblem(`tank${"/a".repeat(49)}`)).toBeNull();
    expect(datasetNameProblem(`tank${"/a".repeat(50)}`)).toContain("nested 50 levels");
  });
  it("OpenZFS's own reserved prefixes, and a pool named mirrorpool is refused at create", () => {
    expect(poolNameProblem("mirrorpool")).toContain("reserved");
    expect(poolNameProblem("spares")).toContain("reserved");
    expect(poolNameProblem("logs")).toBeNull();
  });
});

describe("hosts are checked whole at load", () => {
  const hostDoc = () => withHost(() => {});
  it("a crafted alias never reaches a path or known_hosts", () => {
    for (const alias of ["../../etc/cron.d/x", "a\n* ssh-ed25519 AAAA", "a b", "-oProxyCommand=id", "x".repeat(64)]) {
      const doc = hostDoc();
      doc.provider.backplane[0].alias = alias;
      const m = loadMessage(doc);
      expect(m).toContain("alias");
      expect(m).not.toContain("\n* ssh-ed25519");
    }
  });
  it("paths may hold spaces but not newlines or NUL, and the message names the field", () => {
    const doc = hostDoc();
    doc.provider.backplane[0].identity_file = "/home/ops/my keys/id_ed25519";
    expect(() => loadStack(doc)).not.toThrow();
    for (const [field, value] of [["identity_file", "/a\nb"], ["known_hosts_file", "/a\0b"], ["ssh_config_file", "/x\r"]] as const) {
      const d = hostDoc();
      d.provider.backplane[0][field] = value;
      const m = loadMessage(d);
      expect(m).toContain(`provider backplane.prod.${field}`);
      expect(m).toContain("control character");
    }
  });
  it("two aliases that differ only in case are refused (their host keys are filed under one lower-case name)", () => {
    const doc = hostDoc();
    doc.provider.backplane.push({ ...doc.provider.backplane[0], alias: "PROD" });
    expect(loadMessage(doc)).toContain("provider backplane.PROD: alias 'PROD' differs from 'prod' only in case");
  });
  it("'${' in a path ssh reads as an option is refused (ssh would expand it), but not in ssh_config_file (ssh -F does not)", () => {
    for (const field of ["identity_file", "known_hosts_file"]) {
      const d = hostDoc();
      d.provider.backplane[0][field] = "/tmp/x${HOME}y";
      expect(loadMessage(d)).toContain(`provider backplane.prod.${field}: ${field} may not contain '\${'`);
    }
    const d = hostDoc();
    d.provider.backplane[0].ssh_config_file = "/tmp/x${HOME}y";
    expect(() => loadStack(d)).not.toThrow();
  });
  it("a failed command's megabyte of stderr costs the apply message one short line", async () => {
    const { ApplyError } = await import("../../provider/engine/apply.js");
    const change = { address: "backplane_dataset.d", id: "tank/d", host: "prod" } as never;
    const m = new ApplyError([{ change, command: "zfs create tank/d", stderr: `${"x".repeat(1 << 20)}\n\u001b[2Jcannot create 'tank/d': out of space\n` }], [], ["backplane_dataset.d"]).message;
    expect(m.length).toBeLessThan(1000);
    expect(m).toMatch(/\\x1b\[2Jcannot create 'tank\/d': out of space\ncompleted: nothing/);
  });
  it("POSIX user names with a dot are legal", () => {
    expect(userProblem("john.doe")).toBeNull();
    expect(userProblem("-oProxyCommand")).toContain("POSIX user name");
    expect(userProblem("a b")).toContain("POSIX user name");
  });
  it("a provider entry that is not an object is refused, not skipped", () => {
    const doc = hostDoc();
    doc.provider.backplane.push("prod2");
    expect(loadMessage(doc)).toContain("must be an object");
  });
});

describe("WireGuard values are parsed by ipaddr.js and canonical as ip and wg print them", () => {
  it.each(["fd00::1::2/64", "fd00:::1/64", "1:2:3:4:5:6:7:8:9/64", "fe80::1%eth0/64", "fd00::g/64", "10.0.0.01/24", "10.0.0.1/024", "::ffff:1.2.3/96"])("refuses %s", (c) => {
    expect(cidrProblem(c)).not.toBeNull();
  });
  it("canonicalises so the plan never diffs forever", () => {
    expect(canonicalInterfaceAddress("FD00:0:0::1/64")).toBe("fd00::1/64");
    expect(canonicalInterfaceAddress("10.0.0.1/24")).toBe("10.0.0.1/24");
    expect(canonicalAllowedIp("10.0.0.1/24")).toBe("10.0.0.0/24");
    expect(canonicalAllowedIp("fd00::1:2/112")).toBe("fd00::1:0/112");
    expect(canonicalEndpoint("[FD00:0::2]:51820")).toBe("[fd00::2]:51820");
  });
  it("the loader hands the planner canonical addresses", () => {
    const doc = withHost((h) => { h.wireguard("wg", { name: "wg0", addresses: ["FD00:0:0::1/64"] }); });
    expect(planSteps(doc, "backplane_wireguard_interface").join("\n")).toMatch(/ fd00::1\/64$/);
  });
  it("two allowed IPs that are one network are refused", () => {
    const doc = withHost((h) => { h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.1/24"] }).addPeer("p", { publicKey: "KHWDMlK1varaUtJE5K6XqvUibuDQ7Fz7NErynUN4ZBc=", allowedIps: ["10.0.0.2/32"] }); });
    Object.values(doc.resource.backplane_wireguard_peer as Record<string, Doc>)[0]!.allowed_ips = ["10.9.0.1/24", "10.9.0.2/24"];
    expect(loadMessage(doc)).toContain("give each once");
  });
  it("interface names may not start with '-'", () => {
    expect(interfaceNameProblem("-wg0")).toContain("option");
  });
});

describe("messages echo at most ~100 characters, escaped", () => {
  it("a 1 MB value costs a short message", () => {
    const doc = withHost((h) => { h.dataset("d", { name: "tank/d" }); });
    first(doc, "backplane_dataset").name = `tank/${"a".repeat(1 << 20)};`;
    first(doc, "backplane_dataset").user_properties = { "com.x:y": `${"b".repeat(1 << 20)}\n` };
    const m = loadMessage(doc);
    expect(m.length).toBeLessThan(2000);
  });
  it("control characters and bidi overrides are escaped", () => {
    expect(echo("a\nb\u202Ec\u200Bd\0")).toBe("a\\nb\\u{202E}c\\u{200B}d\\0");
    expect(echo("x".repeat(500))).toMatch(/^x{100}…\(500 characters\)$/);
    const doc = withHost((h) => { h.dataset("d", { name: "tank/d" }); });
    first(doc, "backplane_dataset").properties = { "atime\u202E": "on" };
    expect(loadMessage(doc)).toContain("atime\\u{202E}");
  });
  it("a failure inside zod is wrapped with the field's path", () => {
    const doc = withHost((h) => { h.dataset("d", { name: "tank/d" }); });
    first(doc, "backplane_dataset").properties = { quota: "\ud800" };
    const m = loadMessage(doc);
    expect(m).toContain("properties.quota");
    expect(m).toContain("lone surrogate");
  });
});

describe("what a host says on stderr reaches a message short, on one line and escaped", () => {
  it("keeps the end (where errors are) of a megabyte of stderr and says how much was left out", () => {
    const said = hostSaid(`${"noise ".repeat(200_000)}\ncannot create 'tank/x': dataset already exists\n`);
    expect(said.length).toBeLessThan(HOST_SAID_LIMIT + 80);
    expect(said).toMatch(/^\(\d+ characters before this left out\)….*cannot create 'tank\/x': dataset already exists$/);
  });
  it("joins lines with ' | ' and escapes what could forge a line of backplane's own output or reorder it", () => {
    expect(hostSaid("zfs: error\nApply complete! Resources: 9 added\r\n\u202Edone\0")).toBe("zfs: error | Apply complete! Resources: 9 added | \\u{202E}done\\0");
    expect(hostSaid("  short  \n")).toBe("short");
  });
  it("ssh's own failures carry it clipped: a connection error and a host key refusal", () => {
    const big = `${"x".repeat(1 << 20)}\nssh: connect to host 10.0.0.2 port 22: Connection refused\n`;
    const c = new ConnectError("prod", big).message;
    expect(c.length).toBeLessThan(HOST_SAID_LIMIT + 200);
    expect(c).toMatch(/Connection refused$/);
    const k = new HostKeyError("prod", `Host key verification failed.${"\u202E".repeat(1000)}`).message;
    expect(k.length).toBeLessThan(600);
    expect(k).not.toContain("\u202E");
  });
});

describe("a failure inside a rule or a library is a problem on the field, never an exception", () => {
  it("a check that throws is reported on its field with the value echoed", async () => {
    const { z } = await import("zod");
    const { checked } = await import("../../provider/schema/attr.js");
    const { validateBlock } = await import("../../provider/schema/validate.js");
    const kind = {
      type: "backplane_test", kind: "resource" as const, engineSupport: "later" as const, description: "",
      attributes: { name: { tf: "string" as const, zod: checked(() => { throw new TypeError("library said no"); }), description: "" }, other: { tf: "string" as const, zod: z.string(), description: "" } },
      refine: () => { throw new RangeError("rule fell over"); },
    };
    const problems = validateBlock(kind, { name: "x\u202E" }, () => false);
    expect(problems).toContainEqual({ path: "name", message: expect.stringContaining("could not be checked ('x\\u{202E}'): library said no") });
    // the cross-attribute rule threw too: a problem naming the kind, not an exception
    expect(problems).toContainEqual({ path: "", message: expect.stringContaining("backplane_test: a rule failed while checking this block: rule fell over") });
  });
});
