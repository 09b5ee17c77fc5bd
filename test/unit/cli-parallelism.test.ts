/**
 * -parallelism is taken by every command that reads hosts, with the default of
 * engine/project.ts (DEFAULT_PARALLELISM), reaches each command's refresh, and is refused when
 * it is not a positive number.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
import { Host } from "../../constructs/index.js";
import { synth, hostProps } from "./helpers/synth.js";
import { backplane, fakeSsh, projectWith } from "./helpers/cli.js";

const ADDRESSES = ["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"];

describe("-parallelism", () => {
  it("is an option of every command that reads hosts, default 10", async () => {
    const commands = [["plan"], ["apply"], ["destroy"], ["drift"], ["replicate"], ["probe"], ["facts"], ["version"]];
    const helps = await Promise.all(commands.map((c) => backplane(tmpdir(), [...c, "--help"])));
    for (const [i, h] of helps.entries()) {
      expect(h.exitCode, commands[i]!.join(" ")).toBe(0);
      expect(h.stdout, commands[i]!.join(" ")).toMatch(/--parallelism <n>\s+hosts read (and worked on )?at once\s+\(default 10\)/);
    }
  }, 60_000);

  it("in Terraform's spelling, refuses what is not a whole number from 1, before anything is read", async () => {
    for (const cmd of ["drift", "probe", "facts"]) {
      const r = await backplane(tmpdir(), [cmd, "-parallelism=0"]);
      expect(r.exitCode, cmd).toBe(1);
      expect(r.stderr, cmd).toContain(`option '--parallelism <n>' argument '0' is invalid. expected a whole number from 1 to 9999, got "0"`);
    }
  }, 60_000);

  describe("reaches the refresh of each command that reads hosts", () => {
    let project: string;
    let served: string;
    beforeAll(() => {
      project = projectWith(synth((stack: TerraformStack) => {
        for (const [i, address] of ADDRESSES.entries()) new Host(stack, `h${i}`, hostProps({ address, port: 22 })).dataset("ds", { name: `tank/h${i}` });
      }));
      served = fakeSsh(Object.fromEntries(ADDRESSES.map((a) => [a, "zfs-2.3-prod-empty"])));
    });
    /** an ssh in front of the fake one that notes how many round trips are in flight when one starts */
    const counting = () => {
      const dir = mkdtempSync(join(tmpdir(), "bp-count-ssh-"));
      writeFileSync(join(dir, "ssh"), [
        "#!/bin/sh",
        'for a in "$@"; do [ "$a" = "-O" ] && exit 0; done',
        `d='${dir}'; mkdir "$d/in.$$"`,
        'ls -d "$d"/in.* | wc -l >> "$d/seen"',
        "sleep 0.4",
        `'${join(served, "ssh")}' "$@"; rc=$?`,
        'rmdir "$d/in.$$"; exit $rc',
        "",
      ].join("\n"));
      chmodSync(join(dir, "ssh"), 0o755);
      return dir;
    };
    const mostAtOnce = async (args: string[]) => {
      const dir = counting();
      const r = await backplane(project, [...args, "--no-synth"], { PATH: `${dir}:${process.env.PATH}`, BACKPLANE_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "bp-rt-")) });
      const seen = readFileSync(join(dir, "seen"), "utf8").trim().split("\n").map(Number);
      expect(seen.length, `${args.join(" ")}: ${r.stderr}`).toBeGreaterThanOrEqual(ADDRESSES.length);
      return Math.max(...seen);
    };
    for (const cmd of [["plan"], ["drift"], ["replicate"], ["probe"], ["facts"], ["version", "--hosts"]]) {
      it(`${cmd.join(" ")}: one host at a time with -parallelism=1, all four at once by default`, async () => {
        // one after the other: plan, drift and replicate take the project's state lock
        expect(await mostAtOnce([...cmd, "-parallelism=1"])).toBe(1);
        expect(await mostAtOnce(cmd)).toBe(ADDRESSES.length);
      }, 60_000);
    }
  });
});
