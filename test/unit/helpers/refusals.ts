/** Captured output broken in one way, and the check that a strict parser refuses it, naming its fact and the line. */
import { expect } from "vitest";
import { ParseError } from "../../../provider/model/fact.js";

/** the output's lines, without empty ones */
export const outputLines = (text: string): string[] => text.split("\n").filter((l) => l !== "");

/** the output with line n (from 1) replaced; `previous` is the line before it */
export function breakLine(text: string, n: number, edit: (line: string, previous: string) => string): string {
  const ls = outputLines(text);
  return [...ls.slice(0, n - 1), edit(ls[n - 1]!, ls[n - 2]!), ...ls.slice(n)].join("\n") + "\n";
}

/** a tab-separated line with column i (from 0) replaced */
export const withColumn = (line: string, i: number, v: string): string => line.split("\t").map((c, j) => (j === i ? v : c)).join("\t");

/** the parse throws a ParseError whose message (`<fact>: line <n>: <why>`) matches */
export function expectRefused(parse: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    parse();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ParseError);
  expect((error as Error).message).toMatch(message);
}
