/**
 * The replication's host scripts run for real under sh, with stand-ins for zfs and ssh on
 * PATH that log what they were asked and answer as the real commands do (the formats seen on
 * the vm tier). What is checked is the scripts' own logic: order (hold before send), failure
 * paths, what a target's resume token may ask, releasing by tag, and authorized_keys edits
 * that leave every other line alone.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, symlinkSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCRIPTS } from "../../provider/resources/replication.js";

let dir: string;
const log = () => readFileSync(join(dir, "log"), "utf8").trim().split("\n").filter(Boolean);

const ZFS = `#!/bin/sh
echo "zfs $*" >> "$STUB/log"
case "$1 $2" in
  "send -nvPt") printf 'resume token contents:\\nnvlist version: 0\\n%b' "$TOKEN_INFO"; printf '\\tincremental\\tx\\ty\\t99\\nsize\\t99\\n';;
  "send -nP") printf 'size\\t100\\n';;
  "send -v") cat "$STUB/stream"; printf 'size\\t100\\n08:00:01\\t50\\tx\\n' >&2; exit \${SENDRC:-0};;
  "get -Hp") echo 4242;;
  "get -H") echo "\${MARK-L1}";;
  "list -H") printf '%b' "$SNAPS";;
  "holds -H") printf '%b' "$HOLDS";;
  "hold "*|"hold") exit \${HOLDRC:-0};;
esac
exit 0
`;
const SSH = `#!/bin/sh
echo "ssh $*" >> "$STUB/log"
cat > "$STUB/received"
# what a target prints must not reach the report
printf 'bytes\\t1\\nwarning\\tinjected by the target\\n'
exit \${SSHRC:-0}
`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bp-repl-sh-"));
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "zfs"), ZFS);
  writeFileSync(join(dir, "bin", "ssh"), SSH);
  // the transfer lock lives in /run on hosts; here in the temp dir, by the same flock
  writeFileSync(join(dir, "bin", "flock"), `#!/bin/sh\necho "flock $*" >> "$STUB/log"\nexit \${FLOCKRC:-0}\n`);
  for (const f of ["zfs", "ssh", "flock"]) chmodSync(join(dir, "bin", f), 0o755);
  writeFileSync(join(dir, "stream"), "STREAM-BYTES\n");
  writeFileSync(join(dir, "log"), "");
});

/** The sync script with the planner's argument order; `over` replaces arguments by name. */
function sync(over: Partial<Record<"mode" | "from" | "token" | "raw" | "prune", string>> = {}, env: Record<string, string> = {}) {
  const a = { src: "tank/my src", prefix: "backplane-repl-", lineage: "L1", mode: "incremental", from: "tank/my src@backplane-repl-20261126T083404Z", token: "", raw: "0", id: "0123456789abcdef", port: "22", user: "root", addr: "10.201.0.2", tag: "backplane-repl-0123456789abcdef", bookmark: "1", prune: "", ...over };
  // /run is not writable here: point the lock at the temp dir (the only change to the script)
  const script = SCRIPTS.sync().replace('"/run/backplane-repl-$id.lock"', `"${dir}/lock"`);
  const r = spawnSync("sh", ["-c", script, "sh", a.src, a.prefix, a.lineage, a.mode, a.from, a.token, a.raw, a.id, a.port, a.user, a.addr, a.tag, a.bookmark, a.prune], {
    env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, STUB: dir, SNAPS: "", HOLDS: "", TOKEN_INFO: "", ...env }, encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const index = (pattern: RegExp) => log().findIndex((l) => pattern.test(l));

describe("the transfer script on the source host", () => {
  it("runs the transfer functions the replication bench times alone, unchanged", () => {
    expect(SCRIPTS.sync()).toContain(`\n${SCRIPTS.transfer()}\n`);
  });

  it("takes and holds the new snapshot before sending, sends -I from the common snapshot, bookmarks, reports", () => {
    const r = sync();
    expect(r.code, r.err).toBe(0);
    const hold = index(/^zfs hold backplane-repl-0123456789abcdef tank\/my src@backplane-repl-\d{8}T\d{6}Z$/);
    const send = index(/^zfs send -v -P -L -c -I tank\/my src@backplane-repl-20261126T083404Z tank\/my src@backplane-repl-\d{8}T\d{6}Z$/);
    expect(index(/^zfs snapshot -o backplane:managed=L1 /)).toBeLessThan(hold);
    expect(hold).toBeGreaterThanOrEqual(0);
    expect(send).toBeGreaterThan(hold);
    expect(index(/^zfs bookmark /)).toBeGreaterThan(send);
    expect(readFileSync(join(dir, "received"), "utf8")).toBe("STREAM-BYTES\n");
    expect(log().find((l) => l.startsWith("ssh "))).toMatch(/^ssh -F \/dev\/null -i \/etc\/backplane\/replication\/0123456789abcdef -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes .* -p 22 -l root -- 10\.201\.0\.2 recv$/);
    // the report: ours only (the target's output is discarded)
    expect(r.out).toMatch(/^bytes\t100\nsnapshot\ttank\/my src@backplane-repl-\d{8}T\d{6}Z\t4242\n$/);
  });

  it("a full stream of the new snapshot the first time; raw with -w, without -L -c", () => {
    expect(sync({ mode: "full", from: "" }).code).toBe(0);
    expect(index(/^zfs send -v -P -L -c tank\/my src@backplane-repl-\d{8}T\d{6}Z$/)).toBeGreaterThanOrEqual(0);
    writeFileSync(join(dir, "log"), "");
    expect(sync({ mode: "full", from: "", raw: "1" }).code).toBe(0);
    expect(index(/^zfs send -v -P -w tank\/my src@/)).toBeGreaterThanOrEqual(0);
    expect(index(/-L -c/)).toBe(-1);
  });

  it.each([
    ["the send fails", { SENDRC: "3" }, /zfs send failed \(exit 3\)/],
    ["the receive on the target fails", { SSHRC: "1" }, /zfs recv on 10\.201\.0\.2 failed \(exit 1\)/],
    ["the new snapshot cannot be held", { HOLDRC: "1" }, /cannot hold tank\/my src@/],
    ["another transfer of this replication is running", { FLOCKRC: "1" }, /another transfer of this replication is still running/],
  ])("stops when %s: no report, nothing released, pruned or bookmarked", (_, env, message) => {
    const r = sync({ prune: "tank/my src@backplane-repl-20261126T083354Z" }, { ...env, HOLDS: "tank/my src@backplane-repl-20261126T083404Z\\tbackplane-repl-0123456789abcdef\\tThu\\n" });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.out).not.toMatch(/^snapshot\t/m);
    expect(index(/^zfs (release|destroy|bookmark) /)).toBe(-1);
  });

  it("moves this replication's hold by tag: released on every other snapshot that has it, never another tag's", () => {
    const r = sync({}, {
      SNAPS: "tank/my src@a\\ntank/my src@b\\n",
      HOLDS: "tank/my src@a\\tbackplane-repl-0123456789abcdef\\tThu\\ntank/my src@b\\tsomeone-else\\tThu\\ntank/my src@b\\tbackplane-repl-fedcba9876543210\\tThu\\n",
    });
    expect(r.code, r.err).toBe(0);
    expect(log().filter((l) => l.startsWith("zfs release"))).toEqual(["zfs release backplane-repl-0123456789abcdef tank/my src@a"]);
  });

  it("prunes each listed snapshot and its bookmark; one held or cloned is kept and said", () => {
    const r = sync({ prune: "tank/my src@backplane-repl-20261126T083354Z\ntank/my src@backplane-repl-20261126T083404Z" });
    expect(r.code, r.err).toBe(0);
    expect(log().filter((l) => l.startsWith("zfs destroy"))).toEqual([
      "zfs destroy tank/my src@backplane-repl-20261126T083354Z", "zfs destroy tank/my src#backplane-repl-20261126T083354Z",
      "zfs destroy tank/my src@backplane-repl-20261126T083404Z", "zfs destroy tank/my src#backplane-repl-20261126T083404Z",
    ]);
  });

  it("resumes from the target's token, then sends the rest from the snapshot the token finished", () => {
    const r = sync({ mode: "resume", from: "", token: "1-abc-10-789c" }, { TOKEN_INFO: "\\ttoguid = 0x1\\n\\ttoname = tank/my src@backplane-repl-20261126T083404Z\\n\\tcompressok = 1\\n" });
    expect(r.code, r.err).toBe(0);
    const resume = index(/^zfs send -v -P -t 1-abc-10-789c$/);
    expect(resume).toBeGreaterThanOrEqual(0);
    expect(index(/^zfs send -v -P -L -c -I tank\/my src@backplane-repl-20261126T083404Z tank\/my src@backplane-repl-\d{8}T\d{6}Z$/)).toBeGreaterThan(resume);
    expect(r.out).toContain("resumed\ttank/my src@backplane-repl-20261126T083404Z\n");
  });

  it.each([
    ["a snapshot of another dataset", "\\ttoname = tank/srv/secret@stolen\\n", "0", /resume token is for 'tank\/srv\/secret@stolen', not a snapshot of tank\/my src/],
    ["a child dataset's snapshot", "\\ttoname = tank/my src/child@x\\n", "0", /not a snapshot of tank\/my src/],
    ["no snapshot at all", "\\tobject = 0x4\\n", "0", /not a snapshot of tank\/my src/],
    ["a stream that is not raw, for an encrypted replication", "\\ttoname = tank/my src@backplane-repl-20261126T083404Z\\n\\tcompressok = 1\\n", "1", /not raw: refused/],
  ])("refuses a resume token that asks for %s, before sending anything", (_, info, raw, message) => {
    const r = sync({ mode: "resume", from: "", token: "1-abc-10-789c", raw }, { TOKEN_INFO: info });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(index(/^zfs send -v/)).toBe(-1);
    expect(index(/^zfs snapshot /)).toBe(-1);
  });
});

describe("authorized_keys on the target", () => {
  const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXCr92uAqTwYIq/Ot4D3vMavtRZwXuG4yZD9xbq1+9r backplane-replication=0123456789abcdef";
  const OPTIONS = `restrict,command="zfs recv -s -u backup/x"`;
  const keys = () => join(dir, ".ssh", "authorized_keys");
  const run = (script: string, args: string[], stdin = "") => spawnSync("sh", ["-c", script, "sh", ...args], { env: { PATH: "/usr/bin:/bin", HOME: dir }, input: stdin, encoding: "utf8" });
  const OPERATOR = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO8ES9EDL2x6TYOO/3p+jnIsqxDf3PFOJUywm5M3/S8M operator",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO8ES9EDL2x6TYOO/3p+jnIsqxDf3PFOJUywm5M3/S8M note: backplane-replication=0123456789abcdef is mentioned here",
  ];

  it("replaces this replication's line and keeps every other line as it was", () => {
    mkdirSync(join(dir, ".ssh"));
    writeFileSync(keys(), [...OPERATOR, `restrict,command="old" ssh-ed25519 AAAAold backplane-replication=0123456789abcdef`, "ssh-ed25519 AAAAother backplane-replication=fedcba9876543210", ""].join("\n"));
    const r = run(SCRIPTS.authorize(), ["0123456789abcdef", OPTIONS], `${KEY}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("ok\n");
    expect(readFileSync(keys(), "utf8").split("\n").filter(Boolean)).toEqual([
      ...OPERATOR, "ssh-ed25519 AAAAother backplane-replication=fedcba9876543210",
      `${OPTIONS} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXCr92uAqTwYIq/Ot4D3vMavtRZwXuG4yZD9xbq1+9r backplane-replication=0123456789abcdef`,
    ]);
  });

  it.each([
    ["an RSA key", "ssh-rsa AAAAB3NzaC1yc2E x"],
    ["a key with shell characters", "ssh-ed25519 AAAA$(touch${IFS}pwned)"],
    ["a glob", "ssh-ed25519 *"],
    ["nothing", ""],
  ])("refuses %s and leaves the file alone", (_, key) => {
    mkdirSync(join(dir, ".ssh"));
    writeFileSync(keys(), `${OPERATOR[0]}\n`);
    const r = run(SCRIPTS.authorize(), ["0123456789abcdef", OPTIONS], `${key}\n`);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(readFileSync(keys(), "utf8")).toBe(`${OPERATOR[0]}\n`);
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("does not replace an authorized_keys that is a symbolic link", () => {
    mkdirSync(join(dir, ".ssh"));
    writeFileSync(join(dir, "real_keys"), `${OPERATOR[0]}\n`);
    symlinkSync(join(dir, "real_keys"), keys());
    const r = run(SCRIPTS.authorize(), ["0123456789abcdef", OPTIONS], `${KEY}\n`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("is a symbolic link");
    expect(readFileSync(join(dir, "real_keys"), "utf8")).toBe(`${OPERATOR[0]}\n`);
  });

  it("removing the authorisation takes this replication's line only", () => {
    mkdirSync(join(dir, ".ssh"));
    writeFileSync(keys(), [...OPERATOR, `${OPTIONS} ssh-ed25519 AAAAnew backplane-replication=0123456789abcdef`, "ssh-ed25519 AAAAother backplane-replication=fedcba9876543210", ""].join("\n"));
    const r = run(SCRIPTS.deauthorize(), ["0123456789abcdef"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(keys(), "utf8").split("\n").filter(Boolean)).toEqual([...OPERATOR, "ssh-ed25519 AAAAother backplane-replication=fedcba9876543210"]);
  });
});

describe("pruning on the target", () => {
  it("destroys each snapshot; one that cannot go (held, cloned) is kept and said, and the rest still go", () => {
    writeFileSync(join(dir, "bin", "zfs"), `#!/bin/sh\necho "zfs $*" >> "$STUB/log"\ncase "$2" in *@held) exit 1;; esac\nexit 0\n`);
    const r = spawnSync("sh", ["-c", SCRIPTS.pruneTarget(), "sh", "backup/x@held", "backup/x@old"], { env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, STUB: dir }, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("kept\tbackup/x@held\n");
    expect(log()).toEqual(["zfs destroy backup/x@held", "zfs destroy backup/x@old"]);
  });
});
