/**
 * Snapshot policies: the schedule (periods aligned to the clock, the timer's OnCalendar),
 * the files installed on a host (byte-identical to what a vm-tier host holds), the timers
 * fact parsed from captured `systemctl show` output, what counts as drift, and the host
 * script's prune decisions run for real under sh with a stand-in for zfs.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bucketsOf, onCalendar, periodProblem, specOf } from "../../provider/zfs/snapshot-schedule.js";
import { timerFacts, timerProblems, lastRunFailure, sha256, timerDrift } from "../../provider/systemd/timers.js";
import { policyFiles, snapshotPolicyKind, scheduleTopologyProblems } from "../../provider/resources/snapshot-policy.js";
import { configSchema } from "../../provider/schema/attr.js";
import { snapshotPolicy } from "../../provider/schema/kinds/snapshot-policy.js";
import type { HostLive } from "../../provider/model/live.js";
import { withHost } from "./helpers/synth.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "..", "fixtures", "timers", `${name}.txt`), "utf8");
// the policy applied on the vm tier when the fixtures were captured (test/lab/capture-timers.mts)
const LINEAGE = "78adbaca-eae7-47b3-9e9c-5c621d5729b2";
const ADDRESS = "backplane_snapshot_policy.prod_logs_snapshots_resource_AC619CAF";
const CONFIG = { dataset: "tank/srv/logs", every: { "1m": "2" }, hourly: 3 };
const UNIT = "backplane-snapshot-167931d15a6a7eec";
const live = (timers: HostLive["timers"]) => ({ host: "prod", timers }) as unknown as HostLive;

describe("schedules", () => {
  it.each([
    ["1m", null], ["15m", null], ["30m", null], ["1h", null], ["6h", null], ["12h", null], ["1d", null], ["1w", null],
    ["45m", "cannot stay aligned"], ["7h", "cannot stay aligned"], ["2d", "cannot stay aligned"], ["90s", "is not a period"], ["0m", "cannot stay aligned"], ["1.5h", "is not a period"], ["", "is not a period"],
  ])("period %j: %s", (text, problem) => {
    const p = periodProblem(text);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toContain(problem);
  });

  it.each([
    [{ every: { "1m": "2" }, hourly: 3 }, "*-*-* *:00/1:00 UTC"],
    [{ frequently: 4, hourly: 24 }, "*-*-* *:00/15:00 UTC"],
    [{ frequently: 4, frequent_period: "10m", every: { "15m": "2" } }, "*-*-* *:00/5:00 UTC"],
    [{ hourly: 24, daily: 7 }, "*-*-* 00/1:00:00 UTC"],
    [{ every: { "6h": "4" }, daily: 7 }, "*-*-* 00/6:00:00 UTC"],
    [{ daily: 7, monthly: 12 }, "*-*-* 00:00:00 UTC"],
    [{ weekly: 4 }, "Mon *-*-* 00:00:00 UTC"],
    [{ weekly: 4, monthly: 2 }, "*-*-* 00:00:00 UTC"],
    [{ monthly: 12 }, "*-*-01 00:00:00 UTC"],
  ])("the timer of %j fires at %s (every boundary of the shortest common step)", (config, calendar) => {
    expect(onCalendar(bucketsOf(config))).toBe(calendar);
  });

  it("buckets come shortest first, with sanoid's labels and the period as the label of a custom one; a count of 0 is no bucket", () => {
    expect(specOf(bucketsOf({ monthly: 12, hourly: 48, frequently: 4, daily: 0, every: { "1m": "3" } }))).toBe("1m 1 3\nfrequently 15 4\nhourly 60 48\nmonthly month 12");
  });
});

describe("the policy's configuration", () => {
  const check = (v: Record<string, unknown>) => {
    const r = configSchema(snapshotPolicy).safeParse(v);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  it("a policy that takes nothing is refused", () => {
    expect(check({ dataset: "tank/a" }).join("\n")).toContain("takes no snapshot");
    expect(check({ dataset: "tank/a", hourly: 0 }).join("\n")).toContain("takes no snapshot");
  });
  it("a custom period that cannot stay aligned, a count that is not a number, and two buckets of one period are refused by name", () => {
    expect(check({ dataset: "tank/a", every: { "45m": "3" } }).join("\n")).toMatch(/every\.45m: .*cannot stay aligned/);
    expect(check({ dataset: "tank/a", every: { "5m": "three" } }).join("\n")).toMatch(/every\.5m: 'three' is not a count/);
    expect(check({ dataset: "tank/a", hourly: 2, every: { "1h": "3" } }).join("\n")).toMatch(/every\.1h: has the same period as hourly/);
  });
  it("a hostile dataset or prefix is refused before anything is generated", () => {
    expect(check({ dataset: "tank/a; reboot", hourly: 1 }).join("\n")).toMatch(/dataset: .*character ';'/);
    expect(check({ dataset: "tank/a", snapshot_prefix: "x'$(reboot)", hourly: 1 }).join("\n")).toMatch(/snapshot_prefix: .*character/);
  });
});

describe("what is installed on the host", () => {
  it("is byte-identical to what the vm-tier host holds (the captured hashes)", () => {
    const files = policyFiles(LINEAGE, ADDRESS, CONFIG);
    expect(files.name).toBe(UNIT);
    const t = timerFacts.parse(fixture("installed"));
    for (const [path, text] of files.files) expect(t.files.get(path), path).toBe(sha256(text));
    expect(timerProblems(files, t)).toEqual([]);
  });

  it("user values reach the script only as quoted positional parameters; the unit files hold none", () => {
    const files = policyFiles(LINEAGE, ADDRESS, { dataset: "tank/my logs", snapshot_prefix: "a b-", hourly: 2 });
    const [script, service, timer] = [...files.files.values()] as [string, string, string];
    expect(script).toContain(`set -- 'tank/my logs' 0 'a b-' ${LINEAGE} 'hourly 60 2'`);
    expect(service + timer).not.toContain("my logs");
    expect(service).toContain(`ExecStart=/bin/sh /etc/backplane/timers/${UNIT.replace(/[0-9a-f]{16}$/, "")}`);
  });

  it("another stack (lineage) or another address gets another unit", () => {
    const a = policyFiles(LINEAGE, ADDRESS, CONFIG).name;
    expect(policyFiles("b" + LINEAGE.slice(1), ADDRESS, CONFIG).name).not.toBe(a);
    expect(policyFiles(LINEAGE, ADDRESS + "x", CONFIG).name).not.toBe(a);
  });
});

describe("the timers fact (systemctl show, captured on the vm tier)", () => {
  it("reads files, unit states and epoch times", () => {
    const t = timerFacts.parse(fixture("installed"));
    expect(t.systemd).toBe(true);
    expect([...t.units.keys()]).toEqual([`${UNIT}.timer`, `${UNIT}.service`]);
    // just installed: never fired, never ran
    expect(t.units.get(`${UNIT}.timer`)).toMatchObject({ unitFileState: "enabled", activeState: "active", lastTrigger: null, dropIns: [], needsReload: false });
    expect(t.units.get(`${UNIT}.service`)).toMatchObject({ result: "success", unitFileState: "static", exitedAt: null });
    // after a run (systemctl's UTC text times)
    const failed = timerFacts.parse(fixture("failed"));
    expect(failed.units.get(`${UNIT}.timer`)!.lastTrigger).toBe(Date.parse("2026-11-26T18:17:01Z") / 1000);
    expect(failed.units.get(`${UNIT}.service`)).toMatchObject({ result: "exit-code", exitStatus: 1, exitedAt: Date.parse("2026-11-26T18:17:06Z") / 1000 });
  });

  it("a host without systemd says so", () => {
    expect(timerFacts.parse("nosystemd\n")).toEqual({ systemd: false, files: new Map(), units: new Map() });
  });

  it.each([
    ["a file line with a bad hash", "file\t/etc/x\tnothex\n"],
    ["an unknown property", `file\t/etc/x\t${"a".repeat(64)}\n\nId=x.timer\nFoo=1\n`],
    ["a unit without its state", `file\t/etc/x\t${"a".repeat(64)}\n\nId=x.timer\nResult=success\n`],
    ["a unit listed twice", `\nId=x.timer\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\nResult=success\nDropInPaths=\n\nId=x.timer\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\nResult=success\nDropInPaths=\n`],
  ])("refuses %s", (_, text) => {
    expect(() => timerFacts.parse(text)).toThrow(/timers: line/);
  });

  it.each([
    ["disabled", [`${UNIT}.timer is disabled (it would not start at boot)`, `${UNIT}.timer is inactive (not scheduled)`]],
    ["drop-in", [`overridden by /etc/systemd/system/${UNIT}.timer.d/override.conf`]],
    ["edited", [`/etc/backplane/timers/${UNIT}.sh edited on the host`]],
    ["failed", []],
  ])("%s: the plan repairs %j", (name, problems) => {
    expect(timerProblems(policyFiles(LINEAGE, ADDRESS, CONFIG), timerFacts.parse(fixture(name)))).toEqual(problems);
  });

  it("a file that differs from the code: changed by the configuration when the host has what state recorded, else edited on the host", () => {
    const t = timerFacts.parse(fixture("installed"));
    const now = policyFiles(LINEAGE, ADDRESS, { ...CONFIG, hourly: 4 });
    const recorded = Object.fromEntries([...policyFiles(LINEAGE, ADDRESS, CONFIG).files].map(([p, x]) => [p, sha256(x)]));
    expect(timerProblems(now, t, recorded)).toEqual([`/etc/backplane/timers/${UNIT}.sh changes with the configuration`]);
    expect(timerProblems(now, t, {})).toEqual([`/etc/backplane/timers/${UNIT}.sh edited on the host`]);
  });

  it("a unit changed on disk but not reloaded (an interrupted install) is repaired; a drop-in outside backplane's directories is not its to remove", () => {
    const t = timerFacts.parse(fixture("installed"));
    t.units.get(`${UNIT}.timer`)!.needsReload = true;
    t.units.get(`${UNIT}.service`)!.dropIns = ["/usr/lib/systemd/system/service.d/10-timeout-abort.conf"];
    expect(timerProblems(policyFiles(LINEAGE, ADDRESS, CONFIG), t)).toEqual(["changed on disk but not reloaded by systemd (an interrupted install?)"]);
  });

  it("a missing file is a problem the plan repairs", () => {
    const t = timerFacts.parse(fixture("installed"));
    t.files.delete(`/etc/systemd/system/${UNIT}.timer`);
    expect(timerProblems(policyFiles(LINEAGE, ADDRESS, CONFIG), t)).toEqual([`/etc/systemd/system/${UNIT}.timer missing`]);
  });

  it("a failed last run is drift (with the exit status and time), not something apply re-runs", () => {
    const t = timerFacts.parse(fixture("failed"));
    expect(lastRunFailure(UNIT, t)).toEqual({ result: "exit-code", exitStatus: 1, at: expect.any(Number) });
    const attrs = snapshotPolicyKind.plan !== undefined ? { unit: UNIT, files: Object.fromEntries([...policyFiles(LINEAGE, ADDRESS, CONFIG).files].map(([p, x]) => [p, sha256(x)])) } : {};
    const d = timerDrift(ADDRESS, "prod", "tank/srv/logs snapshot policy", attrs, live(t));
    expect(d.map((x) => `${x.property}: ${x.recorded} → ${x.live}`)).toEqual([`${UNIT}.service last run: succeeded → exit-code (exit 1) at ${new Date(lastRunFailure(UNIT, t)!.at! * 1000).toISOString()}: journalctl -u ${UNIT}.service`]);
    expect(timerDrift(ADDRESS, "prod", "x", attrs, live(timerFacts.parse(fixture("installed"))))).toEqual([]);
    expect(timerDrift(ADDRESS, "prod", "x", attrs, live(timerFacts.parse(fixture("disabled")))).map((x) => x.live)).toEqual(["disabled"]);
  });
});

describe("the host script's snapshots and prune decisions (run under sh, zfs stood in)", () => {
  let dir: string;
  const ZFS = `#!/bin/sh
echo "zfs $*" >> "$STUB/log"
case "$1" in
  list) case "$*" in *"-t snapshot -o name,userrefs"*) printf '%b' "$LIST";; *"-t snapshot"*) exit 1;; *) exit 0;; esac;;
  get) case "$*" in "get -H -o value -s local backplane:managed "*) [ "$8" = "\${FORGED:-}" ] && { echo 'value-with\\nnewline'; exit 0; }; printf '%b' "$MARKS" | awk -F'\\t' -v s="$8" '$1 == s { print $2 }';; *) printf '%b' "$MARKS";; esac;;
  holds) printf '%s\\tbackplane-repl-abc\\t-\\n' "$3";;
esac
exit 0
`;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bp-policy-sh-"));
    writeFileSync(join(dir, "zfs"), ZFS);
    chmodSync(join(dir, "zfs"), 0o755);
    writeFileSync(join(dir, "log"), "");
  });
  const runPolicy = (config: Record<string, unknown>, list: string[][], marks: string[][], extra: Record<string, string> = {}) => {
    const script = [...policyFiles(LINEAGE, ADDRESS, config).files.values()][0]!;
    writeFileSync(join(dir, "policy.sh"), script);
    const r = spawnSync("sh", [join(dir, "policy.sh")], { encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH}`, STUB: dir, LIST: list.map((l) => l.join("\t") + "\n").join(""), MARKS: marks.map((l) => l.join("\t") + "\n").join(""), ...extra } });
    return { ...r, log: readFileSync(join(dir, "log"), "utf8").trim().split("\n") };
  };
  const snap = (ds: string, name: string) => `${ds}@${name}`;

  it("takes each bucket's snapshot with this stack's marker, then prunes only its own, oldest first, never a held one", () => {
    const ds = "tank/srv/logs";
    const ours = ["bp-auto-1m-20261126T170000Z", "bp-auto-1m-20261126T170100Z", "bp-auto-1m-20261126T170200Z", "bp-auto-1m-20261126T170300Z"];
    const list = [
      [snap(ds, ours[0]!), "1"], // held: kept
      [snap(ds, "bp-auto-1m-20261126T165900Z"), "0"], // our name, no marker of ours (hand-made): kept
      [snap(ds, ours[1]!), "0"],
      [snap(ds, "hand-made"), "0"],
      [snap(ds, "bp-auto-1m-20261126T170130Z-x"), "0"], // not the pattern
      [snap(ds, ours[2]!), "0"],
      [snap(ds, ours[3]!), "0"],
    ];
    const marks = [...ours.map((o) => [snap(ds, o), LINEAGE]), [snap(ds, "bp-auto-1m-20261126T165900Z"), "other-lineage"], [snap(ds, "bp-auto-1m-20261126T170130Z-x"), LINEAGE]];
    const r = runPolicy(CONFIG, list, marks);
    expect(r.status, r.stderr).toBe(0);
    const zfsCalls = r.log.filter((l) => /^zfs (snapshot|destroy)/.test(l));
    expect(zfsCalls[0]).toMatch(new RegExp(`^zfs snapshot -o backplane:managed=${LINEAGE} tank/srv/logs@bp-auto-1m-\\d{8}T\\d{4}00Z$`));
    expect(zfsCalls[1]).toMatch(/^zfs snapshot -o backplane:managed=\S+ tank\/srv\/logs@bp-auto-hourly-\d{8}T\d{2}0000Z$/);
    // keep 2 of 4 ours: the oldest (held) stays, the second goes
    expect(zfsCalls.slice(2)).toEqual([`zfs destroy ${snap(ds, ours[1]!)}`]);
    expect(r.stdout).toContain(`kept ${snap(ds, ours[0]!)}: held (backplane-repl-abc )`);
    expect(r.stdout).toMatch(/pruned 1 snapshot\(s\) of tank\/srv\/logs in \d+ ms/);
  });

  it("a marker read in bulk that a property value forged is read again, alone, before each destroy: not ours, kept", () => {
    const ds = "tank/srv/logs";
    const n = (i: number) => snap(ds, `bp-auto-1m-20261126T17${i}000Z`);
    const list = [1, 2, 3].map((i) => [n(i), "0"]);
    const r = runPolicy(CONFIG, list, list.map(([x]) => [x!, LINEAGE]), { FORGED: n(1) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.log.filter((l) => l.startsWith("zfs destroy"))).toEqual([]);
    expect(r.stdout).toContain(`kept ${n(1)}: not marked by this stack`);
  });

  it("recursive: one atomic snapshot of the tree, pruned per dataset", () => {
    const [a, b] = ["tank/srv", "tank/srv/child"];
    const n = (i: number) => `bp-auto-hourly-20261126T1${i}0000Z`;
    const list = [a, b].flatMap((d) => [0, 1, 2].map((i) => [snap(d, n(i)), "0"]));
    const r = runPolicy({ dataset: a, recursive: true, hourly: 2 }, list, list.map(([s]) => [s!, LINEAGE]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.log.filter((l) => l.startsWith("zfs snapshot"))[0]).toMatch(/^zfs snapshot -r -o /);
    expect(r.log.filter((l) => l.startsWith("zfs destroy")).sort()).toEqual([`zfs destroy ${snap(a, n(0))}`, `zfs destroy ${snap(b, n(0))}`].sort());
  });
});

describe("the Dataset construct's snapshots", () => {
  const policies = (doc: Record<string, any>) => Object.values((doc.resource?.backplane_snapshot_policy ?? {}) as Record<string, any>);
  it("snapshots: true takes the profile's policy (none for transcode and ciWorkspace), with a dependency on the dataset", () => {
    const doc = withHost((h) => {
      for (const p of ["uploads", "transcode", "logs", "ciWorkspace", "postgres"] as const) h.dataset(p, { name: `tank/${p}`, profile: p, snapshots: true });
    });
    const byDataset = Object.fromEntries(policies(doc).map((p) => [p.dataset, p]));
    expect(Object.keys(byDataset).sort()).toEqual(["tank/logs", "tank/postgres", "tank/uploads"]);
    expect(byDataset["tank/uploads"]).toMatchObject({ hourly: 24, daily: 7 });
    expect(byDataset["tank/logs"]).toMatchObject({ frequently: 4, hourly: 48, daily: 30, monthly: 12 });
    expect(byDataset["tank/postgres"]).toMatchObject({ frequently: 4, hourly: 24, daily: 7 });
    expect(byDataset["tank/logs"].depends_on).toEqual([expect.stringMatching(/^backplane_dataset\./)]);
  });

  it("a schedule of one's own, with custom buckets as a list of { every, keep }", () => {
    const doc = withHost((h) => h.dataset("d", { name: "tank/d", snapshots: { every: [{ every: "5m", keep: 12 }], daily: 3, recursive: true } }));
    expect(policies(doc)[0]).toMatchObject({ dataset: "tank/d", every: { "5m": "12" }, daily: 3, recursive: true });
  });

  it("snapshots: true without a profile, and a bad period, are refused at synth with the construct path", () => {
    expect(() => withHost((h) => h.dataset("d", { name: "tank/d", snapshots: true }))).toThrow(/\[test\/prod\/d\] snapshots: true takes the profile's policy/);
    expect(() => withHost((h) => h.dataset("d", { name: "tank/d", snapshots: { every: [{ every: "45m", keep: 2 }] } }))).toThrow(/snapshots.*every\.45m.*cannot stay aligned/s);
  });
});

describe("schedules refused at plan", () => {
  const graph = (resources: Array<{ address: string; type: string; host: string; config: Record<string, unknown> }>) => ({ resources: new Map(resources.map((r) => [r.address, { ...r, mode: "resource" } as never])) });
  const pol = (address: string, config: Record<string, unknown>, host = "prod") => ({ address, type: "backplane_snapshot_policy", host, config: { hourly: 2, ...config } });
  it("two policies whose trees overlap with one prefix (one would prune the other's snapshots)", () => {
    const p = scheduleTopologyProblems(graph([pol("a", { dataset: "tank/a", recursive: true }), pol("b", { dataset: "tank/a/b" })]));
    expect(p.map((x) => `${x.address}: ${x.message}`)).toEqual([expect.stringMatching(/^b: tank\/a\/b overlaps a \(tank\/a and its descendants\) with the same snapshot_prefix 'bp-auto-'/)]);
    expect(scheduleTopologyProblems(graph([pol("a", { dataset: "tank/a" }), pol("b", { dataset: "tank/a" })]))).toHaveLength(1);
  });
  it("but not other prefixes, other hosts, or a sibling outside a non-recursive policy", () => {
    expect(scheduleTopologyProblems(graph([pol("a", { dataset: "tank/a", recursive: true }), pol("b", { dataset: "tank/a/b", snapshot_prefix: "x-" })]))).toEqual([]);
    expect(scheduleTopologyProblems(graph([pol("a", { dataset: "tank/a" }), pol("b", { dataset: "tank/a" }, "dr")]))).toEqual([]);
    expect(scheduleTopologyProblems(graph([pol("a", { dataset: "tank/a" }), pol("b", { dataset: "tank/a/b" })]))).toEqual([]);
  });
  it("a policy on or above a replication target", () => {
    const rep = { address: "r", type: "backplane_replication", host: "prod", config: { source_dataset: "tank/a", target_host: "dr", target_dataset: "backup/a" } };
    expect(scheduleTopologyProblems(graph([rep, pol("p", { dataset: "backup", recursive: true }, "dr")])).map((x) => x.address)).toEqual(["p"]);
    expect(scheduleTopologyProblems(graph([rep, pol("p", { dataset: "backup/a" }, "dr")])).map((x) => x.address)).toEqual(["p"]);
    expect(scheduleTopologyProblems(graph([rep, pol("p", { dataset: "tank/a" })]))).toEqual([]);
  });
  it("a prefix that makes the snapshots' names too long is refused at synth", () => {
    const r = configSchema(snapshotPolicy).safeParse({ dataset: `tank/${"d".repeat(230)}`, hourly: 1 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/would be invalid/);
  });
});
