/** A fact is a command plus a strict pure parser of its output (pyinfra's idea). */
import type { Argv } from "./argv.js";

export class ParseError extends Error {
  constructor(readonly fact: string, readonly line: number, detail: string) {
    super(`${fact}: line ${line}: ${detail}`);
    this.name = "ParseError";
  }
}

export interface Fact<T> {
  name: string;
  command: Argv;
  parse(stdout: string): T;
}

