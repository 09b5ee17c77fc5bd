/**
 * The stack the WireGuard fixtures are captured from (test/lab/capture-wg.sh): a full mesh
 * with preshared keys over the lab's three vm hosts.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { Host, WireGuardMesh } from "../../../constructs/index.js";
import { hostProps, inventory, need } from "../../../examples/inventory.js";

const inv = inventory();
const app = new App();
const stack = new TerraformStack(app, "mesh");
new LocalBackend(stack, { path: "terraform.tfstate" });
const hosts = ["prod", "dr", "h3"].map((n) => new Host(stack, n, hostProps(need(inv, n))));
new WireGuardMesh(stack, "mesh", { hosts, cidr: "10.201.0.0/24", listenPort: 51820, persistentKeepalive: 5, presharedKeys: true });
app.synth();
