/**
 * `-parallelism=N`: how many hosts are read at once by every command that reads hosts (plan,
 * apply, destroy, drift, replicate, probe, facts, version --hosts), and how many are worked on
 * at once by apply. The default and why it is not higher: engine/project.ts, docs/cli.md.
 */
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_PARALLELISM } from "../engine/project.js";

export function positiveInt(v: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(v)) throw new InvalidArgumentError(`expected a whole number from 1 to 9999, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parallelismOption(what = "hosts read at once"): Option {
  return new Option("--parallelism <n>", `${what} (default ${DEFAULT_PARALLELISM})`).argParser(positiveInt);
}
