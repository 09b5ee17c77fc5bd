/**
 * Synth-time validation for every L2 construct: the same rules the engine's loader applies,
 * reported with the construct path (cdktf fails `synth` and lists them).
 */
import { Token } from "cdktf";
import type { IConstruct } from "constructs";
import type { KindSpec } from "../provider/schema/attr.js";
import { validateBlock } from "../provider/schema/validate.js";

export function isToken(v: unknown): boolean {
  return (typeof v === "string" || typeof v === "number" || Array.isArray(v)) && Token.isUnresolved(v);
}

/** Drops undefined members so optional props don't count as "set". */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function validateAtSynth(scope: IConstruct, kind: KindSpec, config: () => Record<string, unknown>): void {
  scope.node.addValidation({
    validate: () =>
      validateBlock(kind, compact(config()), isToken).map(
        (p) => `${kind.type}${p.path ? `.${p.path}` : ""}: ${p.message}`,
      ),
  });
}

/** An error thrown while building constructs (before synth), named after the construct path. */
export class ConstructError extends Error {
  constructor(readonly constructPath: string, rule: string) {
    super(`[${constructPath}] ${rule}`);
    this.name = "ConstructError";
  }
}
