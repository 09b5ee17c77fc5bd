/**
 * A scheduled replication's two host-side halves, run for real under sh with stand-ins for
 * zfs and ssh (answering in the formats seen on the vm tier): the source's sync script in
 * mode auto, which decides alone by the plan's rules (resume first, GUID-matched base,
 * diverged/modified refused unless allowed, nothing sent when in sync, source retention over
 * its own marked snapshots only), and the target's forced-command dispatcher (state, prune
 * with the count fixed on the target, recv, nothing else).
 */
import { describe, it, expect, beforeEach } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCRIPTS, targetCommand } from "../../provider/resources/replication.js";
import { BUSY_EXIT } from "../../provider/engine/replicate.js";

let dir: string;
const log = () => readFileSync(join(dir, "log"), "utf8").trim().split("\n").filter(Boolean);
const index = (pattern: RegExp) => log().findIndex((l) => pattern.test(l));

const ZFS = `#!/bin/sh
echo "zfs $*" >> "$STUB/log"
case "$*" in
  "list -Hp -t snapshot -o guid,name -s createtxg -d 1 "*) printf '%b' "$SRC";;
  "get -H -o name,value -s local -t snapshot -d 1 backplane:managed "*) printf '%b' "$MARKS";;
  "get -Hp -o value written "*) echo "\${WRITTEN:-0}";;
  "get -H -o value -s local backplane:managed "*) printf '%b' "$MARKS" | awk -F'\\t' -v s="$8" '$1 == s { print $2 }';;
  "get -Hp -o value guid "*) echo 4242;;
  "send -nvPt "*) printf 'resume token contents:\\n\\ttoname = %s\\n' "$TONAME";;
  "send -nP "*) printf 'size\\t100\\n';;
  "send -v "*) echo STREAM;;
  "list -H -o name -t snapshot -d 1 "*) ;;
esac
exit 0
`;
// the target: answers the verb it is asked (the last argument), as the dispatcher would
const SSH = `#!/bin/sh
echo "ssh $*" >> "$STUB/log"
for verb; do :; done
case "$verb" in
  state) printf '%b' "$TSTATE"; exit \${STATERC:-0};;
  recv) cat > "$STUB/received";;
  prune) cat > "$STUB/spared"; printf '%b' "$PRUNED";;
esac
exit 0
`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bp-repl-auto-"));
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "zfs"), ZFS);
  writeFileSync(join(dir, "bin", "zpool"), "#!/bin/sh\nexit 0\n");
  writeFileSync(join(dir, "bin", "ssh"), SSH);
  writeFileSync(join(dir, "bin", "flock"), `#!/bin/sh\nexit \${FLOCKRC:-0}\n`);
  for (const f of ["zfs", "zpool", "ssh", "flock"]) chmodSync(join(dir, "bin", f), 0o755);
  writeFileSync(join(dir, "log"), "");
});

const L = "LINEAGE-1";
const S = "tank/src";
const snap = (guid: string, name: string) => `${guid}\\t${S}@${name}\\n`;
const tsnap = (guid: string, name: string) => `snapshot\\t${guid}\\tbackup/t@${name}\\n`;
const [A, B, C] = ["backplane-repl-20261126T080000Z", "backplane-repl-20261126T081000Z", "backplane-repl-20261126T082000Z"];

/** The sync script as the timer runs it: mode auto, with force, retain and the declared snapshots. */
function auto(env: Record<string, string>, o: { force?: string; retain?: string; keep?: string } = {}) {
  const script = SCRIPTS.sync().replace('"/run/backplane-repl-$id.lock"', `"${dir}/lock"`);
  const args = [S, "backplane-repl-", L, "auto", "", "", "0", "0123456789abcdef", "22", "root", "10.201.0.2", "backplane-repl-0123456789abcdef", "1", "", o.force ?? "0", o.retain ?? "2", o.keep ?? ""];
  const r = spawnSync("sh", ["-c", script, "sh", ...args], { env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, STUB: dir, SRC: "", MARKS: "", TSTATE: "", ...env }, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("a timer's run decides alone (mode auto)", () => {
  it("a target that does not exist gets a full stream", () => {
    const r = auto({ TSTATE: "absent\\n", SRC: snap("1", A) });
    expect(r.code, r.err).toBe(0);
    expect(index(/^zfs send -v -P -L -c tank\/src@backplane-repl-\d{8}T\d{6}Z$/)).toBeGreaterThanOrEqual(0);
  });

  it("a partial receive on the target is resumed first, then the rest is sent from it", () => {
    const r = auto({ TSTATE: `token\\t1-abc-def\\nwritten\\t0\\n${tsnap("1", A)}`, SRC: snap("1", A) + snap("2", B), TONAME: `${S}@${B}` });
    expect(r.code, r.err).toBe(0);
    expect(index(/^zfs send -v -P -t 1-abc-def$/)).toBeGreaterThanOrEqual(0);
    expect(r.out).toContain(`resumed\t${S}@${B}`);
    expect(index(new RegExp(`^zfs send -v -P -L -c -I ${S}@${B} ${S}@backplane-repl-`))).toBeGreaterThan(index(/-t 1-abc-def/));
  });

  it("in sync (the newest source snapshot is on the target, nothing written since): nothing is sent or taken", () => {
    const r = auto({ TSTATE: `token\\t-\\nwritten\\t0\\n${tsnap("1", A)}${tsnap("2", B)}`, SRC: snap("1", A) + snap("2", B), WRITTEN: "0" });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`insync\t${S}@${B}\n`);
    expect(index(/^zfs (snapshot|send -v|destroy)/)).toBe(-1);
  });

  it("sends -I from the newest common snapshot (by GUID, whatever the names), prunes only its own marked snapshots, and has the target spare copies of others", () => {
    const hand = "backplane-repl-20261126T075000Z"; // our name, not our marker: never pruned, spared on the target
    const declared = "backplane-repl-20261126T070000Z"; // declared by the stack as a backplane_snapshot
    const r = auto({
      TSTATE: `token\\t-\\nwritten\\t0\\n${tsnap("0", declared)}${tsnap("9", hand)}${tsnap("1", "renamed-on-target")}`,
      SRC: snap("0", declared) + snap("9", hand) + snap("1", A) + snap("2", B) + snap("3", C),
      MARKS: [declared, A, B, C].map((n) => `${S}@${n}\\t${L}\\n`).join("") + `${S}@${hand}\\tsomeone-else\\n`,
      WRITTEN: "100",
      PRUNED: "kept\\tbackup/t@x\\n",
    }, { retain: "2", keep: `${S}@${declared}` });
    expect(r.code, r.err).toBe(0);
    expect(index(new RegExp(`^zfs send -v -P -L -c -I ${S}@${A} ${S}@backplane-repl-`))).toBeGreaterThanOrEqual(0);
    // retain 2: the new one and the newest before it (C) stay; A and B go; the hand-made and declared ones stay
    expect(log().filter((l) => /^zfs destroy tank\/src@/.test(l))).toEqual([`zfs destroy ${S}@${A}`, `zfs destroy ${S}@${B}`]);
    expect(readFileSync(join(dir, "spared"), "utf8")).toBe(`${hand}\n`);
    expect(r.out).toContain("warning\tkept backup/t@x on the target (held or cloned)");
  });

  it.each([
    ["shares no snapshot", `token\\t-\\nwritten\\t0\\n${tsnap("7", "other")}`, "0", /shares no snapshot with tank\/src \(it has: @other\)/],
    ["diverged", `token\\t-\\nwritten\\t0\\n${tsnap("1", A)}${tsnap("8", "target-only")}`, "0", /diverged from tank\/src: the newest common snapshot is tank\/src@backplane-repl-20261126T080000Z, and only the target has @target-only/],
    ["modified", `token\\t-\\nwritten\\t4096\\n${tsnap("1", A)}`, "0", /modified since the common snapshot .* \(4096 bytes written\)/],
    ["no common even when rollback is allowed", `token\\t-\\nwritten\\t0\\n${tsnap("7", "other")}`, "1", /shares no snapshot/],
  ])("a target that %s is refused before anything is taken or sent", (_, tstate, force, message) => {
    const r = auto({ TSTATE: tstate, SRC: snap("1", A) + snap("2", B) }, { force });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(index(/^zfs (snapshot|send -v|hold|destroy)/)).toBe(-1);
  });

  it.each([["diverged", `token\\t-\\nwritten\\t0\\n${tsnap("1", A)}${tsnap("8", "target-only")}`], ["modified", `token\\t-\\nwritten\\t4096\\n${tsnap("1", A)}`]])("a %s target is received over (recv -F in its forced command) when the replication allows rolling it back", (_, tstate) => {
    const r = auto({ TSTATE: tstate, SRC: snap("1", A) + snap("2", B), WRITTEN: "1" }, { force: "1" });
    expect(r.code, r.err).toBe(0);
    expect(index(new RegExp(`^zfs send -v -P -L -c -I ${S}@${A} `))).toBeGreaterThanOrEqual(0);
  });

  it("a diverged or modified target is not 'in sync' however idle the source, when rolling it back is allowed (as the plan says)", () => {
    const r = auto({ TSTATE: `token\\t-\\nwritten\\t4096\\n${tsnap("1", A)}${tsnap("2", B)}`, SRC: snap("1", A) + snap("2", B), WRITTEN: "0" }, { force: "1" });
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(/^insync/m);
    expect(index(new RegExp(`^zfs send -v -P -L -c -I ${S}@${B} `))).toBeGreaterThanOrEqual(0);
  });

  it("a target that cannot be read fails the run", () => {
    const r = auto({ TSTATE: "Permission denied\\n", STATERC: "255" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read the state of 10\.201\.0\.2's target/);
  });

  it("another transfer of the replication running: busy (exit 75), nothing done", () => {
    const r = auto({ FLOCKRC: "1", TSTATE: "absent\\n" });
    expect(r.code).toBe(BUSY_EXIT);
    expect(log()).toEqual([]);
  });
});

describe("the target's forced command of a scheduled replication", () => {
  const cfg = { target: "backup/my t", force: false, receive: {}, every: "1m", prefix: "backplane-repl-", retainTarget: 2 };
  const ZFS_T = `#!/bin/sh
echo "zfs $*" >> "$STUB/log"
case "$*" in
  "list -H -o name "*) [ -n "$EXISTS" ];;
  "get -H -o value receive_resume_token "*) echo -;;
  "get -Hp -o value written "*) echo 0;;
  "list -Hp -t snapshot -o guid,name "*) printf '1\\tbackup/my t@a\\n';;
  "list -Hp -t snapshot -o name,userrefs "*) printf '%b' "$TLIST";;
  "destroy "*) [ "$2" != "$REFUSE" ];;
  "recv "*) cat > "$STUB/received";;
esac
`;
  const verb = (v: string, env: Record<string, string> = {}, input = "") => {
    writeFileSync(join(dir, "bin", "zfs"), ZFS_T);
    const [sh, c, script, ...rest] = targetCommand(cfg, false).map((w) => w.text);
    expect([sh, c]).toEqual(["sh", "-c"]);
    const r = spawnSync("sh", ["-c", script!, ...rest], { env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, STUB: dir, SSH_ORIGINAL_COMMAND: v, ...env }, input, encoding: "utf8" });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const t = (n: string, refs = "0") => `backup/my t@${n}\\t${refs}\\n`;
  const R = (h: number) => `backplane-repl-20261126T0${h}0000Z`;

  it("is one line (it lives in authorized_keys) and only for a scheduled replication", () => {
    expect(targetCommand(cfg, false).map((w) => w.text).join(" ")).not.toMatch(/\n/);
    expect(targetCommand({ ...cfg, every: null }, false).map((w) => w.text).slice(0, 2)).toEqual(["zfs", "recv"]);
  });

  it("state: absent, or the token, written and the snapshots in order", () => {
    expect(verb("state").out).toBe("absent\n");
    expect(verb("state", { EXISTS: "1" }).out).toBe("token\t-\nwritten\t0\nsnapshot\t1\tbackup/my t@a\n");
  });

  it("recv: the receive into the target, and nothing else", () => {
    const r = verb("recv", {}, "STREAM");
    expect(r.code, r.err).toBe(0);
    expect(log()).toEqual(["zfs recv -s -u -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb backup/my t"]);
  });

  it("prune: keeps the newest retain_target replication snapshots, never a held one, one the source spares, or another name", () => {
    const r = verb("prune", { TLIST: t(R(1)) + t(R(2), "1") + t("hand-made") + t(R(3)) + t(R(4)) + t(R(5)) + t(R(6)) + t(R(7)), REFUSE: `backup/my t@${R(4)}` }, `${R(3)}\n`);
    expect(r.code, r.err).toBe(0);
    // candidates R1 R2 R4 R5 R6 R7 (R3 spared): all but the newest 2 → R1 destroyed, R2 held, R4 refused (a clone's origin), R5
    expect(log().filter((l) => l.startsWith("zfs destroy"))).toEqual([`zfs destroy backup/my t@${R(1)}`, `zfs destroy backup/my t@${R(4)}`, `zfs destroy backup/my t@${R(5)}`]);
    expect(r.out).toBe(`kept\tbackup/my t@${R(2)}\nkept\tbackup/my t@${R(4)}\n`);
  });

  it("anything else is refused", () => {
    for (const v of ["", "zfs destroy -r backup", "state; reboot", "recv x"]) {
      const r = verb(v);
      expect(r.code, v).toBe(1);
      expect(r.err).toMatch(/this key may only receive into backup\/my t/);
    }
    expect(existsSync(join(dir, "received"))).toBe(false);
  });
});
