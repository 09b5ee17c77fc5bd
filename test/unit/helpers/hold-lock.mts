/** Opens the store named by argv[2] (a StoreSpec as JSON), takes its lock, says so, and holds it until killed. */
import { openStore, type StoreSpec } from "./state-conformance.js";

const b = openStore(JSON.parse(process.argv[2]!) as StoreSpec);
const l = await b.lock("apply");
process.stdout.write(`locked ${l.id}\n`);
setInterval(() => undefined, 1 << 30);
