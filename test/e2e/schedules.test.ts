/**
 * The back plane runs by itself (vm tier): a snapshot policy and a scheduled replication,
 * both on one-minute timers (test-only speed), installed by apply and then left alone —
 * no backplane process runs while the hosts snapshot, prune and replicate. Checked: the
 * policy prunes to its count and never a held, hand-made or unmarked snapshot; dr stays
 * within one interval of prod while a writer runs; a send killed mid-stream resumes on the
 * next tick; a disabled timer and a failed run are drift (and the failed run fails the probe
 * fed by it), apply repairs; a reboot keeps the timers; removing the policy removes its timer
 * and leaves its snapshots. One stack, the cases in order.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { backplane, prepareReboot, project, rebootAndWait, resetHosts, sh } from "./helpers.js";
import { PREPARE } from "./replication-stack.js";

const STACK = (policy: boolean) => `
const prod = new Host(stack, "prod", hostProps(prodInv));
const dr = new Host(stack, "dr", hostProps(drInv));
const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
prod.dataset("logs", { name: "tank/srv/logs", profile: "logs", dependsOn: [srv]${policy ? `, snapshots: { every: [{ every: "1m", keep: 1 }], hourly: 2 }` : ""} });
const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", properties: { compression: "off" }, dependsOn: [srv] });
const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
const mesh = new bp.WireGuardMesh(stack, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820, persistentKeepalive: 5 });
new bp.Replication(stack, "uploads-dr", { source: uploads, target: dr, targetDataset: "backup/prod/uploads", via: mesh, every: "1m", retainSource: 2, retainTarget: 2 });
new bp.Probe(stack, "fresh-logs", { host: prod, check: "snapshot_freshness", target: "tank/srv/logs", snapshotPrefix: "bp-auto-1m-", maxAge: "5m" });
new bp.Probe(stack, "lag-uploads", { host: prod, check: "replication_lag", target: "tank/srv/uploads", maxLag: "5m" });
`;

// the writer stops itself once /run/bp-writer.stop exists (a kill alone once left it running); stopping waits until it is gone
const WRITER_START = "rm -f /run/bp-writer.stop; nohup timeout 900 sh -c ': bp_writer_loop; i=0; while [ ! -e /run/bp-writer.stop ]; do dd if=/dev/urandom of=/tank/srv/uploads/w$((i % 4)) bs=64k count=8 status=none; i=$((i + 1)); sleep 3; done' >/dev/null 2>&1 & echo $! > /run/bp-writer.pid";
const WRITER_STOP = "touch /run/bp-writer.stop; kill $(cat /run/bp-writer.pid 2>/dev/null) 2>/dev/null; for i in $(seq 30); do pgrep -f '[b]p_writer_loop' >/dev/null || break; sleep 1; done; rm -f /run/bp-writer.pid; ! pgrep -f '[b]p_writer_loop' >/dev/null";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let policyUnit: string;
let replicationUnit: string;
/** prod's clock just before the stack's first apply */
let appliedAt: number;

const lines = async (host: string, script: string) => (await sh(host, script)).split("\n").filter(Boolean);
const snapshots = (host: string, dataset: string) => lines(host, `zfs list -H -o name -t snapshot -s createtxg -d 1 ${dataset}`);
/** A unit's journal lines, of every boot or (thisBoot) of the current one only, or since an epoch second of prod's. */
const journal = (unit: string, thisBoot = false, since?: number) => lines("prod", `journalctl ${thisBoot ? "-b " : ""}${since !== undefined ? `--since @${since} ` : ""}-o cat -u ${unit}.service --no-pager`);
const epochNow = async (host: string) => Number((await sh(host, "date +%s")).trim());
/** Seconds dr's copy is behind: prod's clock minus the creation (carried by the stream) of dr's newest replicated snapshot. */
async function lagSeconds(): Promise<number> {
  const [newest] = await lines("dr", "zfs list -Hp -o creation -t snapshot -S createtxg -d 1 backup/prod/uploads | head -1");
  return (await epochNow("prod")) - Number(newest);
}

/** Waits until no run of these units is in progress (a count taken mid-run sees a snapshot its prune has not yet removed). */
async function idle(...units: string[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const states = await lines("prod", units.map((u) => `systemctl is-active ${u}.service || true`).join("; "));
    if (states.every((x) => x !== "activating" && x !== "active")) return;
    await sleep(2000);
  }
  throw new Error(`${units.join(", ")} still running after 120 s`);
}

/** Waits for seconds 5–25 of a minute on prod, with no run of the stack's units in progress (their ticks are at second 0). */
async function quietPartOfMinute(): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const second = Number((await sh("prod", "date +%S")).trim());
    if (second >= 5 && second <= 25) {
      const states = await lines("prod", [policyUnit, replicationUnit].map((u) => `systemctl is-active ${u}.service || true`).join("; "));
      if (states.every((x) => x !== "activating" && x !== "active")) return;
    }
    await sleep(2000);
  }
  throw new Error("no quiet moment in 80 s: a unit's run keeps going");
}

async function untilJournal(unit: string, pattern: RegExp, timeoutMs: number, since = 0, thisBoot = false): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await journal(unit, thisBoot);
    if (j.slice(since).some((l) => pattern.test(l))) return j;
    if (Date.now() > deadline) throw new Error(`${unit}: no line matching ${pattern} within ${timeoutMs / 1000}s:\n${j.slice(-20).join("\n")}`);
    await sleep(3000);
  }
}

describe("the back plane runs by itself (vm tier)", () => {
  beforeAll(async () => {
    await resetHosts();
    for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
    dir = await project("schedules", STACK(true));
    appliedAt = await epochNow("prod");
    const apply = await backplane(dir, ["apply", "--auto-approve"]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/Installing backplane-snapshot-[0-9a-f]{16}\.timer complete/);
    expect(apply.stdout).toMatch(/Installing backplane-replicate-[0-9a-f]{16}\.timer complete/);
    const state = JSON.parse(await readFile(join(dir, "terraform.tfstate"), "utf8")) as { resources: Record<string, { type: string; attributes: Record<string, unknown> }> };
    const unitOf = (type: string) => String(Object.values(state.resources).find((r) => r.type === type)!.attributes.unit);
    [policyUnit, replicationUnit] = [unitOf("backplane_snapshot_policy"), unitOf("backplane_replication")];
  }, 600_000);

  afterAll(async () => {
    await sh("prod", WRITER_STOP).catch(() => {});
  });

  it("snapshots, prunes and replicates on its own: counts kept, held/hand-made/unmarked snapshots spared, dr within one interval of prod", async () => {
    // snapshots that are not the policy's to prune: hand-made, and one with its name but not its marker
    await sh("prod", "zfs snapshot tank/srv/logs@hand-made && zfs snapshot tank/srv/logs@bp-auto-1m-20200101T000000Z");
    await sh("prod", WRITER_START);
    // the first 1m snapshot the timer takes is held by someone else: it must survive every prune (keep 1: the third run prunes the second)
    await untilJournal(policyUnit, /^took tank\/srv\/logs@bp-auto-1m-/, 150_000);
    const first = (await snapshots("prod", "tank/srv/logs")).find((s) => /@bp-auto-1m-2026/.test(s))!;
    await sh("prod", `zfs hold operator-keep ${first}`);
    // four more ticks, with no backplane process: the lag is sampled meanwhile
    const lags: number[] = [];
    const until = Date.now() + 250_000;
    let ticks = 0;
    while (Date.now() < until) {
      await sleep(10_000);
      if ((await journal(replicationUnit)).some((l) => /^snapshot\t/.test(l))) lags.push(await lagSeconds());
      ticks = (await journal(policyUnit)).filter((l) => /^took tank\/srv\/logs@bp-auto-1m-/.test(l)).length;
      if (ticks >= 3 && lags.length >= 5) break;
    }
    await sh("prod", WRITER_STOP);
    expect(ticks, "policy runs").toBeGreaterThanOrEqual(3);
    // in the quiet part of a minute, no run in progress: no tick lands between the reads below
    await quietPartOfMinute();
    const thisStack = await journal(policyUnit, false, appliedAt);
    const logs = await snapshots("prod", "tank/srv/logs");
    const auto = logs.filter((s) => /@bp-auto-1m-2026/.test(s));
    // the count (1) plus the held one
    expect(auto, logs.join("\n")).toHaveLength(2);
    expect(logs).toEqual(expect.arrayContaining([first, "tank/srv/logs@hand-made", "tank/srv/logs@bp-auto-1m-20200101T000000Z"]));
    const j = await journal(policyUnit);
    // hourly: 2 keeps the newest two of those this stack's runs took (one, or two when the runs
    // crossed an hour); an earlier run of this file on the same lab logged under the same unit
    const hourlyTaken = thisStack.map((l) => /^took (tank\/srv\/logs@bp-auto-hourly-\S+) in \d+ ms$/.exec(l)?.[1]).filter((s): s is string => !!s);
    expect(hourlyTaken.length, thisStack.join("\n")).toBeGreaterThanOrEqual(1);
    expect(logs.filter((s) => /@bp-auto-hourly-/.test(s))).toEqual(hourlyTaken.slice(-2));
    expect(j.some((l) => l.startsWith(`kept ${first}: held (operator-keep`)), j.join("\n")).toBe(true);
    const took = j.map((l) => /^took \S+ in (\d+) ms$/.exec(l)?.[1]).filter(Boolean).map(Number);
    const pruned = j.map((l) => /^pruned (\d+) snapshot\(s\) of tank\/srv\/logs in (\d+) ms$/.exec(l)).filter(Boolean).map((m) => [Number(m![1]), Number(m![2])]);
    console.log(`snapshot policy on the vm tier: snapshot ${Math.min(...took)}–${Math.max(...took)} ms (${took.length}), prune runs ${pruned.map(([n, ms]) => `${n} in ${ms} ms`).join(", ")}`);
    expect(pruned.some(([n]) => n! > 0)).toBe(true);

    // dr followed prod by itself: never more than one interval plus a transfer behind once it started
    console.log(`scheduled replication lag samples (s): ${lags.join(", ")}`);
    expect(lags.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...lags.slice(1))).toBeLessThanOrEqual(60 + 45);
    // retention on both sides, applied by the timer's own runs
    expect((await snapshots("prod", "tank/srv/uploads")).filter((s) => s.includes("@backplane-repl-"))).toHaveLength(2);
    expect((await snapshots("dr", "backup/prod/uploads")).filter((s) => s.includes("@backplane-repl-"))).toHaveLength(2);
    const r = await journal(replicationUnit);
    expect(r.filter((l) => /^incremental\t/.test(l)).length, r.join("\n")).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it("a timer disabled by hand is drift, and apply repairs it", async () => {
    await sh("prod", `systemctl disable --now ${replicationUnit}.timer`);
    const drift = await backplane(dir, ["drift", "--no-synth"]);
    expect(drift.exitCode, drift.stdout + drift.stderr).toBe(2);
    expect(drift.stdout).toContain(`${replicationUnit}.timer is disabled (it would not start at boot)`);
    const apply = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    expect((await sh("prod", `systemctl is-enabled ${replicationUnit}.timer; systemctl is-active ${replicationUnit}.timer`)).split("\n").slice(0, 2)).toEqual(["enabled", "active"]);
    // the timer, enabled again, fires at once for the tick it missed (Persistent=): apply's own
    // transfer finds that run holding the lock and leaves the data to it, so a drift taken
    // mid-run sees dr behind — look after it (CI, 2026-11-27: "539.6 kB written since …")
    await quietPartOfMinute();
    const again = await backplane(dir, ["drift", "--no-synth"]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  }, 600_000);

  it("a failed run is drift and fails the probe that reads what the timer makes", async () => {
    // the run fails: its dataset is away for a moment; the timer stays stopped while drift and
    // the probe look, so no tick clears the failure before they do
    await sh("prod", `systemctl stop ${policyUnit}.timer; zfs rename tank/srv/logs tank/srv/logs-away; systemctl start ${policyUnit}.service; zfs rename tank/srv/logs-away tank/srv/logs; true`);
    const drift = await backplane(dir, ["drift", "--no-synth"]);
    expect(drift.exitCode, drift.stdout).toBe(2);
    expect(drift.stdout).toMatch(new RegExp(`${policyUnit}\\.service last run.*exit-code \\(exit 1\\)`));
    const probe = await backplane(dir, ["probe", "--no-synth", "--json"]);
    const fresh = (JSON.parse(probe.stdout) as { results: { probe: string; status: string; reasons: string[] }[] }).results.find((r) => r.probe === "fresh-logs")!;
    expect(fresh.status, probe.stdout).toBe("failing");
    expect(fresh.reasons.join(" ")).toContain(`the last run of ${policyUnit}.timer failed (exit-code, exit 1)`);
    expect(fresh.reasons.join(" ")).not.toMatch(/newest snapshot .* old/);
    // apply starts the timer again (the failure is the journal's to explain, not apply's to redo); its next run clears it
    const since = (await journal(policyUnit)).length;
    expect((await backplane(dir, ["apply", "--auto-approve", "--no-synth"])).exitCode).toBe(0);
    await untilJournal(policyUnit, /^pruned /, 150_000, since);
    // (the replication's timer ticks too: a drift taken while its run sends would see dr behind)
    await quietPartOfMinute();
    const again = await backplane(dir, ["drift", "--no-synth"]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  }, 600_000);

  it("a reboot mid-send: the timers are enabled and running after the boot, and the next tick resumes the cut transfer", async () => {
    // kexec-tools installed and the kernel loaded now: the install takes tens of seconds, which
    // must not pass between "the transfer still runs" and the reboot
    await prepareReboot("prod");
    // incompressible data (compression=off): ≈ 30 s on the wire under emulation, more beside other
    // guests; written in the quiet part of a minute, so no tick sends a part of it before the reboot
    await quietPartOfMinute();
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/uploads/big bs=1M count=80 status=none");
    const before = (await journal(replicationUnit)).length;
    await untilJournal(replicationUnit, /^\d\d:\d\d:\d\d\t[1-9]\d*\t/, 150_000, before);
    expect((await sh("prod", `systemctl is-active ${replicationUnit}.service || true`)).trim(), "the transfer still runs when the reboot starts").toBe("activating");
    // the boot cuts the stream: the receive on dr sees it end and saves what it got
    await rebootAndWait("prod");
    let token = "-";
    for (let i = 0; i < 30 && token === "-"; i++) {
      token = (await sh("dr", "zfs get -H -o value receive_resume_token backup/prod/uploads")).trim();
      if (token === "-") await sleep(3000);
    }
    // (CI once saw none within 20 s: say whether a receive was still waiting on dr, and what the cut run logged)
    const evidence = token === "-" ? `dr: ${await sh("dr", "ps -eo pid,etimes,args | grep '[z]fs recv' || echo 'no zfs recv running'")}\nprod, last boot: ${(await sh("prod", `journalctl -b -1 -o short-precise -u ${replicationUnit}.service --no-pager | tail -15 || true`))}` : "";
    expect(token, `a partial receive's token on dr\n${evidence}`).not.toBe("-");
    for (const u of [policyUnit, replicationUnit]) {
      expect((await sh("prod", `systemctl is-enabled ${u}.timer; systemctl is-active ${u}.timer`)).split("\n").slice(0, 2), u).toEqual(["enabled", "active"]);
    }
    // they run: the cut transfer resumed from the token, then done, and a snapshot — in this
    // boot's journal (a timer that missed a tick while the host was down fires at boot, maybe
    // before this test looks)
    const j = await untilJournal(replicationUnit, /^resumed\t/, 150_000, 0, true);
    await untilJournal(replicationUnit, /^snapshot\t/, 150_000, j.findIndex((l) => /^resumed\t/.test(l)), true);
    await untilJournal(policyUnit, /^took tank\/srv\/logs@bp-auto-1m-/, 150_000, 0, true);
    expect((await sh("dr", "zfs get -H -o value receive_resume_token backup/prod/uploads")).trim()).toBe("-");
    const [src] = await lines("prod", "zfs list -Hp -o guid -t snapshot -S createtxg -d 1 tank/srv/uploads | head -1");
    const [dst] = await lines("dr", "zfs list -Hp -o guid -t snapshot -S createtxg -d 1 backup/prod/uploads | head -1");
    expect(dst).toBe(src);
    await idle(policyUnit, replicationUnit);
    const plan = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
  }, 600_000);

  it("removing the policy from the code removes its timer and leaves its snapshots", async () => {
    await project("schedules", STACK(false), false);
    const plan = await backplane(dir, ["plan"]);
    expect(plan.stdout).toContain(`${policyUnit}.timer and its script are removed; the snapshots it took (tank/srv/logs@bp-auto-…) stay`);
    // the timers tick at second 0 of each minute (keep 1: a tick prunes the previous minute's
    // snapshot): list and apply in the quiet part of a minute, after both units' runs
    await quietPartOfMinute();
    const kept = (await snapshots("prod", "tank/srv/logs")).filter((s) => s.includes("@bp-auto-"));
    const apply = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    expect((await sh("prod", `ls /etc/systemd/system /etc/backplane/timers | grep -c ${policyUnit} || true`)).trim()).toBe("0");
    const after = await snapshots("prod", "tank/srv/logs");
    expect(after).toEqual(expect.arrayContaining(kept));
    // (the replication's timer still ticks: a plan taken while its run sends would see dr behind)
    await quietPartOfMinute();
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  }, 600_000);
});
