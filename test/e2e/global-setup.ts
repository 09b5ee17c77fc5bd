/**
 * Starts the vm-tier lab for the e2e tests (or reuses one that is running) and stops it at
 * the end if this run started it. BACKPLANE_LAB_KEEP=1 keeps it running for the next run.
 */
import { vmUp, labDown } from "../lab/vm.js";
import { readLab } from "../lab/hosts.js";
import { execa } from "execa";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export default async function setup() {
  let started = false;
  let running = false;
  try {
    running = readLab().tier === "vm";
  } catch {
    running = false;
  }
  if (!running) {
    await execa("bash", [join(here, "..", "lab", "install-deps.sh")], { stdio: "inherit" });
    started = true;
  }
  const t0 = Date.now();
  // Three hosts: prod and dr for the storage tests, h3 to make the WireGuard mesh a real mesh
  // (the second lab beside it, for the files that need prod and dr only, has two: test/run.sh).
  const hosts = Number(process.env.BACKPLANE_LAB_VM_HOSTS ?? 3);
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 9) throw new Error(`BACKPLANE_LAB_VM_HOSTS must be 2 to 9, not '${process.env.BACKPLANE_LAB_VM_HOSTS}'`);
  await vmUp({ hosts, zfs: "2.3", memoryMiB: 1536, log: (l) => console.log(l) });
  console.log(`e2e: lab ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return async () => {
    if (started && process.env.BACKPLANE_LAB_KEEP !== "1") await labDown((l) => console.log(l));
  };
}
