/**
 * The seed's upload → clone → transcode → send pipeline as constructs:
 *   write to tank/srv/uploads (one write)
 *   snapshot uploads@job-123, clone it to tank/srv/transcode/job-123 (instant, zero I/O)
 *   transcode in place on the clone
 *   zfs send the result to tank/srv/output (block-level, only changed blocks)
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { Host, Replication } from "../../constructs/index.js";
import { hostProps, inventory, need } from "../inventory.js";

class PipelineStack extends TerraformStack {
  constructor(scope: Construct, id: string, job: string) {
    super(scope, id);
    new LocalBackend(this, { path: "terraform.pipeline.tfstate" });
    const inv = need(inventory(), "prod");
    const prod = new Host(this, "prod", hostProps(inv));
    const tank = prod.pool("tank", { name: "tank", vdevs: [inv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
    const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
    const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
    const transcode = prod.dataset("transcode", { name: "tank/srv/transcode", profile: "transcode", dependsOn: [srv] });
    const output = prod.dataset("output", { name: "tank/srv/output", profile: "transcode", properties: { readonly: "on" }, dependsOn: [srv] });
    const snap = prod.snapshot(`${job}-snapshot`, { dataset: uploads, name: job });
    const work = prod.clone(`${job}-clone`, { name: `tank/srv/transcode/${job}`, origin: snap, properties: { compression: "off" } });
    work.node.addDependency(transcode.resource);
    const result = prod.dataset(`${job}-result`, { name: `tank/srv/transcode/${job}-out`, profile: "transcode", dependsOn: [transcode] });
    new Replication(this, `${job}-send`, { source: result, target: prod, targetDataset: `tank/srv/output/${job}` }).node.addDependency(output.resource);
  }
}

const app = new App();
new PipelineStack(app, "pipeline", process.env.JOB ?? "job-123");
app.synth();
