/**
 * Captures one refresh round trip (the whole batched output) from a lab host as a fixture
 * for the planner's unit tests: test/fixtures/refresh/<label>.{txt,nonce}.
 *
 *   npx tsx test/lab/capture-refresh.ts <host> <label> [--replication] [--health]
 *
 * --replication adds the sections a stack with a replication reads (snapshot times and
 * holds, written, resume tokens, replication keys); --health those `backplane probe` reads
 * (zpool status, dataset space, the host's clock).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { transportFor } from "./capture-fixtures.js";
import { batchScript } from "../../provider/engine/batch.js";
import { refreshItems } from "../../provider/engine/live.js";

const args = process.argv.slice(2);
const replication = args.includes("--replication");
const health = args.includes("--health");
const [host = "prod", label = "zfs-2.3-capture"] = args.filter((a) => !a.startsWith("--"));
const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "refresh");
const t = transportFor(host);
const nonce = randomBytes(6).toString("hex");
const r = await t.script(batchScript(refreshItems([], { replication, health }), nonce));
if (r.exitCode !== 0) throw new Error(r.stderr);
await mkdir(dir, { recursive: true });
await writeFile(join(dir, `${label}.nonce`), nonce + "\n");
await writeFile(join(dir, `${label}.txt`), r.stdout);
console.log(`captured refresh/${label} from ${host} (${r.stdout.length} bytes)`);
await t.close();
