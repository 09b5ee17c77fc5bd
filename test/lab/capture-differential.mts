/**
 * Runs every row of the differential table (test/fixtures/zfs-differential/cases.json) on a
 * running lab host, exactly as the 2.3 e2e test does (one round trip, each row on its own),
 * and records the host's verdict on each row — with the first line of its stderr as evidence —
 * in test/fixtures/zfs-differential/host-<zfs version>.json. For versions CI does not boot
 * (2.1: its image is another 13–22 min cold build), the unit test holds backplane's
 * version-dependent decisions to that capture.
 *
 *   npx tsx test/lab/cli.ts up --hosts 1 --zfs 2.1 && npx tsx test/lab/capture-differential.mts prod
 */
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { labHost } from "./hosts.js";
import { SshTransport } from "../../provider/transport/ssh.js";
import { argv } from "../../provider/model/argv.js";
import { batchScript, splitSections } from "../../provider/engine/batch.js";
import { NOT_RUN, commandFor } from "../e2e/differential-commands.js";
import { table, rowKey } from "../unit/helpers/differential.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "zfs-differential");
const hostName = process.argv[2] ?? "prod";
const h = labHost(hostName);
const t = new SshTransport({ alias: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey, commandPrefix: [], connectTimeout: 15, commandTimeout: 1800 });

const must = async (script: string) => {
  const r = await t.run(argv("sh", "-c", script));
  if (r.exitCode !== 0) throw new Error(`${script}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
};

const version = (await must("zfs version | head -1")).trim().replace(/^zfs-/, "").replace(/-.*$/, "");
const kernelModule = (await must("cat /sys/module/zfs/version")).trim();
const pool = "tank";
const file = "/var/tmp/bp-differential.img";
await must(`zpool create ${pool} ${h.disks[0]} && zfs create ${pool}/origin && zfs snapshot ${pool}/origin@s && zfs create ${pool}/u && truncate -s 128M ${file}`);
try {
  const rows = table.cases.map((r, i) => ({ r, i })).filter(({ r }) => !NOT_RUN(r));
  const nonce = randomBytes(8).toString("hex");
  const t0 = Date.now();
  const res = await t.script(batchScript(rows.map(({ r, i }) => ({ key: `r${i}`, command: commandFor(r, i, pool, file) })), nonce), { timeoutMs: 1_800_000 });
  const sections = splitSections(res.stdout, nonce);
  const verdicts = rows.map(({ r, i }) => {
    const s = sections.get(`r${i}`);
    if (!s) throw new Error(`row ${i} did not report (batch exit ${res.exitCode}: ${res.stderr})`);
    return { key: rowKey(r), verdict: s.exitCode === 0 ? "accept" : "reject", said: s.exitCode === 0 ? "" : (s.stderr.trim().split("\n")[0] ?? "") };
  });
  const doc = { about: `Verdicts of OpenZFS ${version} (kernel module ${kernelModule}, lab vm guest) on every row of cases.json that can run on a lab host; captured by test/lab/capture-differential.mts`, version, captured: new Date().toISOString().slice(0, 10), verdicts };
  await writeFile(join(fixtures, `host-${version}.json`), `${JSON.stringify(doc, null, 1)}\n`);
  const differ = verdicts.filter((v) => v.verdict !== table.cases.find((r) => rowKey(r) === v.key)!.openzfs);
  console.log(`OpenZFS ${version}: ${verdicts.length} rows in ${((Date.now() - t0) / 1000).toFixed(0)} s, one round trip; differs from the table (2.3) on ${differ.length}:`);
  for (const d of differ) console.log(`  ${d.key}: ${d.verdict}${d.said ? ` (${d.said})` : ""}`);
} finally {
  await must(`zpool destroy ${pool}; rm -f ${file}`);
  await t.close();
}
