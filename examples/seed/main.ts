/**
 * The seed page as a stack (shared/seed/kldload-channels-backplanes.txt).
 *
 *  - stack `seed`: host `prod` with the five service datasets under tank/srv, tuned
 *    exactly as the seed gives them, and host `dr` with its backup pool.
 *  - stack `seed-dr`: the same plus a WireGuard mesh between prod and dr and replication
 *    of uploads and postgres to dr over it ("zfs send | ssh wg-peer zfs recv"): prod sends,
 *    over the tunnel, with a key dr lets run only `zfs recv` into backup/prod/<name>
 *    (docs/replication.md). `backplane apply --stack seed-dr` sets it up and replicates;
 *    `backplane replicate --stack seed-dr` replicates again, and prod's own timer every 15 minutes.
 *  - uploads, logs and postgres are snapshotted by their profiles' policies (snapshots: true;
 *    docs/schedules.md), on timers on prod: "the backup is a snapshot that already happened".
 */
import { App, LocalBackend, PgBackend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { Host, Probe, Replication, WireGuardMesh } from "../../constructs/index.js";
import { hostProps, inventory, need } from "../inventory.js";

/**
 * The seed's schedules (policies and the replications' timers) are on; BACKPLANE_SEED_SCHEDULES=off
 * at synth leaves them out, for tests of the planner on hosts captured without them.
 */
const schedules = process.env.BACKPLANE_SEED_SCHEDULES !== "off";

function storage(stack: Construct) {
  const inv = inventory();
  const prodInv = need(inv, "prod");
  const drInv = need(inv, "dr");
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const dr = new Host(stack, "dr", hostProps(drInv));

  const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
  const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
  const services = {
    uploads: prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", snapshots: schedules, dependsOn: [srv] }),
    transcode: prod.dataset("transcode", { name: "tank/srv/transcode", profile: "transcode", dependsOn: [srv] }),
    logs: prod.dataset("logs", { name: "tank/srv/logs", profile: "logs", snapshots: schedules, dependsOn: [srv] }),
    ciWorkspace: prod.dataset("ci-workspace", { name: "tank/srv/ci-workspace", profile: "ciWorkspace", dependsOn: [srv] }),
    postgres: prod.dataset("postgres", { name: "tank/srv/postgres", profile: "postgres", snapshots: schedules, dependsOn: [srv] }),
  };
  const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
  const backupProd = dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
  return { prod, dr, services, backupProd };
}

/**
 * What healthy means for the seed's back plane (`backplane probe`, docs/probes.md): both pools
 * online without errors and below 80 %, each service within its space, and the slowest
 * datasets under tank/srv by I/O latency (bpftrace on prod).
 */
function storageProbes(stack: Construct, s: ReturnType<typeof storage>) {
  new Probe(stack, "probe-tank", { host: s.prod, check: "pool_health", target: "tank", maxCapacityPercent: 80, maxScrubAge: "35d" });
  new Probe(stack, "probe-backup", { host: s.dr, check: "pool_health", target: "backup", maxCapacityPercent: 80 });
  for (const [name, d] of Object.entries(s.services)) new Probe(stack, `probe-space-${name}`, { host: s.prod, check: "dataset_space", target: d.name, maxUsedPercent: 90 });
  new Probe(stack, "probe-latency", { host: s.prod, check: "io_latency", target: "tank/srv", maxP99Ms: 250, sampleSeconds: 5, top: 5 });
}

/**
 * Where the stack keeps its state: a local file, or — for a team, CI included — PostgreSQL
 * when BACKPLANE_STATE=pg at synth. The connection string is left empty here on purpose:
 * backplane reads PG_CONN_STR at run time, so the password never enters cdk.tf.json.
 */
function stateBackend(stack: TerraformStack, id: string) {
  if (process.env.BACKPLANE_STATE === "pg") new PgBackend(stack, { connStr: "", schemaName: "backplane" });
  else new LocalBackend(stack, { path: `terraform.${id}.tfstate` });
}

class SeedStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    stateBackend(this, id);
    storageProbes(this, storage(this));
  }
}

class SeedDrStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    stateBackend(this, id);
    const stored = storage(this);
    const { prod, dr, services } = stored;
    storageProbes(this, stored);
    // The stream runs over the tunnel: refuse the plan, before any change, on a host without WireGuard.
    for (const h of [prod, dr]) h.facts({ requireWireguard: true });
    // keepalive: an idle tunnel still handshakes every two minutes, so the handshake probe reads its health
    const mesh = new WireGuardMesh(this, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820, persistentKeepalive: 25 });
    for (const h of [prod, dr]) new Probe(this, `probe-mesh-${h.hostName}`, { host: h, check: "wireguard_handshake", target: "wg0", maxHandshakeAge: "5m" });
    // what another system needs of this back plane (`backplane output`): each end's WireGuard
    // public key (made on the host at apply) and address in the mesh
    for (const h of [prod, dr]) {
      new TerraformOutput(this, `${h.hostName}_wg_public_key`, { value: mesh.interfaces.get(h.hostName)!.publicKey, description: `WireGuard public key of wg0 on ${h.hostName}` });
      new TerraformOutput(this, `${h.hostName}_wg_address`, { value: mesh.addresses.get(h.hostName)! });
    }
    for (const name of ["uploads", "postgres"] as const) {
      new Replication(this, `replicate-${name}`, {
        source: services[name],
        target: dr,
        targetDataset: `backup/prod/${name}`,
        via: mesh,
        // prod sends by itself every 15 minutes (a timer on prod), between applies too
        every: schedules ? "15m" : undefined,
      });
      new Probe(this, `probe-lag-${name}`, { host: prod, check: "replication_lag", target: services[name].name, maxLag: "1h" });
      new Probe(this, `probe-fresh-${name}`, { host: dr, check: "snapshot_freshness", target: `backup/prod/${name}`, snapshotPrefix: "backplane-repl-", maxAge: "1d" });
    }
  }
}

const app = new App();
new SeedStack(app, "seed");
new SeedDrStack(app, "seed-dr");
app.synth();
