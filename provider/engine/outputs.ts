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
import { isUnknown, type DesiredResource } from "../model/desired.js";

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
 * What the loader says of one reference inside an output: null when it names an attribute
 * of a resource or data source the stack declares, else the problem.
 */
export type ReferenceCheck = (target: string, attribute: string) => string | null;

/**
 * The `output` block, checked: each output an object with a value, `sensitive` a boolean,
 * every reference one to an attribute (or `id`) of a resource or data source the stack
 * declares, as `check` says (target: `backplane_x.name` or `data.backplane_x.name`).
 */
export function outputsOf(block: unknown, check: ReferenceCheck, problems: string[]): Map<string, OutputSpec> {
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
      const problem = m ? check(`${data ? "data." : ""}${m[1]}.${m[2]}`, m[3]!) : null;
      if (!m) problems.push(`${label}: \${${ref}} is not a reference to an attribute of a backplane resource`);
      else if (problem) problems.push(`${label}: \${${ref}} ${problem}`);
    }
    outputs.set(name, { value: body.value, sensitive: body.sensitive === true, ...(typeof body.description === "string" ? { description: body.description } : {}) });
  }
  return outputs;
}

/**
 * One reference's value, as deployed: what state recorded after apply (`id` is the object's
 * name the record holds; only the record's own keys count). Before the resource was ever
 * applied, a literal the code sets (not computed, not itself a reference) is known already;
 * undefined when neither knows it. Code changed since the apply does not show until applied.
 */
function recorded(ref: string, state: State | null, declared: ReadonlyMap<string, DesiredResource>): unknown {
  const m = RESOURCE_REFERENCE.exec(ref);
  if (!m) return undefined;
  const [address, attr] = [`${m[1]}.${m[2]}`, m[3]!];
  const record = state?.resources[address];
  if (record) {
    if (attr === "id") return record.id;
    return Object.hasOwn(record.attributes, attr) ? record.attributes[attr] ?? undefined : undefined;
  }
  const config = declared.get(address)?.config;
  if (config && Object.hasOwn(config, attr) && !isUnknown(config[attr]) && !(typeof config[attr] === "string" && (config[attr] as string).includes("${"))) return config[attr];
  return undefined;
}

type Lookup = (ref: string) => unknown;

function resolve(v: unknown, lookup: Lookup): { value: unknown; known: boolean } {
  if (typeof v === "string") {
    const whole = /^\$\{([^{}]*)\}$/.exec(v);
    if (whole) {
      const r = lookup(whole[1]!);
      return r === undefined ? { value: null, known: false } : { value: r, known: true };
    }
    let known = true;
    const text = v.replace(REFERENCE, (_m, ref: string) => {
      const r = lookup(ref);
      if (r === undefined) known = false;
      return typeof r === "string" ? r : JSON.stringify(r ?? null);
    });
    return known ? { value: text, known } : { value: null, known };
  }
  if (Array.isArray(v)) {
    const parts = v.map((x) => resolve(x, lookup));
    return parts.every((p) => p.known) ? { value: parts.map((p) => p.value), known: true } : { value: null, known: false };
  }
  if (isObject(v)) {
    const parts = Object.entries(v).map(([k, x]) => [k, resolve(x, lookup)] as const);
    return parts.every(([, p]) => p.known) ? { value: Object.fromEntries(parts.map(([k, p]) => [k, p.value])), known: true } : { value: null, known: false };
  }
  return { value: v, known: true };
}

/** The outputs' values from state, with the declared resources for the literals the code set. */
export function outputValues(outputs: ReadonlyMap<string, OutputSpec>, state: State | null, declared: ReadonlyMap<string, DesiredResource> = new Map()): OutputValue[] {
  const lookup: Lookup = (ref) => recorded(ref, state, declared);
  return [...outputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, o]) => ({ name, ...resolve(o.value, lookup), sensitive: o.sensitive, ...(o.description ? { description: o.description } : {}) }));
}

/** Terraform's text: `name = value`, sensitive ones hidden unless asked for by name. */
export function renderOutputs(values: readonly OutputValue[], o: { reveal?: boolean } = {}): string {
  return values.map((v) => `${v.name} = ${!v.known ? "(known after apply)" : v.sensitive && !o.reveal ? "<sensitive>" : JSON.stringify(v.value, null, 2)}`).join("\n") + (values.length ? "\n" : "");
}

/** `output -json`: Terraform's shape, with `known`. */
export function outputsJson(values: readonly OutputValue[]): string {
  return JSON.stringify(Object.fromEntries(values.map((v) => [v.name, { value: v.value, known: v.known, sensitive: v.sensitive, ...(v.description ? { description: v.description } : {}) }])), null, 2);
}
