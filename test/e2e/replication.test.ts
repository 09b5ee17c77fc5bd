/**
 * Replication on vm-tier hosts: prod's datasets go to dr over the WireGuard tunnel, sent by
 * prod itself with a key that can only `zfs recv` into its target; incremental after the
 * first full stream; resumed after a kill mid-transfer; a diverged target refused with its
 * evidence; a raw (encrypted) stream the target cannot read without the key; retention on
 * both sides. One stack, applied step by step (the cases build on each other).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { rm } from "node:fs/promises";
import { execa } from "execa";
import { join } from "node:path";
import { backplane, project, resetHosts, seedWorkingCopy, sh, ROOT } from "./helpers.js";
import { PREPARE, REPLICATION_STACK } from "./replication-stack.js";

const KEY_DIR = "/etc/backplane/replication";
let dir: string;
let drWg: string;


/** The snapshots of a dataset, name → guid. */
async function guids(host: string, dataset: string): Promise<Map<string, string>> {
  const out = await sh(host, `zfs list -H -p -t snapshot -o name,guid -d 1 ${dataset}`);
  return new Map(out.trim().split("\n").filter(Boolean).map((l) => {
    const [n, g] = l.split("\t") as [string, string];
    return [n.slice(n.indexOf("@") + 1), g];
  }));
}

/** sha256 of a file in a snapshot of dr's copy, read through a throw-away clone (the target itself stays unmounted). */
async function drChecksum(dataset: string, snap: string, file: string): Promise<string> {
  return (await sh("dr", `set -e; zfs clone -o mountpoint=/mnt/bp-verify -o readonly=on '${dataset}@${snap}' backup/bp-verify; sha256sum /mnt/bp-verify/${file} | cut -d' ' -f1; zfs destroy backup/bp-verify`)).trim();
}

const newest = (m: Map<string, string>) => [...m.keys()].filter((n) => n.startsWith("backplane-repl-")).sort().pop()!;

describe("replication over WireGuard (vm tier)", () => {
  beforeAll(async () => {
    await resetHosts();
    for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
    await sh("prod", PREPARE.prod);
    dir = await project("replication", REPLICATION_STACK);
  }, 300_000);

  it("the first apply sends full streams from prod to dr over the tunnel; the targets are read-only and not mounted", async () => {
    const r = await backplane(dir, ["apply", "--auto-approve"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("3 to replicate");
    expect(r.stdout).toMatch(/tank\/srv\/uploads → dr:backup\/prod\/uploads: full → @backplane-repl-/);
    drWg = (await sh("dr", "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
    expect(drWg).toMatch(/^10\.201\.0\.\d+$/);
    // dr's sshd saw the replication keys arrive from prod's tunnel address, not from the operator
    const prodWg = (await sh("prod", "ip -o -4 addr show dev wg0 | awk '{print $4}' | cut -d/ -f1")).trim();
    expect(await sh("dr", "journalctl -u ssh --no-pager | grep 'Accepted publickey' || true")).toContain(`from ${prodWg}`);
    for (const t of ["uploads", "postgres", "secret"]) {
      const props = await sh("dr", `zfs get -H -o value readonly,canmount,mounted,exec,setuid,devices backup/prod/${t}`);
      expect(props.trim().split("\n"), t).toEqual(["on", "noauto", "no", "off", "off", "off"]);
    }
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(again.stdout, again.stdout + again.stderr).toContain("No changes.");
    expect(again.stdout).toMatch(/uploads.*: in sync/);
    expect(again.stdout).not.toMatch(/\? snapshot backup\/prod/);
    expect(again.exitCode).toBe(0);
  }, 600_000);

  it("after new writes the plan shows the lag and apply sends only an incremental; files and snapshot guids match on both hosts", async () => {
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/uploads/video.bin bs=1M count=24 status=none && dd if=/dev/urandom of=/tank/srv/postgres/base.dat bs=1M count=4 status=none && sync");
    const sums = { video: (await sh("prod", "sha256sum /tank/srv/uploads/video.bin | cut -d' ' -f1")).trim() };
    const plan = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/uploads → dr:backup\/prod\/uploads: [\d.]+ MB written since the last replicated snapshot, lag \d+s — apply sends an incremental/);
    const r = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/uploads → dr:backup\/prod\/uploads: incremental from @backplane-repl-\S+ → @backplane-repl-/);
    const [src, dst] = [await guids("prod", "tank/srv/uploads"), await guids("dr", "backup/prod/uploads")];
    const snap = newest(src);
    expect(dst.get(snap), "the newest snapshot has the same guid on both hosts").toBe(src.get(snap));
    expect(await drChecksum("backup/prod/uploads", snap, "video.bin")).toBe(sums.video);
  }, 600_000);

  it("the replication key on dr cannot run a command or receive into another dataset", async () => {
    const id = (await sh("prod", `ls ${KEY_DIR} | grep -v '\\.' | head -1`)).trim();
    const ssh = `ssh -F /dev/null -i ${KEY_DIR}/${id} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${KEY_DIR}/${id}.known_hosts ${drWg}`;
    const ls = await sh("prod", `${ssh} ls / </dev/null 2>&1; echo "exit=$?"`);
    expect(ls).not.toMatch(/\bbin\b|\betc\b/);
    expect(ls).toMatch(/zfs receive|cannot receive|failed to read from stream/);
    expect(ls).not.toContain("exit=0");
    const snap = newest(await guids("prod", "tank/srv/uploads"));
    const elsewhere = await sh("prod", `zfs send 'tank/srv/uploads@${snap}' | ${ssh} zfs recv backup/evil 2>&1; echo "exit=$?"`);
    expect(elsewhere).not.toContain("exit=0");
    expect(await sh("dr", "zfs list -H -o name -r backup")).not.toContain("backup/evil");
    // the private key never left prod: dr holds only the public half, in authorized_keys
    expect(await sh("dr", `ls ${KEY_DIR} 2>/dev/null || true`)).toBe("");
  }, 300_000);

  it("a transfer killed mid-stream resumes from the target's token on the next apply and completes", async () => {
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/uploads/big.bin bs=1M count=160 status=none && sync");
    const sum = (await sh("prod", "sha256sum /tank/srv/uploads/big.bin | cut -d' ' -f1")).trim();
    const running = execa(join(ROOT, "bin", "backplane.mjs"), ["replicate", "--no-synth"], { cwd: dir, reject: false, env: { NO_COLOR: "1" } });
    // wait until dr is receiving, then cut the stream on prod (the replication's own ssh)
    let receiving = false;
    for (let i = 0; i < 120 && !receiving; i++) {
      await new Promise((r) => setTimeout(r, 500));
      receiving = (await sh("prod", `pgrep -f '[s]sh -F /dev/null -i ${KEY_DIR}/' || true`)).trim() !== "";
    }
    expect(receiving, "dr started receiving").toBe(true);
    await new Promise((r) => setTimeout(r, 6000));
    await sh("prod", `pkill -f '[s]sh -F /dev/null -i ${KEY_DIR}/' || true`);
    const cut = await running;
    expect(cut.exitCode, cut.stdout + cut.stderr).toBe(1);
    expect(cut.stdout + cut.stderr).toContain("replication failed for 1 of");
    const token = (await sh("dr", "zfs get -H -o value receive_resume_token backup/prod/uploads")).trim();
    expect(token).toMatch(/^1-/);

    const plan = await backplane(dir, ["plan", "--no-synth"]);
    expect(plan.stdout).toMatch(/uploads → dr:backup\/prod\/uploads: an interrupted transfer — apply resumes it from the target's resume token/);
    const r = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resumed tank\/srv\/uploads@backplane-repl-\S+ from the target's token/);
    // progress while it ran, from zfs send -v -P
    expect(r.stdout).toMatch(/tank\/srv\/uploads → dr:backup\/prod\/uploads: [\d.]+ [kMG]?B of [\d.]+ [kMG]?B \(\d+%\) sent, [\d.]+ MB\/s/);
    expect((await sh("dr", "zfs get -H -o value receive_resume_token backup/prod/uploads")).trim()).toBe("-");
    const [src, dst] = [await guids("prod", "tank/srv/uploads"), await guids("dr", "backup/prod/uploads")];
    const snap = newest(src);
    expect(dst.get(snap)).toBe(src.get(snap));
    expect(await drChecksum("backup/prod/uploads", snap, "big.bin")).toBe(sum);
  }, 900_000);

  it("a target changed by hand is refused with the common snapshot and the target-only snapshots; nothing on dr is destroyed", async () => {
    await sh("dr", "zfs snapshot backup/prod/postgres@handmade");
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/postgres/more.dat bs=1M count=1 status=none && sync");
    const before = await guids("dr", "backup/prod/postgres");
    const common = newest(before);
    const r = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain(`backup/prod/postgres on dr diverged from tank/srv/postgres on prod: the newest common snapshot is @${common}, and only the target has @handmade`);
    expect(await guids("dr", "backup/prod/postgres")).toEqual(before);
    await sh("dr", "zfs destroy backup/prod/postgres@handmade");
  }, 300_000);

  it("retention keeps the configured number of replication snapshots on each side; the newest is held and bookmarked", async () => {
    for (let i = 0; i < 3; i++) {
      await sh("prod", `echo ${i} >> /tank/srv/postgres/wal && sync`);
      const r = await backplane(dir, ["replicate", "--no-synth"]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      await new Promise((res) => setTimeout(res, 1100)); // one snapshot name per second
    }
    const src = [...(await guids("prod", "tank/srv/postgres")).keys()].filter((n) => n.startsWith("backplane-repl-"));
    const dst = [...(await guids("dr", "backup/prod/postgres")).keys()].filter((n) => n.startsWith("backplane-repl-"));
    expect(src.length, src.join(",")).toBe(2);
    expect(dst.length, dst.join(",")).toBe(3);
    const last = src.sort().pop()!;
    expect(await sh("prod", `zfs holds -H 'tank/srv/postgres@${last}'`)).toMatch(/backplane-repl-[0-9a-f]{16}/);
    expect(await sh("prod", "zfs list -H -o name -t bookmark -r tank/srv/postgres")).toContain(`tank/srv/postgres#${last}`);
    // one hold per replication: the superseded snapshots were released
    for (const s of src.filter((n) => n !== last)) expect(await sh("prod", `zfs holds -H 'tank/srv/postgres@${s}'`)).toBe("");
  }, 600_000);

  it("an encrypted dataset goes raw: dr holds it without the key, and reads it once the key is loaded there", async () => {
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/secret/s.bin bs=1M count=2 status=none && sync");
    const sum = (await sh("prod", "sha256sum /tank/srv/secret/s.bin | cut -d' ' -f1")).trim();
    const r = await backplane(dir, ["replicate", "--no-synth"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await sh("dr", "zfs get -H -o value keystatus,encryption backup/prod/secret")).trim().split("\n")).toEqual(["unavailable", "aes-256-gcm"]);
    const snap = newest(await guids("prod", "tank/srv/secret"));
    // the key, given to dr by hand as an operator restoring would
    const key = (await sh("prod", "base64 -w0 /root/bp-secret.key")).trim();
    await sh("dr", `echo ${key} | base64 -d > /root/bp-secret.key && zfs load-key -L file:///root/bp-secret.key backup/prod/secret`);
    expect(await drChecksum("backup/prod/secret", snap, "s.bin")).toBe(sum);
    await sh("dr", "zfs unload-key backup/prod/secret; rm -f /root/bp-secret.key");
  }, 300_000);
});

/** Waits, when a quarter hour (UTC, by prod's clock) is less than 2 minutes away, until 30 s past it. */
async function quietQuarterHour(): Promise<void> {
  const now = Number((await sh("prod", "date +%s")).trim());
  const toNext = 900 - (now % 900);
  if (toNext < 120) await new Promise((r) => setTimeout(r, (toNext + 30) * 1000));
}

describe("the seed's seed-dr stack (examples/seed)", () => {
  // a working copy of the seed, not the seed itself: its state, lock and synth output stay out of
  // examples/, which engine-seed.test.ts copies meanwhile (the two files run at once, on two labs)
  const seed = join(ROOT, "test", "e2e", ".work", "seed-dr");
  beforeAll(async () => {
    await resetHosts();
    for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
    await seedWorkingCopy(seed);
  }, 300_000);
  afterAll(() => rm(seed, { recursive: true, force: true }));

  it("replicates uploads and postgres from prod to dr over the mesh; a second plan has no changes", async () => {
    // the seed's timers (snapshots every 15 min, replication every 15 min) fire on quarter hours
    // (UTC): a snapshot or transfer of theirs between apply and the second plan would make it
    // "behind"; start well clear of one
    await quietQuarterHour();
    const r = await backplane(seed, ["apply", "--stack", "seed-dr", "--auto-approve"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("2 to replicate");
    for (const name of ["uploads", "postgres"]) {
      const [src, dst] = [await guids("prod", `tank/srv/${name}`), await guids("dr", `backup/prod/${name}`)];
      const snap = newest(src);
      expect(dst.get(snap), name).toBe(src.get(snap));
    }
    const again = await backplane(seed, ["plan", "--stack", "seed-dr", "--detailed-exitcode", "--no-synth"]);
    expect(again.stdout, again.stdout + again.stderr).toContain("No changes.");
    expect(again.exitCode).toBe(0);
  }, 600_000);
});
