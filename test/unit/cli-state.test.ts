/** The state commands of the CLI: what they tell the operator about locks (stderr) and how to recover. */
import { describe, it, expect, beforeAll } from "vitest";
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { withHost } from "./helpers/synth.js";
import { backplane, projectWith } from "./helpers/cli.js";

let doc: Record<string, any>;
beforeAll(() => {
  doc = withHost((h) => h.dataset("ds", { name: "tank/a" }));
});

const stateWith = (dir: string, address: string) =>
  writeFileSync(join(dir, "terraform.test.tfstate"), JSON.stringify({ version: 1, lineage: "L", serial: 4, resources: { [address]: { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: {} } } }));

describe("the CLI and the state lock", () => {
  it("prints on stderr that it took over a stale lock", async () => {
    const dir = projectWith(doc);
    stateWith(dir, "backplane_dataset.gone");
    const dead = Number(spawnSync("sh", ["-c", "echo $$"]).stdout.toString().trim());
    writeFileSync(join(dir, "terraform.test.tfstate.lock.json"), JSON.stringify({ id: "old-lock", operation: "apply", who: "x", pid: dead, hostname: hostname(), created: new Date().toISOString() }));
    const r = await backplane(dir, ["state", "rm", "backplane_dataset.gone", "--no-synth"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`taking over a stale lock old-lock (pid ${dead} is gone)`);
  }, 60_000);

  it("names the exact command, with the stack and directory given, that removes an unreadable lock, and that command removes it", async () => {
    const dir = projectWith(doc);
    stateWith(dir, "backplane_dataset.gone");
    writeFileSync(join(dir, "terraform.test.tfstate.lock.json"), "garbage");
    const r = await backplane("/", ["state", "rm", "backplane_dataset.gone", "--no-synth", "--dir", dir, "--stack", "test"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(join(dir, "terraform.test.tfstate.lock.json"));
    const cmd = /(backplane force-unlock unreadable[^\n]*)$/m.exec(r.stderr)?.[1];
    expect(cmd, r.stderr).toBe(`backplane force-unlock unreadable --dir ${dir} --stack test`);
    const f = await backplane("/", cmd!.split(" ").slice(1).concat("--no-synth"));
    expect(f.exitCode, f.stderr).toBe(0);
    const again = await backplane("/", ["state", "rm", "backplane_dataset.gone", "--no-synth", "--dir", dir, "--stack", "test"]);
    expect(again.exitCode, again.stderr).toBe(0);
  }, 60_000);
});
