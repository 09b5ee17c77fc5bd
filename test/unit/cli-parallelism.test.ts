/**
 * -parallelism is taken by every command that reads hosts, with the fleet-sized default
 * (engine/project.ts DEFAULT_PARALLELISM), and refused when it is not a positive number.
 */
import { describe, it, expect } from "vitest";
import { tmpdir } from "node:os";
import { backplane } from "./helpers/cli.js";

describe("-parallelism", () => {
  it("is an option of every command that reads hosts, default 32", async () => {
    const commands = [["plan"], ["apply"], ["destroy"], ["drift"], ["replicate"], ["probe"], ["facts"], ["version"]];
    const helps = await Promise.all(commands.map((c) => backplane(tmpdir(), [...c, "--help"])));
    for (const [i, h] of helps.entries()) {
      expect(h.exitCode, commands[i]!.join(" ")).toBe(0);
      expect(h.stdout, commands[i]!.join(" ")).toMatch(/--parallelism <n>\s+hosts read (and worked on )?at once\s+\(default 32\)/);
    }
  }, 60_000);

  it("in Terraform's spelling, refuses what is not a whole number from 1, before anything is read", async () => {
    for (const cmd of ["drift", "probe", "facts"]) {
      const r = await backplane(tmpdir(), [cmd, "-parallelism=0"]);
      expect(r.exitCode, cmd).toBe(1);
      expect(r.stderr, cmd).toContain(`option '--parallelism <n>' argument '0' is invalid. expected a whole number from 1 to 9999, got "0"`);
    }
  }, 60_000);
});
