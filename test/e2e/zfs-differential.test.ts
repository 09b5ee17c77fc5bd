/**
 * The differential against real OpenZFS (vm tier, 2.3): every row of
 * test/fixtures/zfs-differential/cases.json is run on a lab host — create, set, clone,
 * snapshot, pool create — in ONE round trip (a batch, each row's command on its own, stdin
 * from /dev/null), and the host's verdict (exit code) must be the verdict the table records.
 * The unit test (test/unit/zfs-differential.test.ts) holds backplane's validator to the same
 * table, with each deliberate deviation written in its row; together the two say backplane
 * decides as the host does, or says why not.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { randomBytes } from "node:crypto";
import { labDisks, resetHosts, sh, transport } from "./helpers.js";
import { argv, type Argv } from "../../provider/model/argv.js";
import { batchScript, splitSections } from "../../provider/engine/batch.js";
import { table, type Row } from "../unit/helpers/differential.js";


/**
 * Rows not run on a host, and why: a key location the host would fetch over the network
 * (the lab sends traffic only to loopback and lab hosts).
 */
const NOT_RUN = (r: Row) => Object.values({ ...r.with, [r.property]: r.value }).some((v) => /^https?:/.test(v));

// A passphrase fed on stdin, for rows that create encrypted datasets (keylocation=prompt).
const RUN = 'n=$1; shift; printf "bp-differential-passphrase\\n" | "$@"';
/** The command that tries the row on the host; exit 0 = the host accepts it. Each cleans up after itself. */
function commandFor(r: Row, i: number, pool: string, file: string): Argv {
  const opts = (flag: string, props: Record<string, string>) => Object.entries(props).flatMap(([k, v]) => [flag, `${k}=${v}`]);
  const all = { ...r.with, [r.property]: r.value };
  switch (r.where) {
    case "filesystem":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/f${i}`, "zfs", "create", ...opts("-o", all), `${pool}/f${i}`);
    case "volume": {
      const { volsize, ...rest } = all;
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/v${i}`, "zfs", "create", "-V", volsize ?? "64M", ...opts("-o", rest), `${pool}/v${i}`);
    }
    case "clone":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/c${i}`, "zfs", "clone", ...opts("-o", all), `${pool}/origin@s`, `${pool}/c${i}`);
    case "pool-root":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", `dp${i}`, "zpool", "create", ...opts("-O", all), `dp${i}`, file);
    case "pool-create":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", `dp${i}`, "zpool", "create", ...opts("-o", all), `dp${i}`, file);
    case "pool-adopt":
      return argv("sh", "-c", RUN, "sh", "", "zpool", "set", `${r.property}=${r.value}`, pool);
    case "user-name":
      return argv("sh", "-c", `${RUN} || exit 1; zfs inherit "$n" ${pool}/u`, "sh", r.value, "zfs", "set", `${r.value}=x`, `${pool}/u`);
    case "user-value":
      return argv("sh", "-c", `${RUN} || exit 1; zfs inherit acme:v ${pool}/u`, "sh", "", "zfs", "set", `acme:v=${r.value}`, `${pool}/u`);
    case "pool-name":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", r.value, "zpool", "create", r.value, file);
    // the rows name datasets in a pool called tank: the scratch pool
    case "dataset-name":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy -r "$n"`, "sh", r.value, "zfs", "create", "-p", r.value);
    case "snapshot-name": {
      const name = r.value;
      const at = name.indexOf("@");
      return argv("sh", "-c", `zfs create -p "$1" 2>/dev/null; shift; ${RUN} || exit 1; zfs destroy "$n"`, "sh", at > 0 ? name.slice(0, at) : name, name, "zfs", "snapshot", name);
    }
  }
  throw new Error(`unknown 'where' ${r.where}`);
}

describe("the differential against real OpenZFS 2.3", () => {
  beforeAll(resetHosts);

  it("the host decides every row of the table as the table says (so backplane's verdicts, held to the table, agree with the host's)", async () => {
    const pool = "tank";
    const file = "/var/tmp/bp-differential.img";
    await sh("prod", `zpool create ${pool} ${labDisks("prod")[0]} && zfs create ${pool}/origin && zfs snapshot ${pool}/origin@s && zfs create ${pool}/u && truncate -s 128M ${file}`);
    const rows = table.cases.map((r, i) => ({ r, i })).filter(({ r }) => !NOT_RUN(r));
    const nonce = randomBytes(8).toString("hex");
    const t = transport("prod");
    const before = t.roundTrips;
    const res = await t.script(batchScript(rows.map(({ r, i }) => ({ key: `r${i}`, command: commandFor(r, i, pool, file) })), nonce), { timeoutMs: 900_000 });
    expect(t.roundTrips - before).toBe(1);
    const sections = splitSections(res.stdout, nonce);
    const disagreements: string[] = [];
    for (const { r, i } of rows) {
      const s = sections.get(`r${i}`);
      const host = s?.exitCode === 0 ? "accept" : "reject";
      if (host !== r.openzfs) disagreements.push(`${r.where} ${r.property ? `${r.property}=` : ""}${JSON.stringify(r.value.slice(0, 60))}${r.with ? ` with ${JSON.stringify(r.with)}` : ""}: table says ${r.openzfs}, host ${host}${s?.stderr ? ` (${s.stderr.trim().split("\n")[0]})` : ""}`);
    }
    console.log(`differential: ${rows.length} rows run on prod (OpenZFS 2.3) in one round trip, ${table.cases.length - rows.length} not run (network key locations), ${table.cases.filter((r) => r.deviation).length} deliberate deviations of backplane; host disagrees with the table on ${disagreements.length}`);
    expect(disagreements).toEqual([]);
    await sh("prod", `zpool destroy ${pool}; rm -f ${file}`);
  });
});
