/**
 * How a resource kind is described once and used three ways: zod validation of loaded
 * configuration, the Terraform-format provider schema fed to @cdktf/provider-generator,
 * and docs/resources.md. Every kind module exports one `KindSpec`.
 */
import { z } from "zod";
import { echo } from "../model/echo.js";

export type TfType = "string" | "number" | "bool" | ["list", "string"] | ["map", "string"];

export interface AttrSpec {
  tf: TfType;
  /** validates a present value; ignored for computed-only attributes */
  zod: z.ZodType;
  required?: boolean;
  /** set by backplane from the host (a guid, a generated public key) */
  computed?: boolean;
  /** changing it replaces the object (`# forces replacement`) */
  createOnly?: boolean;
  sensitive?: boolean;
  default?: unknown;
  description: string;
  example?: string;
}

/** `path` is dotted ("properties.sync") or, when a key may hold dots, the segments. */
export type Refinement = (value: Record<string, unknown>, report: (path: string | string[], message: string) => void) => void;

export interface KindSpec {
  /** terraform type name, e.g. backplane_dataset; "provider" for the host configuration */
  type: string;
  kind: "resource" | "data" | "provider";
  description: string;
  attributes: Record<string, AttrSpec>;
  /** cross-attribute rules (profile vs sync, type vs volsize ...) */
  refine?: Refinement;
  /**
   * The configuration in the one form the rest of backplane sees (short property names
   * resolved, addresses as `ip`/`wg` print them). Pure; runs on valid configuration only,
   * and leaves values not known yet as they are.
   */
  canonical?: (value: Record<string, unknown>) => Record<string, unknown>;
  /** whether the engine can plan/apply it yet; others are refused at plan with a clear error */
  engineSupport: "full" | "later";
}

/** The zod object that validates a configured block of this kind (computed-only attrs are rejected). */
export function configSchema(kind: KindSpec): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, a] of Object.entries(kind.attributes)) {
    if (a.computed) continue; // set by backplane, never by the operator
    shape[name] = a.required ? a.zod : a.zod.optional();
  }
  const obj = z.strictObject(shape);
  if (!kind.refine) return obj as unknown as z.ZodType<Record<string, unknown>>;
  const refine = kind.refine;
  return obj.superRefine((value, ctx) => {
    const report = (path: string | string[], message: string) =>
      ctx.addIssue({ code: "custom", path: Array.isArray(path) ? path : path.split("."), message });
    try {
      refine(value as Record<string, unknown>, report);
    } catch (e) {
      report([], `${kind.type}: a rule failed while checking this block: ${echo(e instanceof Error ? e.message : String(e))}`);
    }
  }) as unknown as z.ZodType<Record<string, unknown>>;
}

/** Helpers that keep the kind modules short and uniform. */
export const str = (description: string, zod: z.ZodType = z.string(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "string", zod, description, ...extra });
export const num = (description: string, zod: z.ZodType = z.number(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "number", zod, description, ...extra });
export const bool = (description: string, extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "bool", zod: z.boolean(), description, ...extra });
export const strList = (description: string, item: z.ZodType = z.string(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: ["list", "string"], zod: z.array(item), description, ...extra });
export const strMap = (description: string, zod: z.ZodType = z.record(z.string(), z.string()), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: ["map", "string"], zod, description, ...extra });
export const computed = (description: string, tf: TfType = "string"): AttrSpec => ({ tf, zod: z.never(), computed: true, description });

/**
 * A zod string checked by one of our `xxxProblem(value) → reason | null` functions. A
 * check that throws (a library refusing the input its own way) becomes a problem on this
 * field, never an exception out of validation.
 */
export function checked(problem: (v: string) => string | null): z.ZodType<string> {
  return z.string().superRefine((v, ctx) => {
    let p: string | null;
    try {
      p = problem(v);
    } catch (e) {
      p = `could not be checked ('${echo(v)}'): ${echo(e instanceof Error ? e.message : String(e))}`;
    }
    if (p) ctx.addIssue({ code: "custom", message: p });
  });
}

/** Report each problem of a map of assignments on its own key (keys may hold dots). */
export function reportEach(report: (path: string[], message: string) => void, attribute: string, problems: ReadonlyArray<{ key: string; message: string }>): void {
  for (const p of problems) report([attribute, p.key], p.message);
}

/** The string members of a map attribute (values not known yet are left out). */
export function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** The block with one map attribute rewritten (canonical names); other attributes untouched. */
export function withMap(value: Record<string, unknown>, attribute: string, f: (m: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> {
  const m = value[attribute];
  return m && typeof m === "object" && !Array.isArray(m) ? { ...value, [attribute]: f(m as Record<string, unknown>) } : value;
}
