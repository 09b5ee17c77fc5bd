/**
 * The seed page as a stack (shared/seed/kldload-channels-backplanes.txt).
 *
 *  - stack `seed`: host `prod` with the five service datasets under tank/srv, tuned
 *    exactly as the seed gives them, and host `dr` with its backup pool.
 *  - stack `seed-dr`: the same plus a WireGuard mesh between prod and dr and replication
 *    of uploads and postgres to dr over it ("zfs send | ssh wg-peer zfs recv"): prod sends,
 *    over the tunnel, with a key dr lets run only `zfs recv` into backup/prod/<name>
 *    (docs/replication.md). `backplane apply --stack seed-dr` sets it up and replicates;
 *    `backplane replicate --stack seed-dr` replicates again.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { Host, Replication, WireGuardMesh } from "../../constructs/index.js";
import { hostProps, inventory, need } from "../inventory.js";

function storage(stack: Construct) {
  const inv = inventory();
  const prodInv = need(inv, "prod");
  const drInv = need(inv, "dr");
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const dr = new Host(stack, "dr", hostProps(drInv));

  const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
  const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
  const services = {
    uploads: prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] }),
    transcode: prod.dataset("transcode", { name: "tank/srv/transcode", profile: "transcode", dependsOn: [srv] }),
    logs: prod.dataset("logs", { name: "tank/srv/logs", profile: "logs", dependsOn: [srv] }),
    ciWorkspace: prod.dataset("ci-workspace", { name: "tank/srv/ci-workspace", profile: "ciWorkspace", dependsOn: [srv] }),
    postgres: prod.dataset("postgres", { name: "tank/srv/postgres", profile: "postgres", dependsOn: [srv] }),
  };
  const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
  const backupProd = dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
  return { prod, dr, services, backupProd };
}

class SeedStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LocalBackend(this, { path: "terraform.seed.tfstate" });
    storage(this);
  }
}

class SeedDrStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LocalBackend(this, { path: "terraform.seed-dr.tfstate" });
    const { prod, dr, services } = storage(this);
    // The stream runs over the tunnel: refuse the plan, before any change, on a host without WireGuard.
    for (const h of [prod, dr]) h.facts({ requireWireguard: true });
    const mesh = new WireGuardMesh(this, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820 });
    for (const name of ["uploads", "postgres"] as const) {
      new Replication(this, `replicate-${name}`, {
        source: services[name],
        target: dr,
        targetDataset: `backup/prod/${name}`,
        via: mesh,
      });
    }
  }
}

const app = new App();
new SeedStack(app, "seed");
new SeedDrStack(app, "seed-dr");
app.synth();
