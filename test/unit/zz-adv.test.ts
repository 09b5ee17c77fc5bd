import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { poolStatus, datasetSpace, datasetSpaceLegacy } from "../../provider/zfs/health-facts.js";
import { parseZfsMounts, parseIoTrace, type IoSample } from "../../provider/zfs/io-latency.js";
import { evaluateProbe, type ProbeContext, type ProbeInput } from "../../provider/resources/probe.js";
import { probeThresholds, type ProbeCheck } from "../../provider/schema/kinds/probe.js";
import { renderPrometheus } from "../../provider/engine/probe-render.js";
import { liveFrom } from "./helpers/seed.js";
import type { HostLive } from "../../provider/model/live.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const read = (p: string) => readFileSync(join(fixtures, p), "utf8");
const prod = () => liveFrom("zfs-2.3-prod-seed-dr-health", "prod", { replication: true, health: true });
function input(check: ProbeCheck, target: string, config: Record<string, unknown> = {}, host = "prod"): ProbeInput {
  return { address: `backplane_probe.${check}`, path: `s/${check}/resource`, host, check, target, t: probeThresholds({ check, target, ...config }) };
}
function ctx(live: HostLive | null, extra: Partial<ProbeContext> = {}): ProbeContext {
  return { live, unread: live ? null : "x", replications: [], peerNames: new Map(), ...extra };
}
const base = read("probe-zpool-status/vm-seed.txt");
const tryParse = (s: string) => { try { poolStatus.parse(s); return "parsed"; } catch (e) { return (e as Error).message; } };

describe("adv zpool status", () => {
  it("logs class heading (printf \"\\t%s\\t\\n\")", () => {
    const s = base.replace("\t  virtio-bp-disk0  ONLINE       0     0     0\n", "\t  virtio-bp-disk0  ONLINE       0     0     0\n\tlogs\t\n\t  vdd              ONLINE       0     0     0\n");
    console.log("LOGS:", tryParse(s));
  });
  it("cache heading and AVAIL spare (%-8s pads)", () => {
    const s = base.replace("\t  virtio-bp-disk0  ONLINE       0     0     0\n", "\t  virtio-bp-disk0  ONLINE       0     0     0\n\tcache\n\t  vde              ONLINE       0     0     0\n\tspares\n\t  vdf              AVAIL   \n");
    console.log("SPARE AVAIL:", tryParse(s));
    const t = base.replace("\t  virtio-bp-disk0  ONLINE       0     0     0\n", "\t  virtio-bp-disk0  ONLINE       0     0     0\n\tspares\n\t  vdf              INUSE     currently in use\n");
    console.log("SPARE INUSE:", tryParse(t));
  });
  it("data errors with clean counters -> ok?", () => {
    const live = prod();
    const s = base.replace("errors: No known data errors", "errors: 3 data errors, use '-v' for a list");
    live.health!.pools = { value: poolStatus.parse(s) };
    const r = evaluateProbe(input("pool_health", "tank"), ctx(live))[0]!;
    console.log("DATA ERRORS:", r.status, r.value, r.reasons);
  });
  it("sequential rebuild scan line, expand, error scrub", () => {
    const rb = base.replace(" state: ONLINE\n", " state: ONLINE\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on Thu Nov 26 14:12:38 2026\n  scan: resilvered (mirror-0) 1.20G in 00:01:00 with 0 errors on Thu Nov 26 15:12:38 2026\n");
    console.log("REBUILD:", tryParse(rb));
    const ex = base.replace("config:\n", "expand: expanded raidz1-0 copied 1.2G in 00:01:00, on Thu Nov 26 15:12:38 2026\nconfig:\n");
    console.log("EXPAND:", tryParse(ex));
    const es = base.replace(" state: ONLINE\n", " state: ONLINE\n scrub: scrubbed 3 error blocks in 0 days 00:00:01 on Thu Nov 26 15:12:38 2026\n");
    console.log("ERRSCRUB:", tryParse(es));
    const th = base.replace(" state: ONLINE\n", " state: ONLINE\n  scan: thorough scrub repaired 0B in 00:00:01 with 0 errors on Thu Nov 26 14:12:38 2026\n");
    console.log("THOROUGH:", tryParse(th));
    const unk = base.replace("virtio-bp-disk0  ONLINE", "virtio-bp-disk0  UNKNOWN ");
    console.log("UNKNOWN:", tryParse(unk));
  });
  it("scrub stuck in progress for 90 days is age 0", () => {
    const live = prod();
    live.health!.pools = { value: poolStatus.parse(read("zpool-status/zfs-2.3-scrub-in-progress.txt").replace(/sick/g, "tank")) };
    live.health!.now = Date.UTC(2027, 1, 26) / 1000;
    const r = evaluateProbe(input("pool_health", "tank", { max_scrub_age: "35d" }), ctx(live))[0]!;
    console.log("STUCK SCRUB:", r.status, r.value, r.reasons);
  });
});

describe("adv space", () => {
  it("zvol row in zfs list -Hp (quota '-')", () => {
    const s = read("probe-space/vm-seed.txt") + "tank/vol\t1073741824\t871946240\t-\t-\t1795702627\n";
    try { datasetSpace.parse(s); console.log("ZVOL: parsed"); } catch (e) { console.log("ZVOL:", (e as Error).message); }
    const l = read("probe-space/ns-legacy.txt") + "nsp/vol\tused\t1\nnsp/vol\tavailable\t2\nnsp/vol\tquota\t-\nnsp/vol\trefquota\t-\nnsp/vol\tcreation\t3\n";
    try { datasetSpaceLegacy.parse(l); console.log("ZVOL legacy: parsed"); } catch (e) { console.log("ZVOL legacy:", (e as Error).message); }
  });
  it("quota set but pool nearly full", () => {
    const live = prod();
    const v = (live.health!.space as { value: Map<string, { used: bigint; available: bigint; quota: bigint; refquota: bigint; creation: number }> }).value;
    v.set("tank/srv/uploads", { used: 10n * 2n ** 30n, available: 1n * 2n ** 20n, quota: 1000n * 2n ** 30n, refquota: 0n, creation: 1 });
    const r = evaluateProbe(input("dataset_space", "tank/srv/uploads", { max_used_percent: 90 }), ctx(live))[0]!;
    console.log("QUOTA/FULL POOL:", r.status, r.value);
    v.set("tank/srv/uploads", { used: 95n * 2n ** 30n, available: 10n * 2n ** 30n, quota: 0n, refquota: 100n * 2n ** 30n, creation: 1 });
    const r2 = evaluateProbe(input("dataset_space", "tank/srv/uploads", { max_used_percent: 90 }), ctx(live))[0]!;
    console.log("REFQUOTA:", r2.status, r2.value);
  });
});

describe("adv io", () => {
  const mounts = parseZfsMounts(read("probe-mountinfo/vm-seed.txt"));
  const sample = parseIoTrace(read("probe-io-trace/vm-dsync-postgres.txt"), mounts, 12);
  it("nonexistent target / zvol target -> ok", () => {
    const rs = evaluateProbe(input("io_latency", "tank/typo"), ctx(prod(), { io: sample }));
    console.log("IO TYPO:", rs.map((r) => [r.status, r.value]));
    const rs2 = evaluateProbe(input("io_latency", "nosuchpool"), ctx(prod(), { io: sample }));
    console.log("IO NOPOOL:", rs2.map((r) => [r.status, r.value]));
  });
  it("p99 ≈ 190ms with threshold 100ms", () => {
    const hist = JSON.stringify({ type: "hist", data: { "@write": { "47": [{ min: 128, max: 255, count: 1 }, { min: 131072, max: 262143, count: 99 }] } } });
    const s = parseIoTrace(hist + "\n", mounts, 5);
    const rs = evaluateProbe(input("io_latency", "tank/srv/postgres", { max_p99_ms: 100 }), ctx(prod(), { io: s }));
    console.log("IO 131-262ms vs 100:", rs.map((r) => [r.status, r.value, r.threshold]));
  });
  it("bpftrace non-JSON warning line / lost events / printf", () => {
    for (const l of ['WARNING: Addrspace is not set', '{"type": "lost_events", "data": {"events": 12}}', '{"type":"hist","data":{"@read":{}}}', '{"type": "map", "data": {"@start": {}}}']) {
      try { const r = parseIoTrace(l + "\n", mounts, 5); console.log("BPF line", l, "=>", JSON.stringify(r)); } catch (e) { console.log("BPF line", l, "=>", (e as Error).message); }
    }
  });
  it("hist json with neg bucket (no min)", () => {
    const hist = JSON.stringify({ type: "hist", data: { "@read": { "47": [{ max: -1, count: 3 }, { min: 0, max: 0, count: 1 }] } } });
    console.log("NEG:", JSON.stringify(parseIoTrace(hist, mounts, 5)));
  });
  it("hist for a single map without key (bpftrace prints @read as array?)", () => {
    const hist = JSON.stringify({ type: "hist", data: { "@read": [{ min: 0, max: 0, count: 1 }] } });
    try { console.log("NOKEY:", JSON.stringify(parseIoTrace(hist, mounts, 5))); } catch (e) { console.log("NOKEY:", (e as Error).message); }
  });
});

describe("adv wg", () => {
  it("two peers sharing first 8 chars of key collapse into one series", () => {
    const live = prod();
    const i = live.wg.interfaces.get("wg0")!;
    const [k, p] = [...i.peers.entries()][0]!;
    i.peers.set(k.slice(0, 8) + "ZZZZ", { ...p, publicKey: k.slice(0, 8) + "ZZZZ", latestHandshake: 0 } as typeof p);
    const rs = evaluateProbe(input("wireguard_handshake", "wg0"), ctx(live));
    console.log("WG:", rs.map((r) => [r.subject, r.status]));
    const text = renderPrometheus({ stack: "s", at: new Date().toISOString(), elapsedMs: 1, results: rs });
    console.log(text.split("\n").filter((l) => l.startsWith("backplane_wireguard_last") || l.startsWith("backplane_probe_status")).join("\n"));
    console.log("PEER keys:", Object.keys(p));
  });
});
