/** Writes the replication stack's project (test/e2e/.work/<name>) and prints its folder: for capture-replication.sh. */
import { project } from "../e2e/helpers.js";
import { REPLICATION_STACK } from "../e2e/replication-stack.js";

console.log(await project(process.argv[2] ?? "replication-capture", REPLICATION_STACK));
