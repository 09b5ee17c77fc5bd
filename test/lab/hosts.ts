/** The lab's description of its running hosts (hosts.json), read by examples and tests. */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

export interface LabHost {
  name: string;
  tier: "vm" | "ns";
  /** where the operator's ssh connects (127.0.0.1 through qemu's port forward) */
  address: string;
  port: number;
  user: string;
  identityFile: string;
  hostKey: string;
  knownHostsFile: string;
  sshConfigFile: string;
  /** the host's address on the lab network (guest-to-guest; WireGuard endpoints) */
  labAddress: string;
  /** unused block devices for pools */
  disks: string[];
  zfs: string;
}

export interface LabDescription {
  tier: "vm" | "ns";
  startedAt: string;
  hosts: LabHost[];
}

export const LAB_DIR = process.env.BACKPLANE_LAB_DIR ?? "/var/tmp/backplane-lab";
export const HOSTS_FILE = join(LAB_DIR, "hosts.json");

export function readLab(file = process.env.BACKPLANE_LAB_HOSTS ?? HOSTS_FILE): LabDescription {
  if (!existsSync(file)) {
    throw new Error(`no lab is running (${file} not found): start one with 'npm run lab -- up'`);
  }
  return JSON.parse(readFileSync(file, "utf8")) as LabDescription;
}

export function labHost(name: string, lab = readLab()): LabHost {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`the lab has no host '${name}' (it has ${lab.hosts.map((x) => x.name).join(", ")})`);
  return h;
}
