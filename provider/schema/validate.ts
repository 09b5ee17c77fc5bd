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

/**
 * Strings a host cannot receive intact, wherever they sit (keys too): a lone UTF-16
 * surrogate (JSON can spell one, "\ud800") has no UTF-8 form and would arrive as U+FFFD.
 */
function notUtf8(value: unknown, prefix: string[], out: Problem[]): void {
  const check = (s: string, at: string[]) => {
    const m = /\p{Cs}/u.exec(s);
    if (m) out.push({ path: at.map((x) => echo(x, 64)).join("."), message: `${at.length ? `${echo(at.join("."), 64)} ` : ""}is not well-formed Unicode (a lone surrogate U+${m[0].charCodeAt(0).toString(16).toUpperCase()} at position ${m.index}): it has no UTF-8 form and cannot reach a host intact` });
  };
  if (typeof value === "string") check(value, prefix);
  else if (Array.isArray(value)) value.forEach((v, i) => notUtf8(v, [...prefix, String(i)], out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      check(k, [...prefix, k]);
      notUtf8(v, [...prefix, k], out);
    }
  }
}

export function validateBlock(kind: KindSpec, config: Record<string, unknown>, isUnresolved: (v: unknown) => boolean): Problem[] {
  const pending = new Set<string>();
  unresolvedPaths(config, isUnresolved, [], pending);
  const encoding: Problem[] = [];
  notUtf8(config, [], encoding);
  if (encoding.length > 0) return encoding;
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
