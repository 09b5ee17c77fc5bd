/**
 * Captures what the probes read, from a running lab host, with the commands backplane runs:
 * `zpool status -p`, the space list, /proc/self/mountinfo and a bpftrace I/O sample taken
 * while a workload writes with O_DSYNC into one dataset and reads a file of another. Writes
 * test/fixtures/probe-<fact>/<tier>-<case>.{cmd,txt}. The host must already carry the seed
 * stack (examples/seed, `backplane apply --stack seed`); on the ns tier bpftrace reports why
 * it cannot run, which is captured as well.
 *
 *   npx tsx test/lab/capture-probes.mts prod vm
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { labHost } from "./hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv, toShell, type Argv } from "../../provider/model/argv.js";
import { poolStatus, datasetSpace } from "../../provider/zfs/health-facts.js";
import { ioTraceCommand, mountInfoCommand } from "../../provider/zfs/io-latency.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const [hostName = "prod", tier = "vm"] = process.argv.slice(2);
const h = labHost(hostName);
const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, commandPrefix: [], connectTimeout: 15, commandTimeout: 600 });

async function capture(fact: string, name: string, command: Argv, okExit = [0]) {
  // LC_ALL=C as the batch script exports it
  const r = await t.run(argv("env", "LC_ALL=C", ...command));
  if (!okExit.includes(r.exitCode)) throw new Error(`${toShell(command)}: exit ${r.exitCode}: ${r.stderr}`);
  await mkdir(join(fixtures, `probe-${fact}`), { recursive: true });
  await writeFile(join(fixtures, `probe-${fact}`, `${tier}-${name}.cmd`), `${toShell(command)}\n`);
  await writeFile(join(fixtures, `probe-${fact}`, `${tier}-${name}.txt`), r.stdout);
  console.log(`probe-${fact}/${tier}-${name}: exit ${r.exitCode}, ${r.stdout.length} bytes${r.exitCode ? `: ${r.stdout.trim()}` : ""}`);
  return r;
}

try {
  await capture("zpool-status", "seed", poolStatus.command);
  await capture("space", "seed", datasetSpace.command);
  await capture("mountinfo", "seed", mountInfoCommand);
  // the workload starts once bpftrace had time to attach (≈5 s under emulation) and ends before the sample does
  const workload = "sleep 8; dd if=/dev/zero of=/tank/srv/postgres/bp-capture bs=8k count=400 oflag=dsync status=none; cat /tank/srv/uploads/bp-capture-read >/dev/null; rm -f /tank/srv/postgres/bp-capture";
  if (tier === "vm") await t.run(argv("sh", "-c", "dd if=/dev/urandom of=/tank/srv/uploads/bp-capture-read bs=1M count=8 status=none"));
  const bg = t.run(argv("sh", "-c", workload));
  await capture("io-trace", "dsync-postgres", ioTraceCommand(12), [0, 3]);
  await bg;
  await t.run(argv("rm", "-f", "/tank/srv/uploads/bp-capture-read"));
} finally {
  await t.close();
}
