/**
 * JSON modes keep stdout one JSON document when the run fails before it printed its own:
 * a refused flag, a stack that is not there, a failure inside the command. Text modes print
 * nothing on stdout for the same failures (the error goes to stderr), and help is no failure.
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backplane, projectWith } from "./helpers/cli.js";
import { seedDocs } from "./helpers/seed.js";

const empty = () => mkdtempSync(join(tmpdir(), "bp-json-"));

// each case starts the CLI from the TypeScript sources (tsx): seconds on a loaded machine, past
// vitest's 5 s default (two cases took 5.1–5.5 s beside a CI run's qemu guests)
describe("JSON modes on failure", { timeout: 30_000 }, () => {
  it.each([
    ["a refused flag", ["plan", "-json", "--bogus"], "unknown option '--bogus'"],
    ["a refused flag, Terraform's spelling of the mode", ["facts", "-json", "-lock=maybe"], "unknown option '--lock'"],
    ["no synthesized stack", ["output", "-json"], "no synthesized stacks in"],
    ["a stack that is not there", ["show", "--json", "--stack", "nope", "--no-synth"], "no synthesized stacks in"],
    ["a subcommand's refused flag", ["state", "list", "--json"], "unknown option '--json'"],
  ])("%s: stdout is a JSON error object, exit 1", async (_what, args, message) => {
    const r = await backplane(empty(), args);
    expect(r.exitCode, r.stderr).toBe(1);
    // one shape for every failure: plan's own (docs/plan-json.md)
    const doc = JSON.parse(r.stdout) as { errors: { address: null; host: null; message: string }[]; host_errors: unknown[] };
    expect(doc.errors).toHaveLength(1);
    expect(doc.errors[0]!.message).toContain(message);
    expect(doc.host_errors).toEqual([]);
  });

  it("a JSON document the command printed itself is not followed by another", async () => {
    const dir = projectWith(seedDocs()["seed-dr"], "seed-dr");
    const r = await backplane(dir, ["validate", "-json", "--no-synth", "--stack", "nope"]);
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout) as { valid: boolean; diagnostics: { summary: string }[] };
    expect(doc.valid).toBe(false);
    expect(doc.diagnostics[0]!.summary).toContain("no stack 'nope'");
  });

  it("text modes keep stdout empty on failure, and help is no failure", async () => {
    const r = await backplane(empty(), ["output"]);
    expect([r.exitCode, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toContain("Error: no synthesized stacks in");
    const help = await backplane(empty(), ["plan", "-help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("Usage: backplane plan");
  });
});
