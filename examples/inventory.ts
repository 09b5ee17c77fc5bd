/**
 * Where the examples' hosts are: the file named by BACKPLANE_INVENTORY, or the running lab's
 * hosts.json (npm run lab -- up). Nothing else: without either, synthesis stops with an error
 * rather than plan against example addresses (examples/inventory.example.json is only used
 * when named). BACKPLANE_IDENTITY_FILE, when set, is the SSH key for every host (CI installs
 * its deploy key there).
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HostProps } from "../constructs/index.js";

export interface InventoryHost {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  hostKey: string;
  sshConfigFile?: string;
  labAddress: string;
  disks: string[];
}

const here = dirname(fileURLToPath(import.meta.url));

export function inventory(): Map<string, InventoryHost> {
  const labFile = join(process.env.BACKPLANE_LAB_DIR ?? "/var/tmp/backplane-lab", "hosts.json");
  const file = process.env.BACKPLANE_INVENTORY || (existsSync(labFile) ? labFile : null);
  if (!file) throw new Error(`no inventory: set BACKPLANE_INVENTORY to a hosts file (format: ${join(here, "inventory.example.json")}) or start the lab (npm run lab -- up)`);
  if (!existsSync(file)) throw new Error(`BACKPLANE_INVENTORY names ${file}, which does not exist`);
  const doc = JSON.parse(readFileSync(file, "utf8")) as { hosts: InventoryHost[] };
  const key = process.env.BACKPLANE_IDENTITY_FILE;
  return new Map(doc.hosts.map((h) => [h.name, key ? { ...h, identityFile: key } : h]));
}

export function hostProps(h: InventoryHost): HostProps {
  return {
    address: h.address,
    port: h.port,
    user: h.user,
    identityFile: h.identityFile,
    hostKey: h.hostKey,
    sshConfigFile: h.sshConfigFile,
    peerAddress: h.labAddress,
  };
}

export function need(inv: Map<string, InventoryHost>, name: string): InventoryHost {
  const h = inv.get(name);
  if (!h) throw new Error(`the inventory has no host '${name}' (has: ${[...inv.keys()].join(", ")})`);
  return h;
}
