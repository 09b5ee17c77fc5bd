/**
 * How a resource kind is described once and used three ways: zod validation of loaded
 * configuration, the Terraform-format provider schema fed to @cdktf/provider-generator,
 * and docs/resources.md. Every kind module exports one `KindSpec`.
 */
import { z } from "zod";

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

export type Refinement = (value: Record<string, unknown>, report: (path: string, message: string) => void) => void;

export interface KindSpec {
  /** terraform type name, e.g. backplane_dataset; "provider" for the host configuration */
  type: string;
  kind: "resource" | "data" | "provider";
  description: string;
  attributes: Record<string, AttrSpec>;
  /** cross-attribute rules (profile vs sync, type vs volsize ...) */
  refine?: Refinement;
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
    refine(value as Record<string, unknown>, (path, message) =>
      ctx.addIssue({ code: "custom", path: path.split("."), message }),
    );
  }) as unknown as z.ZodType<Record<string, unknown>>;
}

/** Helpers that keep the kind modules short and uniform. */
export const str = (description: string, zod: z.ZodType = z.string(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "string", zod, description, ...extra });
export const num = (description: string, zod: z.ZodType = z.number(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "number", zod, description, ...extra });
export const bool = (description: string, extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: "bool", zod: z.boolean(), description, ...extra });
export const strList = (description: string, item: z.ZodType = z.string(), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: ["list", "string"], zod: z.array(item), description, ...extra });
export const strMap = (description: string, zod: z.ZodType = z.record(z.string(), z.string()), extra: Partial<AttrSpec> = {}): AttrSpec => ({ tf: ["map", "string"], zod, description, ...extra });
export const computed = (description: string, tf: TfType = "string"): AttrSpec => ({ tf, zod: z.never(), computed: true, description });

/** A zod string checked by one of our `xxxProblem(value) → reason | null` functions. */
export function checked(problem: (v: string) => string | null): z.ZodType<string> {
  return z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });
}
