/**
 * Validates one configured block against its kind. Used at synth (constructs) and at load
 * (engine), so both report the same rule in the same words.
 *
 * Values not known yet (a cdktf token, a `${...}` reference) are passed by the caller's
 * `isUnresolved`; rules on those paths are checked again once the value is known.
 */
import type { z } from "zod";
import { configSchema, type KindSpec } from "./attr.js";
import { echo, safeMessage } from "../model/echo.js";

export interface Problem {
  /** attribute path inside the block, e.g. properties.recordsize */
  path: string;
  message: string;
}

const schemas = new WeakMap<KindSpec, z.ZodType>();

function schemaOf(kind: KindSpec): z.ZodType {
  let s = schemas.get(kind);
  if (!s) schemas.set(kind, (s = configSchema(kind)));
  return s;
}

function unresolvedPaths(value: unknown, isUnresolved: (v: unknown) => boolean, prefix: string[], out: Set<string>): void {
  if (isUnresolved(value)) {
    out.add(prefix.join("."));
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => unresolvedPaths(v, isUnresolved, [...prefix, String(i)], out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) unresolvedPaths(v, isUnresolved, [...prefix, k], out);
  }
}

export function validateBlock(kind: KindSpec, config: Record<string, unknown>, isUnresolved: (v: unknown) => boolean): Problem[] {
  const pending = new Set<string>();
  unresolvedPaths(config, isUnresolved, [], pending);
  let result: ReturnType<z.ZodType["safeParse"]>;
  try {
    result = schemaOf(kind).safeParse(config);
  } catch (e) {
    // zod (or a rule inside it) gave up in its own way: name the block, never rethrow
    return [{ path: "", message: `${kind.type}: validation failed: ${echo(e instanceof Error ? e.message : String(e))}` }];
  }
  if (result.success) return [];
  const problems: Problem[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path.map((s) => echo(String(s), 64)).join(".");
    // A rule about a value that is not known yet (or about something inside it) waits.
    const raw = issue.path.map(String).join(".");
    if ([...pending].some((p) => raw === p || raw.startsWith(`${p}.`) || (p !== "" && p.startsWith(`${raw}.`)))) continue;
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      message = `unknown attribute${issue.keys.length > 1 ? "s" : ""} ${issue.keys.slice(0, 5).map((k) => `'${echo(k, 64)}'`).join(", ")}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ""} for ${kind.type} (not in its schema)`;
    } else if (issue.code === "invalid_type") {
      message = issue.input === undefined ? `'${path}' is required` : `${path} ${issue.message.replace(/^Invalid input: /, "")}`;
    } else if (issue.code === "invalid_value") {
      message = `${path} ${issue.message.replace(/^Invalid option: /, "")}`;
    }
    problems.push({ path, message: safeMessage(message) });
  }
  return problems;
}
