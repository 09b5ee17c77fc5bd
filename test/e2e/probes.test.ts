/**
 * Probes on vm-tier hosts: every kind passes on a healthy lab and fails when its condition is
 * made false on purpose (a pool with checksum errors, a dataset filled past its threshold,
 * WireGuard stopped on one host, replication fallen behind, slow synchronous writes, a
 * snapshot grown old); io_latency names the dataset a workload runs on as the top offender;
 * the table, JSON and Prometheus outputs are checked (the latter by promtool), and a real
 * Prometheus server scrapes `backplane probe --listen` on loopback. One stack, the cases in order.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execa, type ResultPromise } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lab/free-port.js";
import { backplane, project, resetHosts, sh, ROOT } from "./helpers.js";
import { PREPARE } from "./replication-stack.js";

const STACK = `
const prod = new Host(stack, "prod", hostProps(prodInv));
const dr = new Host(stack, "dr", hostProps(drInv));
const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
prod.dataset("postgres", { name: "tank/srv/postgres", profile: "postgres", dependsOn: [srv] });
prod.dataset("small", { name: "tank/srv/small", properties: { quota: "16M", compression: "off" }, dependsOn: [srv] });
const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
const mesh = new bp.WireGuardMesh(stack, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820, persistentKeepalive: 5 });
new bp.Replication(stack, "uploads-dr", { source: uploads, target: dr, targetDataset: "backup/prod/uploads", via: mesh });
const P = (id: string, host: any, props: any) => new bp.Probe(stack, id, { host, ...props });
P("pool-tank", prod, { check: "pool_health", target: "tank", maxCapacityPercent: 80 });
P("pool-sick", prod, { check: "pool_health", target: "sick" });
P("space-small", prod, { check: "dataset_space", target: "tank/srv/small", maxUsedPercent: 50 });
P("lag-uploads", prod, { check: "replication_lag", target: "tank/srv/uploads", maxLag: "20s" });
P("mesh-prod", prod, { check: "wireguard_handshake", target: "wg0", maxHandshakeAge: "5m" });
P("mesh-dr", dr, { check: "wireguard_handshake", target: "wg0", maxHandshakeAge: "5m" });
P("io-relaxed", prod, { check: "io_latency", target: "tank/srv", maxP99Ms: 10000, sampleSeconds: 6, top: 3 });
P("io-strict", prod, { check: "io_latency", target: "tank/srv/postgres", maxP99Ms: 0.2, sampleSeconds: 6 });
P("fresh-postgres", prod, { check: "snapshot_freshness", target: "tank/srv/postgres", snapshotPrefix: "hand-", maxAge: "150s" });
`;

interface JsonResult { probe: string; host: string; subject: string; status: string; value: string; reasons: string[]; metrics: { name: string; labels: Record<string, string>; value: number }[] }
let dir: string;
let handSnapshotAt = 0;

async function probeJson(extra: string[] = []): Promise<{ exitCode: number; results: JsonResult[]; raw: string }> {
  const r = await backplane(dir, ["probe", "--no-synth", "--json", ...extra]);
  let doc: { results: JsonResult[] };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`probe --json printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode, results: doc.results, raw: r.stdout + r.stderr };
}

const byProbe = (rs: JsonResult[], probe: string) => rs.filter((r) => r.probe === probe);
const statusOf = (rs: JsonResult[], probe: string) => byProbe(rs, probe).map((r) => r.status);

/**
 * The workload io_latency must find: small synchronous writes into tank/srv/postgres, running
 * in the background on prod for as long as the probe samples (bpftrace's attach time varies
 * under emulation), stopped afterwards.
 */
const SLOW_WRITES_START = "nohup timeout 300 sh -c 'while :; do dd if=/dev/zero of=/tank/srv/postgres/bp-slow bs=8k count=50 oflag=dsync status=none; done' >/dev/null 2>&1 & echo $! > /run/bp-slow.pid";
const SLOW_WRITES_STOP = "kill $(cat /run/bp-slow.pid) 2>/dev/null; sleep 1; rm -f /run/bp-slow.pid /tank/srv/postgres/bp-slow";


describe("probes (vm tier)", () => {
  beforeAll(async () => {
    await resetHosts();
    for (const h of ["prod", "dr"]) await sh(h, PREPARE.both);
    // a pool outside the stack: a probe may watch any pool; this one gets checksum errors later
    await sh("prod", "rm -f /var/tmp/bp-sick-*; truncate -s 128M /var/tmp/bp-sick-1 /var/tmp/bp-sick-2 && zpool create -f -m /sick sick mirror /var/tmp/bp-sick-1 /var/tmp/bp-sick-2");
    dir = await project("probes", STACK);
    const apply = await backplane(dir, ["apply", "--auto-approve"]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    await sh("prod", "zfs snapshot tank/srv/postgres@hand-1");
    handSnapshotAt = Date.now();
  }, 600_000);

  afterAll(async () => {
    await sh("prod", "zpool destroy -f sick 2>/dev/null; rm -f /var/tmp/bp-sick-*; true");
  });

  it("passes every probe on a healthy lab: table, JSON and Prometheus text (checked by promtool)", async () => {
    const table = await backplane(dir, ["probe", "--no-synth"]);
    expect(table.exitCode, table.stdout + table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^PROBE\s+HOST\s+SUBJECT\s+STATUS\s+VALUE\s+THRESHOLD/m);
    expect(table.stdout).toMatch(/^pool-tank\s+prod\s+tank\s+ok\s+ONLINE, 0 errors/m);
    expect(table.stdout).toMatch(/^mesh-prod\s+prod\s+wg0 → dr\/wg0\s+ok/m);
    expect(table.stdout).toMatch(/Probes: \d+ ok, 0 failing, 0 unsupported, 0 error/);

    // one evaluation, two renderings: JSON on stdout, Prometheus text in the textfile
    const textfile = join(dir, "backplane.prom");
    const j = await probeJson(["--textfile", textfile]);
    expect(j.exitCode, j.raw).toBe(0);
    for (const p of ["pool-tank", "pool-sick", "space-small", "lag-uploads", "mesh-prod", "mesh-dr", "io-relaxed", "io-strict", "fresh-postgres"]) {
      expect(statusOf(j.results, p), `${p}\n${j.raw}`).toEqual(expect.arrayContaining(["ok"]));
      expect(statusOf(j.results, p).filter((s) => s !== "ok"), p).toEqual([]);
    }
    expect(byProbe(j.results, "lag-uploads")[0]!.value).toBe("in sync");

    const prom = { stdout: await readFile(textfile, "utf8") };
    const check = await execa("promtool", ["check", "metrics"], { input: prom.stdout, reject: false });
    expect(check.exitCode, `promtool: ${check.stdout}${check.stderr}`).toBe(0);
    expect(prom.stdout).toContain('backplane_pool_healthy{host="prod",pool="tank"} 1');
    expect(prom.stdout).toMatch(/backplane_wireguard_handshake_age_seconds\{host="dr",interface="wg0",peer="prod\/wg0"\} \d+/);
    expect(prom.stdout).toContain('backplane_replication_lag_seconds{dataset="tank/srv/uploads",host="prod",target_dataset="backup/prod/uploads",target_host="dr"} 0');
  }, 300_000);

  it("io_latency reports real per-dataset numbers while a workload runs and names its dataset as the top offender", async () => {
    await sh("prod", SLOW_WRITES_START);
    let j: Awaited<ReturnType<typeof probeJson>>;
    const textfile = join(dir, "io.prom");
    try {
      j = await probeJson(["--textfile", textfile]);
    } finally {
      await sh("prod", SLOW_WRITES_STOP);
    }
    const relaxed = byProbe(j.results, "io-relaxed");
    expect(relaxed[0]?.subject, j.raw).toBe("tank/srv/postgres");
    expect(relaxed[0]!.status).toBe("ok");
    const ops = relaxed[0]!.metrics.find((m) => m.name === "backplane_io_operations" && m.labels.op === "write")!;
    expect(ops.value, j.raw).toBeGreaterThanOrEqual(20);
    const p99 = relaxed[0]!.metrics.find((m) => m.name === "backplane_io_latency_p99_seconds" && m.labels.op === "write")!;
    expect(p99.value).toBeGreaterThan(0);
    // the Prometheus text with measured I/O rows passes promtool too
    const check = await execa("promtool", ["check", "metrics"], { input: await readFile(textfile, "utf8"), reject: false });
    expect(check.exitCode, `promtool: ${check.stdout}${check.stderr}`).toBe(0);
    // synchronous 8K writes under emulation take far longer than 0.2 ms
    const strict = byProbe(j.results, "io-strict");
    expect(strict.map((r) => r.status), j.raw).toEqual(["failing"]);
    expect(strict[0]!.reasons.join(" ")).toMatch(/write p99 ≤ \S+ ms \(≥ \S+ ms\) > 0\.2 ms \(\d+ ops in 6 s\)/);
    expect(j.exitCode).toBe(2);
  }, 300_000);

  it("a real Prometheus scrapes backplane probe --listen on loopback and shows the backplane_ series", async () => {
    const [port, promPort] = [await freePort(), await freePort()];
    const work = await mkdtemp(join(tmpdir(), "bp-prom-"));
    await writeFile(join(work, "prometheus.yml"), `global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\nscrape_configs:\n  - job_name: backplane\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`);
    const listener: ResultPromise = execa(join(ROOT, "bin", "backplane.mjs"), ["probe", "--no-synth", "--listen", `127.0.0.1:${port}`, "--cache", "10s"], { cwd: dir, reject: false, env: { NO_COLOR: "1" } });
    const prom: ResultPromise = execa("prometheus", [`--config.file=${join(work, "prometheus.yml")}`, `--storage.tsdb.path=${join(work, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], { reject: false });
    try {
      let series: unknown[] = [];
      const deadline = Date.now() + 150_000;
      while (Date.now() < deadline && series.length === 0) {
        await new Promise((r) => setTimeout(r, 3000));
        const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('backplane_pool_healthy{pool="tank"}')}`).catch(() => null);
        if (r?.ok) series = ((await r.json()) as { data: { result: unknown[] } }).data.result;
      }
      expect(series, "Prometheus never stored backplane_pool_healthy").toHaveLength(1);
      expect(series[0]).toMatchObject({ metric: { __name__: "backplane_pool_healthy", host: "prod", pool: "tank", job: "backplane" }, value: [expect.any(Number), "1"] });
      const up = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=up`)).json() as { data: { result: { value: [number, string] }[] } };
      expect(up.data.result[0]!.value[1]).toBe("1");
      const direct = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const check = await execa("promtool", ["check", "metrics"], { input: direct, reject: false });
      expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    } finally {
      listener.kill("SIGTERM");
      prom.kill("SIGTERM");
      await Promise.all([listener, prom]);
      await rm(work, { recursive: true, force: true });
    }
    const ended = await listener;
    expect(ended.exitCode ?? 128 + 15, "the listener ends on SIGTERM").toBe(143);
  }, 300_000);

  it("fails each kind when its condition is made false, and says why", async () => {
    // pool: one side of the mirror overwritten, then a scrub counts the damage
    await sh("prod", "dd if=/dev/urandom of=/sick/f bs=1M count=20 status=none; zpool sync sick; dd if=/dev/urandom of=/var/tmp/bp-sick-2 bs=1M seek=8 count=60 conv=notrunc status=none; zpool scrub -w sick");
    // dataset: 10M in a 16M quota, past 50 %
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/small/fill bs=1M count=10 status=none; zpool sync tank");
    // WireGuard stopped on dr
    await sh("dr", "ip link del wg0");
    // replication: written on the source since the last replicated snapshot, 20 s ago or more
    await sh("prod", "dd if=/dev/urandom of=/tank/srv/uploads/new bs=1M count=2 status=none; zpool sync tank");
    // the hand-made snapshot grows older than 150 s
    const wait = handSnapshotAt + 155_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));

    const j = await probeJson();
    expect(j.exitCode, j.raw).toBe(2);
    const reasons = (p: string) => byProbe(j.results, p).flatMap((r) => r.reasons).join(" | ");
    expect(statusOf(j.results, "pool-sick"), j.raw).toEqual(["failing"]);
    expect(reasons("pool-sick")).toMatch(/\d+ I\/O errors? \(\/var\/tmp\/bp-sick-2: \d+ checksum\)/);
    expect(statusOf(j.results, "pool-tank")).toEqual(["ok"]);
    expect(statusOf(j.results, "space-small")).toEqual(["failing"]);
    expect(reasons("space-small")).toMatch(/used \d+\.\d % of its quota 16\.0M > 50 %/);
    expect(statusOf(j.results, "mesh-dr")).toEqual(["failing"]);
    expect(reasons("mesh-dr")).toBe("WireGuard interface wg0 is not up on dr");
    expect(statusOf(j.results, "lag-uploads")).toEqual(["failing"]);
    expect(reasons("lag-uploads")).toMatch(/the target has been behind for \S+ \(\S+ written since\) > 20s/);
    expect(statusOf(j.results, "fresh-postgres")).toEqual(["failing"]);
    expect(reasons("fresh-postgres")).toMatch(/newest snapshot tank\/srv\/postgres@hand-1 is \S+ old > 2m30s/);

    // put right: a new snapshot; apply brings wg0 back, then replicates over it
    await sh("prod", "zfs snapshot tank/srv/postgres@hand-2");
    const apply = await backplane(dir, ["apply", "--no-synth", "--auto-approve"]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    // the new interface handshakes within a keepalive or two
    await sh("dr", "for i in $(seq 60); do wg show wg0 latest-handshakes | awk '$2 > 0 { ok = 1 } END { exit !ok }' && exit 0; sleep 1; done; exit 1");
    const after = await probeJson();
    for (const p of ["lag-uploads", "fresh-postgres", "mesh-dr"]) expect(statusOf(after.results, p), `${p}\n${after.raw}`).toEqual(["ok"]);
  }, 600_000);

  it("drift --probes reports a failing probe as drift (exit 2) from the same read of each host", async () => {
    const r = await backplane(dir, ["drift", "--no-synth", "--probes", "--format", "text"]);
    expect(r.stdout).toContain("Probes:");
    expect(r.stdout).toMatch(/^pool-sick\s+prod\s+sick\s+failing/m);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    const plain = await backplane(dir, ["drift", "--no-synth", "--format", "text"]);
    expect(plain.stdout).not.toContain("Probes:");
  }, 300_000);
});
