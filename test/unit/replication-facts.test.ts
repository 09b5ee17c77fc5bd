/**
 * The replication's own facts (provider/zfs/replication-facts.ts) on the sections captured from
 * the vm-tier lab (test/lab/capture-replication.sh): snapshot times and holds, `written`, resume
 * tokens and key status, the keys and authorisations backplane installed. Each refusal of the
 * strict parsers is shown on a captured line broken one way, and the keys' script runs for real
 * on a key folder and an authorized_keys laid out from the captured lines.
 */
import { beforeAll, describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPLICATION_KEY_TAG, SEVERAL_LINES, replicationDatasets, replicationKeys, replicationSnapshots } from "../../provider/zfs/replication-facts.js";
import { capturedSections } from "./helpers/seed.js";
import { breakLine as breakOutput, expectRefused, outputLines as linesOf, withColumn as col } from "./helpers/refusals.js";

/** one section's stdout of a captured refresh, as the host printed it */
function captured(label: string, key: string): string {
  const s = capturedSections(label).get(key);
  if (!s || s.exitCode !== 0) throw new Error(`${label} has no answered ${key} section`);
  return s.stdout;
}

const SYNCED = "zfs-2.3-prod-repl-synced";
const INTERRUPTED = "zfs-2.3-dr-repl-interrupted";
const TOKEN = linesOf(captured(INTERRUPTED, "repl-datasets")).find((l) => l.startsWith("backup/prod/uploads\t"))!.split("\t")[2]!;

describe("replication facts read from captured hosts", () => {
  it("snapshots: creation time and hold count of each, by full name", () => {
    expect(replicationSnapshots.parse(captured(SYNCED, "repl-snapshots"))).toEqual(new Map([
      ["tank/srv/postgres@backplane-repl-20261126T085822Z", { creation: 1795683502, userrefs: 1 }],
      ["tank/srv/secret@backplane-repl-20261126T085822Z", { creation: 1795683502, userrefs: 1 }],
      ["tank/srv/uploads@backplane-repl-20261126T085828Z", { creation: 1795683508, userrefs: 0 }],
      ["tank/srv/uploads@backplane-repl-20261126T085837Z", { creation: 1795683518, userrefs: 1 }],
    ]));
  });

  it("datasets: written bytes, the resume token of a cut transfer, the key status of an encrypted dataset", () => {
    const dr = replicationDatasets.parse(captured(INTERRUPTED, "repl-datasets"));
    expect(TOKEN).toMatch(/^1-1a20bb129e-148-789c/);
    expect(dr.get("backup/prod/uploads")).toEqual({ written: 0, resumeToken: TOKEN, keystatus: null });
    // received raw, the key never left prod
    expect(dr.get("backup/prod/secret")).toEqual({ written: 0, resumeToken: null, keystatus: "unavailable" });
    expect(dr.get("backup")).toEqual({ written: 24576, resumeToken: null, keystatus: null });
    expect([...dr.keys()]).toEqual(["backup", "backup/prod", "backup/prod/postgres", "backup/prod/secret", "backup/prod/uploads"]);
    expect(replicationDatasets.parse(captured(SYNCED, "repl-datasets")).get("tank/srv/secret")).toEqual({ written: 0, resumeToken: null, keystatus: "available" });
  });

  it("keys: public halves and known_hosts lines by replication id on the source, tagged authorisations on the target", () => {
    const prod = replicationKeys.parse(captured(SYNCED, "repl-keys"));
    expect(prod.publicKeys.size).toBe(6);
    expect(prod.publicKeys.get("123c7f3e1ff25fd2")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHreQuIxTIIcisFutqp386RaiGvn2ZiCZ+USOcguPvxl backplane-replication=123c7f3e1ff25fd2");
    expect(prod.knownHosts.size).toBe(6);
    expect(prod.knownHosts.get("e3d1c8a64c43aabc")).toBe("10.201.0.176 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8E6+6CHCWQVdvG2+r8lrYFQyBe4WpteP4jtcetRXay");
    expect(prod.authorized.size).toBe(0);
    const dr = replicationKeys.parse(captured(INTERRUPTED, "repl-keys"));
    expect(dr.publicKeys.size + dr.knownHosts.size).toBe(0);
    expect([...dr.authorized.keys()].sort()).toEqual([...prod.publicKeys.keys()].sort());
    // the whole authorized_keys line, options and all: what the plan compares with the line it would write
    expect(dr.authorized.get("123c7f3e1ff25fd2")).toMatch(/^restrict,command="zfs recv -s -u .* backup\/prod\/postgres" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHreQuIxTIIcisFutqp386RaiGvn2ZiCZ\+USOcguPvxl backplane-replication=123c7f3e1ff25fd2$/);
  });
});

/** the captured section with line n (from 1) replaced */
const breakLine = (n: number, label: string, key: string, edit: (line: string, previous: string) => string) => breakOutput(captured(label, key), n, edit);
const breakLine2 = (label: string, key: string, edit: (line: string, previous: string) => string) => breakLine(2, label, key, edit);

describe("the strict parsers refuse a line they cannot vouch for, naming the fact and the line", () => {
  const refused: Array<[string, () => unknown, RegExp]> = [
    ["a dataset row among the snapshots", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (l) => col(l, 0, "tank/srv/secret"))), /^zfs list -t snapshot creation,userrefs: line 2: 'tank\/srv\/secret' is not a snapshot name$/],
    ["a snapshot listed twice", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (_, first) => first)), /: line 2: tank\/srv\/postgres@backplane-repl-20261126T085822Z listed twice$/],
    ["a creation time with a letter in it", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (l) => col(l, 1, "17956835o2"))), /: line 2: creation '17956835o2' is not a number$/],
    ["a creation time after text", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (l) => col(l, 1, "t1795683502"))), /: line 2: creation 't1795683502' is not a number$/],
    ["a hold count that is not a count", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (l) => col(l, 2, "-"))), /: line 2: userrefs '-' is not a number$/],
    ["a hold count with a unit", () => replicationSnapshots.parse(breakLine2(SYNCED, "repl-snapshots", (l) => col(l, 2, "1K"))), /: line 2: userrefs '1K' is not a number$/],
    ["a dataset listed twice", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (_, first) => first)), /^zfs list written,receive_resume_token,keystatus: line 2: backup listed twice$/],
    ["written that is not a number", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 1, "24K"))), /: line 2: written '24K' is not a number$/],
    ["a resume token with text before it", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 2, `x${TOKEN}`))), /: line 2: backup\/prod: receive_resume_token 'x1-1a20bb129e-.*' is not a resume token$/],
    ["a resume token with text after it", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 2, `${TOKEN}z`))), /: line 2: backup\/prod: receive_resume_token '.*z' is not a resume token$/],
    ["a resume token of three fields", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 2, "1-1a20bb129e-148"))), /: line 2: backup\/prod: receive_resume_token '1-1a20bb129e-148' is not a resume token$/],
    ["a key status ZFS does not print", () => replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 3, "locked"))), /: line 2: backup\/prod: keystatus 'locked' is not known$/],
    ["a line of no known tag", () => replicationKeys.parse(breakLine2(SYNCED, "repl-keys", (l) => l.replace(/^key/, "token"))), /^replication keys: line 2: not a key line: "token\\t1e828fef5f396b3b\\t/],
    ["a key line without its value", () => replicationKeys.parse(breakLine2(SYNCED, "repl-keys", (l) => l.split("\t").slice(0, 2).join("\t"))), /^replication keys: line 2: not a key line: "key\\t1e828fef5f396b3b"$/],
    ["a key file of two lines", () => replicationKeys.parse(breakLine2(SYNCED, "repl-keys", (_, first) => first)), /^replication keys: line 2: key 123c7f3e1ff25fd2 has more than one line$/],
    // the captured section's lines 7 to 12 are the known_hosts files
    ["a known_hosts file of two lines", () => replicationKeys.parse(breakLine(8, SYNCED, "repl-keys", (l, previous) => `${previous.split("\t").slice(0, 2).join("\t")}\t${l.split("\t")[2]}`)), /^replication keys: line 8: known 123c7f3e1ff25fd2 has more than one line$/],
  ];
  it.each(refused)("%s", (_, parse, message) => expectRefused(parse, message));

  it("a resume token's version is a decimal of any width (ZFS prints it with %u)", () => {
    const rows = replicationDatasets.parse(breakLine2(INTERRUPTED, "repl-datasets", (l) => col(l, 2, TOKEN.replace(/^1-/, "12-"))));
    expect(rows.get("backup/prod")!.resumeToken).toBe(TOKEN.replace(/^1-/, "12-"));
  });

  it("files and lines backplane did not name are left alone, not refused", () => {
    const k = replicationKeys.parse([
      // the key folder's other files: a hand-made key, an id of the wrong length on either side, a file named only .pub
      "key\tid_ed25519\tssh-ed25519 AAAA",
      "key\tx0123456789abcdef\tssh-ed25519 AAAA",
      "known\t0123456789abcdefx\t10.0.0.1 ssh-ed25519 AAAA",
      "key\t\tssh-ed25519 AAAA",
      "known\t0123456789ABCDEF\t10.0.0.1 ssh-ed25519 AAAA",
    ].join("\n") + "\n");
    expect(k.publicKeys.size + k.knownHosts.size + k.authorized.size).toBe(0);
  });
});

/**
 * The keys' script, run for real: a private mount namespace puts an empty tmpfs on /etc, so the
 * key folder is made where the script looks, and HOME points at a made authorized_keys.
 */
function runKeysScript(folder: Record<string, string> | null, authorizedKeys: string | null): { stdout: string; status: number | null; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), "bp-repl-keys-"));
  try {
    const tree = join(work, "tree");
    mkdirSync(tree);
    for (const [name, text] of Object.entries(folder ?? {})) writeFileSync(join(tree, name), text);
    const home = join(work, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    if (authorizedKeys !== null) writeFileSync(join(home, ".ssh", "authorized_keys"), authorizedKeys);
    // where apply installs the keys (docs/resources.md): written out, not read from the module under test
    const make = folder ? "mkdir -p /etc/backplane/replication && " : "";
    const copy = folder && Object.keys(folder).length > 0 ? 'cp -- "$1"/* /etc/backplane/replication/ && ' : "";
    const setup = `mount -t tmpfs backplane-test /etc && ${make}${copy}shift && exec "$@"`;
    const words = replicationKeys.command.map((w) => w.text);
    const r = spawnSync("unshare", ["-rm", "sh", "-c", setup, "setup", tree, ...words], { env: { ...process.env, HOME: home }, encoding: "utf8" });
    if (r.error) throw r.error;
    return { stdout: r.stdout, status: r.status, stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describe("the keys' script on a host (real sh, sed and grep)", () => {
  beforeAll(() => {
    // a clear failure, not a skip: these tests need util-linux's unshare and user and mount namespaces
    const probe = spawnSync("unshare", ["-rm", "sh", "-c", "mount -t tmpfs backplane-test /etc"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) throw new Error(`the keys' script runs in a private mount namespace: 'unshare -rm' with a tmpfs on /etc failed (${probe.error?.message ?? probe.stderr.trim()}); it needs util-linux and user namespaces (root, or kernel.unprivileged_userns_clone=1)`);
  });
  const prod = linesOf(captured(SYNCED, "repl-keys"));
  const dr = linesOf(captured(INTERRUPTED, "repl-keys"));
  const body = (line: string) => line.split("\t").slice(2).join("\t");

  it("prints each key file and known_hosts file under its id, and only the tagged authorized_keys lines", () => {
    const folder: Record<string, string> = {};
    for (const l of prod) {
      const [tag, id] = l.split("\t") as [string, string];
      folder[`${id}.${tag === "key" ? "pub" : "known_hosts"}`] = `${body(l)}\n`;
    }
    // a key of the operator's own in the same folder: printed, and left alone by the parser
    folder["operator.pub"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorsOwnKey root@prod\n";
    const auth = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandMadeLine admin@laptop", ...dr.map((l) => l.slice("auth\t".length))].join("\n") + "\n";
    const r = runKeysScript(folder, auth);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // the lines the hosts printed, and the operator's key under its file name (the parser leaves it alone)
    expect(linesOf(r.stdout).sort()).toEqual([...prod, ...dr, "key\toperator\tssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorsOwnKey root@prod"].sort());
    // keys first, then known_hosts files, then authorisations in the file's order
    expect(linesOf(r.stdout).map((l) => l.split("\t")[0])).toEqual([...Array(7).fill("key"), ...Array(6).fill("known"), ...Array(6).fill("auth")]);
    expect(linesOf(r.stdout).filter((l) => l.startsWith("auth\t"))).toEqual(dr);
    expect(replicationKeys.parse(r.stdout).publicKeys.has("operator")).toBe(false);
  });

  it(`matches the tag only as a word of its own (' ${REPLICATION_KEY_TAG}=')`, () => {
    const r = runKeysScript(null, `ssh-ed25519 AAAA not-${REPLICATION_KEY_TAG}=0123456789abcdef\nssh-ed25519 AAAA x ${REPLICATION_KEY_TAG}=0123456789abcdef\n`);
    expect(r.stdout).toBe(`auth\tssh-ed25519 AAAA x ${REPLICATION_KEY_TAG}=0123456789abcdef\n`);
  });

  it("answers nothing, successfully, on a host with no key folder and no tagged line", () => {
    expect(runKeysScript(null, null)).toEqual({ stdout: "", status: 0, stderr: "" });
    // grep finding nothing exits 1; the pipeline's status is sed's, so the read does not fail for it
    expect(runKeysScript(null, "ssh-ed25519 AAAA admin@laptop\n")).toEqual({ stdout: "", status: 0, stderr: "" });
    expect(runKeysScript({}, null)).toEqual({ stdout: "", status: 0, stderr: "" });
  });

  it("two tagged lines for one replication read as differing, so the next apply rewrites them", () => {
    const line = dr[0]!.slice("auth\t".length);
    const r = runKeysScript(null, `${line}\n${line}\n`);
    expect(replicationKeys.parse(r.stdout).authorized.get("123c7f3e1ff25fd2")).toBe(SEVERAL_LINES);
  });
});
