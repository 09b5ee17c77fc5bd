/**
 * Probes: the health facts' parsers on output captured from lab hosts (test/lab/capture-probes.mts,
 * capture-refresh.ts --health, and zpool status of pools damaged on purpose), each check decided
 * from those captures, and the three renderings. Values past a threshold come from moving the
 * threshold or the clock, never from invented host output.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { poolStatus, datasetSpace, datasetSpaceLegacy, poolCapacity, ctimeUtc, parseScan } from "../../provider/zfs/health-facts.js";
import { parseZfsMounts, parseIoTrace, ioTraceCommand, ioTraceProgram, bucketWidth, type IoSample } from "../../provider/zfs/io-latency.js";
import { evaluateProbe, poolErrors, replicationViews, type ProbeContext, type ProbeInput, type ReplicationView } from "../../provider/resources/probe.js";
import { probeThresholds, probe as probeKind, type ProbeCheck } from "../../provider/schema/kinds/probe.js";
import { renderPrometheus, renderProbeTable, renderProbeJson, METRICS, probeName } from "../../provider/engine/probe-render.js";
import { probeExitCode, type ProbeReport, type ProbeResult } from "../../provider/model/probe.js";
import { ParseError } from "../../provider/model/fact.js";
import { serveMetrics, parseListen, listenWarning } from "../../provider/cli/probe-command.js";
import { connect } from "node:net";
import { validateBlock } from "../../provider/schema/validate.js";
import { makePlan } from "../../provider/engine/plan.js";
import { liveFrom, seedGraph } from "./helpers/seed.js";
import type { HostLive } from "../../provider/model/live.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const read = (p: string) => readFileSync(join(fixtures, p), "utf8");

describe("zpool status -p (C locale, UTC)", () => {
  const cases: { file: string; pools: Record<string, { state: string; checksum: number; scan: string | null; devices: string[] }> }[] = [
    { file: "zpool-status/zfs-2.3-two-pools-degraded.txt", pools: {
      sick: { state: "DEGRADED", checksum: 210, scan: "scrub finished Thu Nov 26 14:12:47 2026 0", devices: ["sick DEGRADED", "mirror-0 DEGRADED", "/var/tmp/d1 OFFLINE", "/var/tmp/d2 ONLINE"] },
      tank: { state: "ONLINE", checksum: 0, scan: "scrub finished Thu Nov 26 14:12:38 2026 0", devices: ["tank ONLINE", "vdb ONLINE"] },
    } },
    { file: "zpool-status/zfs-2.3-never-scrubbed.txt", pools: {
      fresh: { state: "ONLINE", checksum: 0, scan: null, devices: ["fresh ONLINE", "vdc ONLINE"] },
      sick: { state: "ONLINE", checksum: 0, scan: "resilver finished Thu Nov 26 14:12:55 2026 0", devices: ["sick ONLINE", "mirror-0 ONLINE", "/var/tmp/d1 ONLINE", "/var/tmp/d2 ONLINE"] },
      tank: { state: "ONLINE", checksum: 0, scan: "scrub finished Thu Nov 26 14:12:38 2026 0", devices: ["tank ONLINE", "vdb ONLINE"] },
    } },
    { file: "zpool-status/zfs-2.3-scrub-in-progress.txt", pools: {
      sick: { state: "ONLINE", checksum: 0, scan: "scrub in progress Thu Nov 26 14:12:57 2026 null", devices: ["sick ONLINE", "mirror-0 ONLINE", "/var/tmp/d1 ONLINE", "/var/tmp/d2 ONLINE"] },
    } },
    { file: "probe-zpool-status/vm-seed.txt", pools: { tank: { state: "ONLINE", checksum: 0, scan: null, devices: ["tank ONLINE", "virtio-bp-disk0 ONLINE"] } } },
    // zfs-fuse (ns tier): "scrub:" instead of "scan:", the old wording, no -p
    { file: "zpool-status/zfs-fuse-scrub-completed.txt", pools: { nsp: { state: "ONLINE", checksum: 0, scan: "scrub finished Thu Nov 26 14:40:48 2026 0", devices: ["nsp ONLINE", "/var/tmp/bp-x/prod/disk0.img ONLINE"] } } },
    { file: "zpool-status/zfs-fuse-none-requested.txt", pools: { nsq: { state: "ONLINE", checksum: 0, scan: "none none - null", devices: ["nsq ONLINE", "/var/tmp/bp-x/prod/disk1.img ONLINE"] } } },
  ];
  it.each(cases)("$file: every pool with its state, vdev table and last scan", ({ file, pools }) => {
    const got = poolStatus.parse(read(file));
    expect([...got.keys()].sort()).toEqual(Object.keys(pools).sort());
    for (const [name, want] of Object.entries(pools)) {
      const p = got.get(name)!;
      expect(p.state).toBe(want.state);
      expect(p.vdevs.map((v) => `${v.name} ${v.state}`)).toEqual(want.devices);
      expect(p.vdevs.reduce((n, v) => n + v.checksum, 0)).toBe(want.checksum);
      const scan = p.scan && `${p.scan.kind} ${p.scan.state} ${p.scan.time === null ? "-" : new Date(p.scan.time * 1000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, (_, d, day, mon, y, t) => `${d} ${mon} ${day} ${t} ${y}`)} ${p.scan.errors}`;
      expect(scan).toBe(want.scan);
    }
  });

  it("a vdev's depth follows its indentation (pool 0, top-level vdev 1, mirror member 2)", () => {
    const sick = poolStatus.parse(read("zpool-status/zfs-2.3-two-pools-degraded.txt")).get("sick")!;
    expect(sick.vdevs.map((v) => v.depth)).toEqual([0, 1, 2, 2]);
  });

  it("a line of a pool's block that fits no known shape makes that pool unreadable, not the others; text before any pool fails the read", () => {
    const good = read("zpool-status/zfs-2.3-two-pools-degraded.txt");
    const bad = poolStatus.parse(good.replace("\t    /var/tmp/d2  ONLINE       0     0   210", "\t    /var/tmp/d2  ONLINE  lots"));
    expect(bad.get("sick")!.problem).toMatch(/^zpool status -p: line \d+: vdev row not understood: "\\t    \/var\/tmp\/d2  ONLINE  lots"$/);
    expect(bad.get("tank")!.problem).toBeNull();
    expect(poolStatus.parse(good.replace(" state: DEGRADED", "weird: thing")).get("sick")!.problem).toMatch(/line not understood|no state line/);
    expect(() => poolStatus.parse(`surprise\n${good}`)).toThrow(/before any pool/);
  });

  it("reads the shapes OpenZFS 2.3 prints for log, special and spare devices (class headings end in a tab; spares have no counters)", () => {
    // rows as zpool_main.c prints them ("\t%s\t\n" for a class, "%-8s" for a spare's state), around a captured pool
    const good = read("probe-zpool-status/vm-seed.txt");
    const withClasses = good.replace("\t  virtio-bp-disk0  ONLINE       0     0     0\n", "\t  virtio-bp-disk0  ONLINE       0     0     0\n\tlogs\t\n\t  vdd              ONLINE       0     0     0\n\tspares\n\t  vdf              AVAIL   \n\t  vdg              INUSE     currently in use\n");
    const p = poolStatus.parse(withClasses).get("tank")!;
    expect(p.problem).toBeNull();
    expect(p.vdevs.map((v) => `${v.name} ${v.state}${v.spare ? " spare" : ""}${v.note ? ` (${v.note})` : ""}`)).toEqual(["tank ONLINE", "virtio-bp-disk0 ONLINE", "vdd ONLINE", "vdf AVAIL spare", "vdg INUSE spare (currently in use)"]);
    // outside the spares a row without counters is not understood
    expect(poolStatus.parse(good.replace("ONLINE       0     0     0\n\n", "ONLINE\n\n")).get("tank")!.problem).toMatch(/vdev row not understood/);
  });

  it("keeps a scan line it does not know as text, and reads 0.8's and a sequential rebuild's wording", () => {
    expect(parseScan("scrubbed 3 error blocks in 00:00:01 on Thu Nov 26 14:12:38 2026")).toMatchObject({ kind: "other", text: "scrubbed 3 error blocks in 00:00:01 on Thu Nov 26 14:12:38 2026" });
    expect(parseScan("scrub repaired 0B in 0 days 00:00:01 with 0 errors on Thu Nov 26 14:12:38 2026")).toMatchObject({ kind: "scrub", state: "finished", errors: 0 });
    expect(parseScan("resilvered (mirror-0) 1.20G in 00:00:09 with 0 errors on Thu Nov 26 14:12:38 2026")).toMatchObject({ kind: "resilver", state: "finished" });
    expect(parseScan("scrub repaired 0B in 00:00:01 with 0 errors on Thu Nov 26 14:12:47 CET 2026")).toMatchObject({ kind: "other" });
  });

  it("reads no pools as none", () => {
    expect(poolStatus.parse("no pools available\n").size).toBe(0);
  });

  it("ctime in UTC: the exact instant, or null for anything else", () => {
    expect(ctimeUtc("Thu Nov 26 14:12:38 2026")).toBe(Date.UTC(2026, 10, 26, 14, 12, 38) / 1000);
    expect(ctimeUtc("Mon Feb  2 03:04:05 2026")).toBe(Date.UTC(2026, 1, 2, 3, 4, 5) / 1000);
    expect(ctimeUtc("Thu Foo 26 14:12:38 2026")).toBeNull();
    expect(ctimeUtc("2026-11-26 14:12:38")).toBeNull();
  });
});

describe("dataset space (zfs list -Hp)", () => {
  it("reads used, available, quota, refquota and creation per dataset", () => {
    const s = datasetSpace.parse(read("probe-space/vm-seed.txt"));
    expect(s.get("tank/srv/uploads")).toEqual({ used: 24576n, available: 872036864n, quota: 536870912000n, refquota: 0n, creation: 1795704563 });
    expect(s.size).toBe(7);
  });
  it("refuses a value that is not a byte count and a dataset listed twice", () => {
    const good = read("probe-space/vm-seed.txt");
    expect(() => datasetSpace.parse(good.replace("536870912000", "500G"))).toThrow(/not a number of bytes/);
    const first = good.split("\n")[0]!;
    expect(() => datasetSpace.parse(`${good}${first}\n`)).toThrow(/listed twice/);
    expect(() => datasetSpace.parse(good.replace(/\t0\t1795704563/, "\t1795704563"))).toThrow(/expected 6 tab-separated columns/);
  });
  it("reads a volume's quota and refquota ('-': they are filesystem properties) as none", () => {
    const line = read("probe-space/vm-seed.txt").split("\n")[0]!.replace(/^tank\t/, "tank/vol\t").replace(/\t0\t0\t/, "\t-\t-\t");
    expect(datasetSpace.parse(`${line}\n`).get("tank/vol")).toMatchObject({ quota: 0n, refquota: 0n });
  });
});

describe("an old ZFS's space and capacity (zfs-fuse: no zfs list -p, no byte counts in zpool list)", () => {
  it("reads the five numbers from zfs get -Hp rows, snapshots left out", () => {
    const s = datasetSpaceLegacy.parse(read("probe-space/ns-legacy.txt"));
    expect([...s.keys()]).toEqual(["nsp", "nsp/data", "nsq"]);
    expect(s.get("nsp/data")).toEqual({ used: 114688n, available: 104742912n, quota: 104857600n, refquota: 0n, creation: 1795704048 });
  });
  it("refuses a dataset missing a property, a value that is not a number, a row listed twice", () => {
    const good = read("probe-space/ns-legacy.txt");
    expect(() => datasetSpaceLegacy.parse(good.replace("nsq\tquota\t0\n", ""))).toThrow(/nsq lacks quota/);
    expect(() => datasetSpaceLegacy.parse(good.replace("nsq\tquota\t0", "nsq\tquota\tnone"))).toThrow(/not a number/);
    expect(() => datasetSpaceLegacy.parse(`${good}nsq\tused\t1\n`)).toThrow(/listed twice/);
  });
  it("reads capacity in whole percent on both kinds of ZFS", () => {
    expect(poolCapacity.parse(read("probe-space/ns-capacity.txt"))).toEqual(new Map([["nsp", 0], ["nsq", 0]]));
    expect(poolCapacity.parse(read("probe-space/vm-capacity.txt"))).toEqual(new Map([["tank", 1]]));
    expect(() => poolCapacity.parse("tank\t-\n")).toThrow(/not a percent/);
  });
});

describe("io_latency: bpftrace's histograms named by the mount table", () => {
  const mounts = parseZfsMounts(read("probe-mountinfo/vm-seed.txt"));
  it("maps each ZFS mount's device number (major << 20 | minor) to its dataset, and only ZFS mounts", () => {
    expect(mounts.get(47)).toBe("tank/srv/postgres");
    expect(mounts.get(49)).toBe("tank/srv/uploads");
    expect([...mounts.values()].every((d) => d.startsWith("tank"))).toBe(true);
    expect(mounts.size).toBe(7);
  });
  it("decodes mountinfo's octal escapes in a dataset name", () => {
    const line = read("probe-mountinfo/vm-seed.txt").split("\n").find((l) => l.includes(" - zfs tank/srv/postgres "))!;
    expect(parseZfsMounts(line.replace(" - zfs tank/srv/postgres ", " - zfs tank/srv/my\\040db ")).get(47)).toBe("tank/srv/my db");
  });
  it("turns the latency counts into ops and the buckets (two significant digits) holding p50 and p99", () => {
    const s = parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt"), mounts, 12) as Extract<IoSample, { datasets: unknown }>;
    expect(s.datasets).toEqual([
      { dataset: "tank/srv/postgres", read: null, write: { ops: 400, p50LowUs: 900, p50Us: 910, p99LowUs: 1700, p99Us: 1800, inflight: 0, oldestInflightUs: 0 } },
      { dataset: "tank/srv/uploads", read: { ops: 9, p50LowUs: 2800, p50Us: 2900, p99LowUs: 7800, p99Us: 7900, inflight: 0, oldestInflightUs: 0 }, write: null },
    ]);
    expect(s.mounted).toContain("tank/srv/ci-workspace");
    expect([5, 99, 100, 990, 1000, 99000, 100000].map(bucketWidth)).toEqual([1, 1, 10, 10, 100, 1000, 10000]);
  });
  it("counts calls still running when the sample ended, with the age of the oldest (a hung disk is not 'no I/O')", () => {
    // the END block's maps as bpftrace prints them when calls are in flight (tid → start ns, dev, op)
    const text = read("probe-io-trace/vm-dsync-postgres.txt").replace("\n\n\n", '\n{"type": "map", "data": {"@start": {"901": 2506176463809, "902": 2506676000000}}}\n{"type": "map", "data": {"@dev": {"901": 47, "902": 47}}}\n{"type": "map", "data": {"@op": {"901": 1, "902": 1}}}\n');
    const s = parseIoTrace(text, mounts, 12) as Extract<IoSample, { datasets: unknown }>;
    expect(s.datasets[0]!.write).toMatchObject({ ops: 400, inflight: 2, oldestInflightUs: 500_000 });
    const r = evaluateProbe(input("io_latency", "tank/srv/postgres", { max_p99_ms: 100 }), ctx(prod(), { io: s }));
    expect(r[0]!.status).toBe("failing");
    expect(r[0]!.reasons).toEqual(["2 writes still running at the end of the sample, the oldest for 500.0 ms > 100 ms"]);
  });
  it("leaves out a device no longer mounted (never guesses its name) and refuses output that is not bpftrace's", () => {
    const only47 = new Map([[47, "tank/srv/postgres"]]);
    const s = parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt"), only47, 12) as Extract<IoSample, { datasets: unknown }>;
    expect(s.datasets.map((d) => d.dataset)).toEqual(["tank/srv/postgres"]);
    expect(() => parseIoTrace("Attaching 6 probes...\n", mounts, 12)).toThrow(ParseError);
    expect(() => parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt").replace('"@lat"', '"@other"'), mounts, 12)).toThrow(/unexpected map/);
    expect(() => parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt").replace('"47,1,680"', '"47,7,680"'), mounts, 12)).toThrow(/not dev,op,µs/);
  });
  it("passes the program to bpftrace as one argv word, and refuses a sample length outside 1..60 s", () => {
    const words = ioTraceCommand(7).map((w) => w.text);
    expect(words.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(words[2]).toContain('exec bpftrace -f json -e "$1"');
    expect(words[2]).not.toContain("interval");
    expect(words[4]).toBe(ioTraceProgram(7));
    expect(words[4]).toContain("interval:s:7 { exit(); }");
    for (const bad of [0, 61, 1.5, NaN]) expect(() => ioTraceProgram(bad)).toThrow(/1\.\.60/);
  });
});

// ---- deciding ----------------------------------------------------------------------------

const prod = () => liveFrom("zfs-2.3-prod-seed-dr-health", "prod", { replication: true, health: true });
const dr = () => liveFrom("zfs-2.3-dr-seed-dr-health", "dr", { replication: true, health: true });

function input(check: ProbeCheck, target: string, config: Record<string, unknown> = {}, host = "prod"): ProbeInput {
  return { address: `backplane_probe.${check}`, path: `s/${check}/resource`, host, check, target, t: probeThresholds({ check, target, ...config }) };
}
function ctx(live: HostLive | null, extra: Partial<ProbeContext> = {}): ProbeContext {
  return { live, unread: live ? null : "ssh: connect refused", replications: [], peerNames: new Map(), ...extra };
}
const one = (rs: ProbeResult[]) => {
  expect(rs).toHaveLength(1);
  return rs[0]!;
};

describe("pool_health", () => {
  it("passes a healthy pool, with its state, errors, capacity and why scrub age is not due", () => {
    const r = one(evaluateProbe(input("pool_health", "tank", { max_scrub_age: "35d" }), ctx(prod())));
    expect(r.status).toBe("ok");
    expect(r.value).toMatch(/^ONLINE, 0 errors, \d+\.\d %, never scrubbed \(created \S+ ago\)$/);
  });
  it("fails a degraded pool with checksum errors, naming the device and its counters", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-two-pools-degraded.txt")) };
    const r = one(evaluateProbe(input("pool_health", "sick"), ctx(live)));
    expect(r.status).toBe("failing");
    expect(r.reasons).toEqual(expect.arrayContaining(["state DEGRADED", "/var/tmp/d1 is OFFLINE", "210 I/O errors (/var/tmp/d2: 210 checksum)"]));
    expect(r.samples.find((s) => s.metric === "backplane_pool_errors" && s.labels.type === "checksum")!.value).toBe(210);
    // the errors a threshold allows
    expect(one(evaluateProbe(input("pool_health", "sick", { max_errors: 500 }), ctx(live))).reasons).not.toContain("210 I/O errors (/var/tmp/d2: 210 checksum)");
  });
  it("fails on permanent data errors, which leave the pool ONLINE and its counters at 0 after zpool clear (ZFS-8000-8A)", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("probe-zpool-status/vm-seed.txt").replace("errors: No known data errors", "errors: 3 data errors, use '-v' for a list")) };
    const r = one(evaluateProbe(input("pool_health", "tank", { max_errors: 100 }), ctx(live)));
    expect([r.status, r.reasons]).toEqual(["failing", ["data errors: 3 data errors, use '-v' for a list"]]);
    expect(r.samples).toContainEqual({ metric: "backplane_pool_data_errors", labels: { host: "prod", pool: "tank" }, value: 1 });
  });
  it("counts errors once: the devices' own, or an interior vdev's when it counted more", () => {
    const sick = poolStatus.parse(read("zpool-status/zfs-2.3-two-pools-degraded.txt")).get("sick")!;
    expect(poolErrors(sick.vdevs)).toMatchObject({ read: 0, write: 0, checksum: 210, bad: ["/var/tmp/d2: 210 checksum"] });
    // the same errors also shown on the mirror and the pool rows are not counted again
    const echoed = sick.vdevs.map((v) => (v.depth < 2 ? { ...v, checksum: 210 } : v));
    expect(poolErrors(echoed).checksum).toBe(210);
    // a raidz's own reconstruction errors, more than its members saw, are counted
    const interior = sick.vdevs.map((v) => (v.name === "mirror-0" ? { ...v, checksum: 300 } : v));
    expect(poolErrors(interior)).toMatchObject({ checksum: 300, bad: ["/var/tmp/d2: 210 checksum", "mirror-0: 300 checksum"] });
  });
  it("a pool whose block was not understood is an error naming the line", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("probe-zpool-status/vm-seed.txt").replace("\t  virtio-bp-disk0  ONLINE       0     0     0", "\t  virtio-bp-disk0  ONLINE  new-words")) };
    const r = one(evaluateProbe(input("pool_health", "tank"), ctx(live)));
    expect(r.status).toBe("error");
    expect(r.reasons[0]).toMatch(/^its zpool status was not understood: zpool status -p: line 7: vdev row not understood/);
  });
  it("fails past the capacity threshold", () => {
    const r = one(evaluateProbe(input("pool_health", "tank", { max_capacity_percent: 0 }), ctx(prod())));
    expect(r.status).toBe("failing");
    expect(r.reasons.join()).toMatch(/^capacity \d+\.\d % > 0 %$/);
  });
  it("scrub age: a finished scrub older than allowed fails; a running scrub counts as current; a pool never scrubbed fails once it is older than allowed", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-two-pools-degraded.txt")) };
    const scrubbedAt = Date.UTC(2026, 10, 26, 14, 12, 38) / 1000;
    live.health!.now = scrubbedAt + 3 * 86400;
    expect(one(evaluateProbe(input("pool_health", "tank", { max_scrub_age: "2d" }), ctx(live))).reasons).toEqual(["last scrub 3d ago > 2d"]);
    expect(one(evaluateProbe(input("pool_health", "tank", { max_scrub_age: "4d" }), ctx(live))).reasons).toEqual([]);
    live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-scrub-in-progress.txt")) };
    // (this capture has no zpool list of sick: its capacity is unknown, which is an error of its own)
    live.health!.now = Date.UTC(2026, 10, 26, 14, 12, 57) / 1000 + 60;
    expect(one(evaluateProbe(input("pool_health", "sick", { max_scrub_age: "1h" }), ctx(live))).reasons).toEqual(["the capacity of sick could not be read (zpool list gave no byte counts)"]);
    // a scrub running for longer than allowed: the last completed one is older still
    live.health!.now += 7200;
    expect(one(evaluateProbe(input("pool_health", "sick", { max_scrub_age: "1h" }), ctx(live))).reasons).toEqual(["a scrub has been running for 2h1m: the last completed one is older than 1h"]);
    const young = prod();
    expect(one(evaluateProbe(input("pool_health", "tank", { max_scrub_age: "1s" }), ctx(young))).reasons.join()).toMatch(/^never scrubbed \(pool created \S+ ago\)$/);
  });
  it("a resilver hides when the last scrub ran: with a scrub age to check, that fails and says so", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-never-scrubbed.txt")) };
    expect(one(evaluateProbe(input("pool_health", "sick", { max_scrub_age: "30d" }), ctx(live))).reasons.join()).toMatch(/last scan was a resilver/);
    expect(one(evaluateProbe(input("pool_health", "sick"), ctx(live))).reasons.filter((r) => /scrub|resilver/.test(r))).toEqual([]);
  });
  it("takes an old ZFS's whole-percent capacity where the pool list has no byte counts, and is an error when neither is there", () => {
    const live = prod();
    live.pools.get("tank")!.row.size = "1.2G";
    live.health!.capacity = { value: poolCapacity.parse(read("probe-space/vm-capacity.txt")) };
    expect(one(evaluateProbe(input("pool_health", "tank"), ctx(live))).value).toMatch(/^ONLINE, 0 errors, 1\.0 %/);
    expect(one(evaluateProbe(input("pool_health", "tank", { max_capacity_percent: 0.5 }), ctx(live))).status).toBe("failing");
    live.health!.capacity = { unreadable: "exit 1" };
    expect(one(evaluateProbe(input("pool_health", "tank"), ctx(live))).status).toBe("error");
  });
  it("a pool that is not there fails; a host not read or a status not readable is an error, never ok", () => {
    expect(one(evaluateProbe(input("pool_health", "nope"), ctx(prod()))).reasons).toEqual(["pool nope does not exist on prod"]);
    expect(one(evaluateProbe(input("pool_health", "tank"), ctx(null))).status).toBe("error");
    const live = prod();
    live.health!.pools = { unreadable: "zpool status: exit 1" };
    expect(one(evaluateProbe(input("pool_health", "tank"), ctx(live))).status).toBe("error");
  });
});

describe("dataset_space", () => {
  it("uses the tighter of the quota and used + available (a 500G quota on a pool of 830M counts against the pool)", () => {
    const ok = one(evaluateProbe(input("dataset_space", "tank/srv/uploads", { max_used_percent: 90 }), ctx(prod())));
    expect(ok.status).toBe("ok");
    expect(ok.samples.find((s) => s.metric === "backplane_dataset_quota_bytes")!.value).toBe(500 * 2 ** 30);
    const r = one(evaluateProbe(input("dataset_space", "tank/srv/uploads", { max_used_percent: 0 }), ctx(prod())));
    expect(r.reasons.join()).toMatch(/^used 0\.0 % of \S+ \(used \+ available, less than its quota 500\.0G\) > 0 %$/);
    // the pool nearly full: the quota is far away, the dataset is not
    const full = prod();
    const h = full.health!.space as { value: Map<string, { used: bigint; available: bigint }> };
    Object.assign(h.value.get("tank/srv/uploads")!, { used: 800n * 2n ** 20n, available: 10n * 2n ** 20n });
    expect(one(evaluateProbe(input("dataset_space", "tank/srv/uploads", { max_used_percent: 90 }), ctx(full))).reasons.join()).toMatch(/^used 98\.8 % of 810\.0M/);
    const noQuota = one(evaluateProbe(input("dataset_space", "tank/srv/postgres", { max_used_percent: 0 }), ctx(prod())));
    expect(noQuota.reasons.join()).toMatch(/\(used \+ available; no quota\) > 0 %/);
  });
  it("fails when less than min_available is left; a dataset that is not there fails", () => {
    expect(one(evaluateProbe(input("dataset_space", "tank/srv/uploads", { min_available: "1T" }), ctx(prod()))).reasons.join()).toMatch(/^available \S+ < 1\.00T$/);
    expect(one(evaluateProbe(input("dataset_space", "tank/srv/uploads", { min_available: "1M" }), ctx(prod()))).status).toBe("ok");
    expect(one(evaluateProbe(input("dataset_space", "tank/nope", { min_available: "1M" }), ctx(prod()))).status).toBe("failing");
  });
});

describe("snapshot_freshness", () => {
  it("the newest matching snapshot against max_age, by the host's clock", () => {
    const live = dr();
    const ok = one(evaluateProbe(input("snapshot_freshness", "backup/prod/uploads", { snapshot_prefix: "backplane-repl-", max_age: "1h" }, "dr"), ctx(live)));
    expect(ok.status).toBe("ok");
    live.health!.now += 7200;
    const late = one(evaluateProbe(input("snapshot_freshness", "backup/prod/uploads", { snapshot_prefix: "backplane-repl-", max_age: "1h" }, "dr"), ctx(live)));
    expect(late.status).toBe("failing");
    expect(late.reasons.join()).toMatch(/^newest snapshot backup\/prod\/uploads@backplane-repl-\S+ is 2h\d*m? old > 1h$/);
  });
  it("no snapshot with the prefix fails, saying so", () => {
    const r = one(evaluateProbe(input("snapshot_freshness", "backup/prod/uploads", { snapshot_prefix: "hourly-", max_age: "1h" }, "dr"), ctx(dr())));
    expect(r.reasons).toEqual(["backup/prod/uploads has no snapshot named hourly-*"]);
  });
});

describe("wireguard_handshake", () => {
  const names = new Map([[[...dr().wg.interfaces.get("wg0")!.peers.values()][0]!.publicKey, "?"]]);
  it("one result per peer, named by the host and interface at the other end", () => {
    const peerNames = new Map([...dr().wg.interfaces].map(([n, i]) => [i.publicKey, `dr/${n}`]));
    const r = one(evaluateProbe(input("wireguard_handshake", "wg0"), ctx(prod(), { peerNames })));
    expect(r.subject).toBe("wg0 → dr/wg0");
    expect(r.status).toBe("ok");
    expect(names.size).toBe(1);
  });
  it("fails a handshake older than allowed, a peer that never handshook and an interface that is down", () => {
    const live = prod();
    live.health!.now += 600;
    expect(one(evaluateProbe(input("wireguard_handshake", "wg0", { max_handshake_age: "5m" }), ctx(live))).reasons.join()).toMatch(/^latest handshake with \S+ 1\dm\d*s? ago > 5m$/);
    const never = prod();
    for (const p of never.wg.interfaces.get("wg0")!.peers.values()) p.latestHandshake = 0;
    const r = one(evaluateProbe(input("wireguard_handshake", "wg0"), ctx(never)));
    expect([r.status, r.value]).toEqual(["failing", "never"]);
    expect(one(evaluateProbe(input("wireguard_handshake", "wg9"), ctx(prod()))).reasons).toEqual(["WireGuard interface wg9 is not up on prod"]);
  });
});

describe("replication_lag", () => {
  // the lineage of the stack the captured hosts were applied with
  const LINEAGE = "042158e7-de79-4bb6-a50b-0b5f25f4e909";
  function views(source: HostLive, target: HostLive, now?: number): ReplicationView[] {
    const graph = seedGraph("seed-dr");
    const plan = makePlan({ stack: "seed-dr", graph, state: null, live: new Map([["prod", source], ["dr", target]]), newLineage: LINEAGE, now });
    return replicationViews([...graph.resources.values()], plan, new Map());
  }
  it("in sync is no lag, however old the last snapshot", () => {
    // (the capture was taken after a file was written to and removed from uploads: 14K written)
    const source = prod();
    expect(source.replication!.datasets.get("tank/srv/uploads")!.written).toBe(14336);
    source.replication!.datasets.get("tank/srv/uploads")!.written = 0;
    const r = one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "1s" }), ctx(source, { replications: views(source, dr(), source.health!.now + 86400) })));
    expect([r.status, r.value]).toEqual(["ok", "in sync"]);
    expect(r.samples.find((s) => s.metric === "backplane_replication_lag_seconds")!.value).toBe(0);
  });
  it("written on the source since the last common snapshot: behind since that snapshot, failing past max_lag", () => {
    const source = prod();
    source.replication!.datasets.get("tank/srv/uploads")!.written = 2 * 2 ** 20;
    const v = views(source, dr(), source.health!.now + 3600);
    const r = one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "30m" }), ctx(source, { replications: v })));
    expect(r.status).toBe("failing");
    expect(r.reasons.join()).toMatch(/^the target has been behind for 1h\S* \(2\.00M written since\) > 30m$/);
    expect(one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "2h" }), ctx(source, { replications: v }))).status).toBe("ok");
  });
  it("a target never replicated fails; one the plan refuses is an error with the plan's reason; a dataset no replication sends is an error", () => {
    const none = dr();
    for (const m of [none.datasets, none.snapshots, none.replication!.snapshots, none.replication!.datasets]) for (const k of [...m.keys()]) if (k.startsWith("backup/prod/uploads")) m.delete(k);
    const r = one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "1h" }), ctx(prod(), { replications: views(prod(), none) })));
    expect([r.status, r.value]).toEqual(["failing", "never replicated"]);
    const emptied = dr();
    emptied.replication!.snapshots.clear();
    emptied.snapshots.clear();
    const refused = one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "1h" }), ctx(prod(), { replications: views(prod(), emptied) })));
    expect(refused.status).toBe("error");
    expect(refused.reasons.join()).toMatch(/^backup\/prod\/uploads on dr exists but shares no snapshot with tank\/srv\/uploads on prod/);
    expect(one(evaluateProbe(input("replication_lag", "tank/srv/logs", { max_lag: "1h" }), ctx(prod(), { replications: views(prod(), dr()) }))).reasons).toEqual(["no backplane_replication of this stack sends tank/srv/logs from prod"]);
  });
  it("counts lag by the source host's clock, as every age a probe reports", () => {
    const source = prod();
    source.replication!.datasets.get("tank/srv/uploads")!.written = 1;
    const lagAt = (planNow: number) => one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "1d" }), ctx(source, { replications: views(source, dr(), planNow), planNow })))
      .samples.find((x) => x.metric === "backplane_replication_lag_seconds")!.value;
    // the operator's clock right, or 10 minutes ahead of the host's: the same lag, the host's
    const common = Math.max(...[...dr().replication!.snapshots].filter(([n]) => n.startsWith("backup/prod/uploads@")).map(([, x]) => x.creation));
    expect(lagAt(source.health!.now)).toBe(source.health!.now - common);
    expect(lagAt(source.health!.now + 600)).toBe(source.health!.now - common);
  });
  it("a target host not read is an error naming it", () => {
    const graph = seedGraph("seed-dr");
    const plan = makePlan({ stack: "seed-dr", graph, state: null, live: new Map([["prod", prod()]]), unread: [{ host: "dr", message: "dr: cannot connect" }], newLineage: LINEAGE });
    const v = replicationViews([...graph.resources.values()], plan, new Map([["dr", "dr: cannot connect"]]));
    expect(one(evaluateProbe(input("replication_lag", "tank/srv/uploads", { max_lag: "1h" }), ctx(prod(), { replications: v }))).reasons).toEqual(["the target host dr could not be read: dr: cannot connect"]);
  });
});

describe("io_latency", () => {
  const sample = parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt"), parseZfsMounts(read("probe-mountinfo/vm-seed.txt")), 12);
  // the captured refresh and the captured sample come from the same seed datasets
  it("slowest dataset first, with ops and p50/p99 as bucket upper bounds", () => {
    const rs = evaluateProbe(input("io_latency", "tank/srv", { max_p99_ms: 100 }), ctx(prod(), { io: sample }));
    expect(rs.map((r) => [r.subject, r.status])).toEqual([["tank/srv/uploads", "ok"], ["tank/srv/postgres", "ok"]]);
    expect(rs[1]!.value).toBe("write 400 ops p50 ≤ 0.91 ms p99 ≤ 1.80 ms");
    expect(rs[1]!.samples).toContainEqual({ metric: "backplane_io_latency_p99_seconds", labels: { host: "prod", dataset: "tank/srv/postgres", op: "write" }, value: 0.0018 });
  });
  it("fails when p99's bucket upper bound is past the threshold; top limits the rows; a target is it and what is below it", () => {
    const strict = evaluateProbe(input("io_latency", "tank/srv/postgres", { max_p99_ms: 0.5 }), ctx(prod(), { io: sample }));
    expect(strict.map((r) => r.status)).toEqual(["failing"]);
    expect(strict[0]!.reasons).toEqual(["write p99 ≤ 1.80 ms (≥ 1.70 ms) > 0.5 ms (400 ops in 12 s)"]);
    expect(evaluateProbe(input("io_latency", "tank/srv/postgres", { max_p99_ms: 1.8 }), ctx(prod(), { io: sample }))[0]!.status).toBe("ok");
    expect(evaluateProbe(input("io_latency", "tank", { top: 1 }), ctx(prod(), { io: sample })).map((r) => r.subject)).toEqual(["tank/srv/uploads"]);
    expect(evaluateProbe(input("io_latency", "tank/srv/logs"), ctx(prod(), { io: sample }))[0]!.value).toBe("no I/O in 12 s");
  });
  it("never says 'no I/O' of what could not be seen: a target that does not exist fails, one with nothing mounted is unsupported", () => {
    expect(one(evaluateProbe(input("io_latency", "tank/typo"), ctx(prod(), { io: sample })))).toMatchObject({ status: "failing", reasons: ["tank/typo does not exist on prod"] });
    expect(one(evaluateProbe(input("io_latency", "nosuchpool"), ctx(prod(), { io: sample }))).status).toBe("failing");
    const unmounted = { ...sample, mounted: ["tank"] } as IoSample;
    const u = one(evaluateProbe(input("io_latency", "tank/srv/logs"), ctx(prod(), { io: unmounted })));
    expect(u.status).toBe("unsupported");
    expect(u.reasons[0]).toMatch(/^no file system at or below tank\/srv\/logs is mounted on prod/);
  });
  it("a host that cannot trace is unsupported with its reason; a failed sample is an error — never a number", () => {
    const u = one(evaluateProbe(input("io_latency", "tank"), ctx(prod(), { io: { unsupported: "bpftrace is not installed (Debian: apt-get install bpftrace)" } })));
    expect([u.status, u.reasons, u.samples]).toEqual(["unsupported", ["bpftrace is not installed (Debian: apt-get install bpftrace)"], []]);
    expect(one(evaluateProbe(input("io_latency", "tank"), ctx(prod(), { io: { failed: "cut short" } }))).status).toBe("error");
  });
});

// ---- rendering -----------------------------------------------------------------------------

function report(): ProbeReport {
  const live = prod();
  live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-two-pools-degraded.txt")) };
  const results = [
    ...evaluateProbe(input("pool_health", "sick"), ctx(live)),
    ...evaluateProbe(input("pool_health", "tank"), ctx(live)),
    ...evaluateProbe(input("pool_health", "tank", { max_capacity_percent: 99 }), ctx(live)),
    ...evaluateProbe(input("io_latency", "tank"), ctx(live, { io: { unsupported: 'say "no"\\\nplease' } })),
  ];
  return { stack: "s", at: "2026-11-26T14:00:00.000Z", elapsedMs: 1234, results };
}

describe("rendering", () => {
  it("Prometheus text: HELP and TYPE once per family, one line per label set, labels escaped", () => {
    const text = renderPrometheus(report());
    const families = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]);
    expect(new Set(families).size).toBe(families.length);
    expect(text.match(/^# HELP backplane_pool_healthy /gm)).toHaveLength(1);
    // two probes of one pool export its series once
    expect(text.match(/^backplane_pool_healthy\{host="prod",pool="tank"\} 1$/gm)).toHaveLength(1);
    expect(text).toContain('backplane_probe_status{check="pool_health",host="prod",probe="pool_health",status="failing",subject="sick"} 1');
    expect(text).toContain('backplane_pool_errors{host="prod",pool="sick",type="checksum"} 210');
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) expect(line).toMatch(/^backplane_[a-z_]+(\{([a-z_]+="([^"\\\n]|\\["\\n])*",?)*\})? -?[0-9.e+-]+$/);
  });
  it("every metric is documented in docs/probes.md", () => {
    const doc = readFileSync(join(fixtures, "..", "..", "docs", "probes.md"), "utf8");
    for (const m of Object.keys(METRICS)) expect(doc, m).toContain(`\`${m}\``);
  });
  it("the table lists each result with why it fails, and a summary line", () => {
    const t = renderProbeTable(report());
    expect(t).toMatch(/^pool_health\s+prod\s+sick\s+failing\s+DEGRADED, 210 errors/m);
    expect(t).toContain("    failing: state DEGRADED");
    expect(t).toContain("Probes: 2 ok, 1 failing, 1 unsupported, 0 error (4 results in 1.2 s).");
  });
  it("JSON carries status, reasons and metrics per result, and the exit code", () => {
    const j = JSON.parse(renderProbeJson(report()));
    expect(j.exit_code).toBe(2);
    expect(j.results[0]).toMatchObject({ probe: "pool_health", check: "pool_health", host: "prod", subject: "sick", status: "failing" });
    expect(j.results[3]).toMatchObject({ status: "unsupported", reasons: ['say "no"\\\nplease'], metrics: [] });
  });
  it("exit code: 1 on any error, else 2 on any failing, else 0 (unsupported is not failing)", () => {
    const r = (statuses: string[]) => probeExitCode({ stack: "s", at: "", elapsedMs: 0, results: statuses.map((status) => ({ status }) as ProbeResult) });
    expect([r([]), r(["ok", "unsupported"]), r(["ok", "failing"]), r(["failing", "error"])]).toEqual([0, 0, 2, 1]);
  });
  it("names a probe by its construct path without the stack and the L1 leaf", () => {
    expect(probeName({ path: "seed/probe-tank/resource", address: "a" })).toBe("probe-tank");
    expect(probeName({ path: "seed", address: "backplane_probe.x" })).toBe("backplane_probe.x");
  });
});

describe("probe --listen", () => {
  it("answers a request line that is no URL with 404 and keeps serving; a failed evaluation is 503 until one succeeds", async () => {
    let fail = true;
    const server = await serveMetrics(async () => {
      if (fail) throw new Error("host gone");
      return report();
    }, { host: "127.0.0.1", port: 0 }, 60_000, () => undefined);
    const port = (server.address() as { port: number }).port;
    const raw = (line: string) => new Promise<string>((resolve) => {
      const sock = connect(port, "127.0.0.1", () => sock.write(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`));
      let got = "";
      sock.on("data", (d) => (got += d.toString()));
      sock.on("close", () => resolve(got));
    });
    try {
      expect(await raw("GET // HTTP/1.1")).toMatch(/^HTTP\/1\.1 404/);
      expect(await raw("GET http://[ HTTP/1.1")).toMatch(/^HTTP\/1\.1 (404|400)/);
      expect(await raw("POST /metrics HTTP/1.1")).toMatch(/^HTTP\/1\.1 405/);
      expect(await raw("GET /metrics HTTP/1.1")).toMatch(/^HTTP\/1\.1 503[^]*evaluation failed: host gone/);
      fail = false;
      const ok = await raw("GET /metrics?x=1 HTTP/1.1");
      expect(ok).toMatch(/^HTTP\/1\.1 200/);
      expect(ok).toContain("backplane_pool_healthy");
    } finally {
      server.close();
    }
  });
  it("parses HOST:PORT and [IPv6]:PORT, and refuses anything else", () => {
    expect(parseListen("127.0.0.1:9187")).toEqual({ host: "127.0.0.1", port: 9187 });
    expect(parseListen("[::1]:9187")).toEqual({ host: "::1", port: 9187 });
    for (const bad of ["9187", "127.0.0.1:0", "127.0.0.1:70000", "::1:9187", "host:port"]) expect(() => parseListen(bad)).toThrow(/is not HOST:PORT/);
  });
  it("warns when it serves beyond loopback (no TLS, no authentication), and not on loopback", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(listenWarning(h)).toBeNull();
    for (const h of ["0.0.0.0", "::", "10.0.0.5"]) expect(listenWarning(h)).toMatch(/beyond this machine: \/metrics names hosts, pools and datasets and has no TLS or authentication/);
  });
});

describe("backplane_probe configuration", () => {
  const problems = (c: Record<string, unknown>) => validateBlock(probeKind, c, () => false).map((p) => `${p.path}: ${p.message}`);
  it("refuses a threshold that belongs to another check, naming both", () => {
    expect(problems({ check: "pool_health", target: "tank", max_lag: "1h" })).toEqual(["max_lag: belongs to replication_lag, not to pool_health (pool_health takes max_capacity_percent, max_errors, max_scrub_age)"]);
  });
  it("requires the threshold a check cannot do without", () => {
    expect(problems({ check: "dataset_space", target: "tank/a" })).toEqual(["max_used_percent: dataset_space needs a threshold: max_used_percent, min_available or both"]);
    expect(problems({ check: "replication_lag", target: "tank/a" })).toEqual(["max_lag: replication_lag needs max_lag (how far behind the target may fall)"]);
    expect(problems({ check: "snapshot_freshness", target: "tank/a" })).toEqual(["max_age: snapshot_freshness needs max_age (how old the newest snapshot may be)"]);
  });
  it("checks the target by what the check looks at, and durations and sizes by their rules", () => {
    expect(problems({ check: "pool_health", target: "tank/a" })[0]).toMatch(/^target: must name a pool: /);
    expect(problems({ check: "wireguard_handshake", target: "wg0; reboot" })[0]).toMatch(/^target: must name a WireGuard interface: /);
    expect(problems({ check: "dataset_space", target: "tank/a", min_available: "lots" })[0]).toMatch(/^min_available: is not a size: /);
    expect(problems({ check: "snapshot_freshness", target: "tank/a", max_age: "1 hour" })[0]).toMatch(/^max_age: '1 hour' is not a duration/);
    expect(problems({ check: "snapshot_freshness", target: "tank/a", max_age: "0" })).toEqual(["max_age: must be longer than 0"]);
    expect(problems({ check: "io_latency", target: "tank", sample_seconds: 61 })[0]).toMatch(/^sample_seconds: /);
    expect(problems({ check: "snapshot_freshness", target: "tank/a", max_age: "7d" })).toEqual([]);
  });
  it("defaults: capacity 80 %, no errors, handshake 3 minutes, p99 100 ms over 5 s, top 5", () => {
    const t = probeThresholds({ check: "pool_health", target: "tank" });
    expect([t.maxCapacityPercent, t.maxErrors, t.maxScrubAgeS, t.maxHandshakeAgeS, t.maxP99Ms, t.sampleSeconds, t.top]).toEqual([80, 0, null, 180, 100, 5, 5]);
  });
});

describe("planning a stack with probes", () => {
  it("plans nothing for a probe and records none in state", () => {
    const graph = seedGraph("seed-dr");
    expect([...graph.resources.values()].filter((r) => r.type === "backplane_probe").length).toBeGreaterThan(10);
    const plan = makePlan({ stack: "seed-dr", graph, state: null, live: new Map([["prod", prod()], ["dr", dr()]]), newLineage: "x" });
    expect(plan.changes.filter((c) => c.address.startsWith("backplane_probe."))).toEqual([]);
    expect(plan.errors.filter((e) => e.address.startsWith("backplane_probe."))).toEqual([]);
  });
});
