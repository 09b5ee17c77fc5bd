/**
 * The stack's outputs (cdktf's TerraformOutput): read from cdk.tf.json's `output` block and
 * resolved against state, as `terraform output` resolves them. Pure.
 *
 * A value may hold references, whole (`${backplane_wireguard_interface.x.public_key}`) or
 * inside a string (`wg ${…}`), anywhere in a list or map. A reference is to a resource of
 * the stack; its attribute is read from what state recorded after apply. Until then (no
 * state, not applied yet, the attribute not recorded) the output is unknown: shown as
 * `(known after apply)`, `null` in JSON with `"known": false`. References to data sources
 * are read at plan time, never recorded: such an output is unknown here too.
 */
import type { State } from "../model/state.js";

export interface OutputSpec {
  value: unknown;
  sensitive: boolean;
  description?: string;
}

export interface OutputValue {
  name: string;
  /** null when not known */
  value: unknown;
  known: boolean;
  sensitive: boolean;
  description?: string;
}

const REFERENCE = /\$\{([^{}]*)\}/g;
const RESOURCE_REFERENCE = /^(backplane_[a-z_]+)\.([^.\s]+)\.([a-z_][a-z0-9_]*)$/;
const OUTPUT_KEYS = new Set(["value", "sensitive", "description", "depends_on", "//"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every `${…}` inside a value, wherever it is. */
function referencesIn(v: unknown): string[] {
  if (typeof v === "string") return [...v.matchAll(REFERENCE)].map((m) => m[1]!);
  if (Array.isArray(v)) return v.flatMap(referencesIn);
  if (isObject(v)) return Object.values(v).flatMap(referencesIn);
  return [];
}

/**
 * The `output` block, checked: each output an object with a value, `sensitive` a boolean,
 * every reference one to a resource or data source the stack declares. `declared` holds
 * resource addresses (`backplane_x.name`) and data addresses (`data.backplane_x.name`).
 */
export function outputsOf(block: unknown, declared: ReadonlySet<string>, problems: string[]): Map<string, OutputSpec> {
  const outputs = new Map<string, OutputSpec>();
  if (block === undefined) return outputs;
  if (!isObject(block)) {
    problems.push("output: must be an object of outputs by name");
    return outputs;
  }
  for (const [name, body] of Object.entries(block)) {
    const label = `output ${JSON.stringify(name)}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) problems.push(`${label}: a name is a letter or _ then letters, digits, _ or -`);
    if (!isObject(body) || !("value" in body)) {
      problems.push(`${label}: needs a value`);
      continue;
    }
    for (const k of Object.keys(body)) if (!OUTPUT_KEYS.has(k)) problems.push(`${label}: '${k}' is not supported (value, sensitive, description)`);
    if (body.sensitive !== undefined && typeof body.sensitive !== "boolean") problems.push(`${label}: sensitive must be true or false`);
    if (body.description !== undefined && typeof body.description !== "string") problems.push(`${label}: description must be a string`);
    for (const ref of referencesIn(body.value)) {
      const data = ref.startsWith("data.") ? RESOURCE_REFERENCE.exec(ref.slice(5)) : null;
      const m = data ?? RESOURCE_REFERENCE.exec(ref);
      if (!m) problems.push(`${label}: \${${ref}} is not a reference to an attribute of a backplane resource`);
      else if (!declared.has(`${data ? "data." : ""}${m[1]}.${m[2]}`)) problems.push(`${label}: \${${ref}} names ${data ? "a data source" : "a resource"} this stack does not declare`);
    }
    outputs.set(name, { value: body.value, sensitive: body.sensitive === true, ...(typeof body.description === "string" ? { description: body.description } : {}) });
  }
  return outputs;
}

/** One reference's value from state, or undefined when state does not know it. */
function recorded(ref: string, state: State | null): unknown {
  const m = RESOURCE_REFERENCE.exec(ref);
  if (!m) return undefined;
  const attrs = state?.resources[`${m[1]}.${m[2]}`]?.attributes;
  return attrs?.[m[3]!] ?? undefined;
}

function resolve(v: unknown, state: State | null): { value: unknown; known: boolean } {
  if (typeof v === "string") {
    const whole = /^\$\{([^{}]*)\}$/.exec(v);
    if (whole) {
      const r = recorded(whole[1]!, state);
      return r === undefined ? { value: null, known: false } : { value: r, known: true };
    }
    let known = true;
    const text = v.replace(REFERENCE, (_m, ref: string) => {
      const r = recorded(ref, state);
      if (r === undefined) known = false;
      return typeof r === "string" ? r : JSON.stringify(r ?? null);
    });
    return known ? { value: text, known } : { value: null, known };
  }
  if (Array.isArray(v)) {
    const parts = v.map((x) => resolve(x, state));
    return parts.every((p) => p.known) ? { value: parts.map((p) => p.value), known: true } : { value: null, known: false };
  }
  if (isObject(v)) {
    const parts = Object.entries(v).map(([k, x]) => [k, resolve(x, state)] as const);
    return parts.every(([, p]) => p.known) ? { value: Object.fromEntries(parts.map(([k, p]) => [k, p.value])), known: true } : { value: null, known: false };
  }
  return { value: v, known: true };
}

export function outputValues(outputs: ReadonlyMap<string, OutputSpec>, state: State | null): OutputValue[] {
  return [...outputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, o]) => ({ name, ...resolve(o.value, state), sensitive: o.sensitive, ...(o.description ? { description: o.description } : {}) }));
}

/** Terraform's text: `name = value`, sensitive ones hidden unless asked for by name. */
export function renderOutputs(values: readonly OutputValue[], o: { reveal?: boolean } = {}): string {
  return values.map((v) => `${v.name} = ${!v.known ? "(known after apply)" : v.sensitive && !o.reveal ? "<sensitive>" : JSON.stringify(v.value, null, 2)}`).join("\n") + (values.length ? "\n" : "");
}

/** `output -json`: Terraform's shape, with `known`. */
export function outputsJson(values: readonly OutputValue[]): string {
  return JSON.stringify(Object.fromEntries(values.map((v) => [v.name, { value: v.value, known: v.known, sensitive: v.sensitive, ...(v.description ? { description: v.description } : {}) }])), null, 2);
}
