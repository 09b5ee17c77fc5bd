/**
 * The seed's upload → clone → transcode → send pipeline: the datasets it runs on. The
 * per-job steps (snapshot, clone, transform in place, send the result, destroy the clone)
 * are what the services do at run time; `run.mts` does them and measures the I/O against
 * the copy-based way (cp three times), as the seed claims.
 *
 *   tank/srv/uploads     one write of the upload
 *   tank/srv/transcode   job-<id> = clone of uploads@job-<id> (instant, zero I/O), transformed in place
 *   tank/srv/output      job-<id> = received as a clone of uploads@job-<id>: only the changed blocks
 *   tank/srv/copyway     the same work with cp, for the comparison
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { Host } from "../../constructs/index.js";
import { hostProps, inventory, need } from "../inventory.js";

class PipelineStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LocalBackend(this, { path: "terraform.pipeline.tfstate" });
    const inv = need(inventory(), "prod");
    const prod = new Host(this, "prod", hostProps(inv));
    const tank = prod.pool("tank", { name: "tank", vdevs: [inv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
    const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
    prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
    prod.dataset("transcode", { name: "tank/srv/transcode", profile: "transcode", dependsOn: [srv] });
    prod.dataset("output", { name: "tank/srv/output", profile: "transcode", dependsOn: [srv] });
    // the copy-based way on the same pool, tuned as transcode (no compression: the data is already encoded)
    prod.dataset("copyway", { name: "tank/srv/copyway", profile: "transcode", dependsOn: [srv] });
  }
}

const app = new App();
new PipelineStack(app, "pipeline");
app.synth();
