/**
 * The commands a refresh runs on a host. The refresh fixtures (test/fixtures/refresh/) are what
 * hosts answered to exactly these commands: a changed command (a column added, moved or dropped,
 * a flag, a line of a script) makes them stale and must come with new captures
 * (test/lab/capture-*.sh); the golden file shows the change in review.
 *
 * The facts' modules are imported INSIDE the test, and nothing in this file imports them at the
 * top: their commands are made when a module is first evaluated, and mutation testing activates
 * a mutant before a test body runs (after a file's top-level imports), so only an import made
 * here evaluates them under the mutant and lets this test see a changed command.
 */
import { describe, it } from "vitest";
import { golden } from "./helpers/golden.js";

describe("the refresh's commands", () => {
  it("are the ones the captured fixtures answered (golden: every section, fallbacks, every option on)", async () => {
    const { refreshItems } = await import("../../provider/engine/live.js");
    const { toShell } = await import("../../provider/model/argv.js");
    const text = refreshItems(["com.example:owner"], { replication: true, health: true, timers: true })
      .flatMap((i) => [`${i.key}: ${toShell(i.command)}`, ...(i.fallbacks ?? []).map((f) => `${i.key}.${f.name}: ${toShell(f.command)}`)])
      .join("\n\n");
    golden("refresh-commands.txt", `${text}\n`);
  });
});
