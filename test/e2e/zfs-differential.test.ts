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
import { NOT_RUN, commandFor } from "./differential-commands.js";
import { batchScript, splitSections } from "../../provider/engine/batch.js";
import { table } from "../unit/helpers/differential.js";


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
