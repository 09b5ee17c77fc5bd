/**
 * Captures how OpenZFS itself reads sizes (libzfs's zfs_nicestrtonum) for provider/zfs/units.ts's
 * unit tests: each text is set as the quota of a throw-away dataset on a lab host, and the host's
 * answer is recorded — the quota it then holds, in bytes, or its error. Builds a pool on the
 * host's second disk and destroys it after.
 *
 *   npx tsx test/lab/capture-sizes.mts [host] [label]      (writes test/fixtures/zfs-sizes/<label>-quota.txt)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { labHost } from "./hosts.js";
import { argv, toDisplay } from "../../provider/model/argv.js";
import { transportFor } from "./capture-fixtures.js";

/** The texts: the edges of every rule in units.ts (suffixes, fractions, 64 bits, length, junk). */
export const SIZE_TEXTS = [
  "500G", "500g", "500GB", "500GiB", "500gib", "1M", "16K", "64k", "512", "512B", "1.5K", ".5K", "1.", "1.5", "0.5M", "1.5B",
  "100000", "1T", "1P", "2E", "15E", "15.5E", "15.99999E", "16E", "16.0E", "16383P", "16384P", "0Z", "1Z", "0.5Z",
  "18446744073709551615", "18446744073709551616", "99999999999999999999", `${"0".repeat(60)}100000`, `${"0".repeat(70)}1M`, `${"0".repeat(70)}`, `1${"0".repeat(70)}`, `${"0".repeat(70)}.5M`, "00.5M",
  "5Q", "1BB", "1BiB", "1KB", "1KiB", "1Kb", "1KK", "1 K", "G", "abc", "-1", ".", ".K", "1e3", "0x10", "1.5.5", "1..5",
];

const here = dirname(fileURLToPath(import.meta.url));

async function main() {
  const hostName = process.argv[2] ?? "prod";
  const label = process.argv[3] ?? "zfs-2.3";
  const t = transportFor(hostName);
  const disk = labHost(hostName).disks[1]!;
  const run = async (cmd: ReturnType<typeof argv>) => {
    const r = await t.run(cmd);
    if (r.exitCode !== 0) throw new Error(`${toDisplay(cmd)}: ${r.stderr}`);
    return r.stdout;
  };
  await run(argv("sh", "-c", "zpool destroy fxsizes 2>/dev/null; true"));
  await run(argv("zpool", "create", "-f", "-O", "mountpoint=none", "fxsizes", disk));
  await run(argv("zfs", "create", "fxsizes/q"));
  // one round trip: each text as an argument; a text holds no tab or newline
  const script = [
    "for v in \"$@\"; do",
    "  if out=$(zfs set \"quota=$v\" fxsizes/q 2>&1); then printf 'set\\t%s\\t%s\\n' \"$v\" \"$(zfs get -Hp -o value quota fxsizes/q)\"; zfs set quota=none fxsizes/q",
    "  else printf 'refused\\t%s\\t%s\\n' \"$v\" \"$(printf %s \"$out\" | tr '\\n' ' ')\"; fi",
    "done",
  ].join("\n");
  const cmd = argv("sh", "-c", script, "sh", ...SIZE_TEXTS);
  const out = await run(cmd);
  await run(argv("zpool", "destroy", "fxsizes"));
  await t.close();
  const dir = join(here, "..", "fixtures", "zfs-sizes");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${label}-quota.cmd`), `${toDisplay(argv("sh", "-c", script, "sh", "<SIZE_TEXTS in test/lab/capture-sizes.mts>"))}\n`);
  await writeFile(join(dir, `${label}-quota.txt`), out);
  console.log(`captured zfs-sizes/${label}-quota (${SIZE_TEXTS.length} texts)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
