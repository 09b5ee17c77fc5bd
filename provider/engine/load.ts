/**
 * Loads a synthesized cdk.tf.json (cdktf or CDK Terrain output) into a typed, validated
 * desired graph. Pure: takes the parsed JSON, returns a graph or throws LoadError with
 * every problem found (not just the first), each naming the resource address and the
 * construct path.
 *
 * Supported: provider "backplane" (one alias per host), resources and data sources of the
 * backplane kinds, `depends_on`, `lifecycle.prevent_destroy`, and references that are a
 * whole value: "${backplane_kind.name.attribute}". Everything else (other providers,
 * count/for_each, modules, variables, functions, string interpolation) is refused.
 */
import { outputsOf, type OutputSpec } from "./outputs.js";
import { pskPairs, type PskPair } from "../resources/wireguard-psk.js";
import { dataKind, providerConfig, resourceKind, PROVIDER_NAME } from "../schema/index.js";
import type { KindSpec } from "../schema/attr.js";
import { validateBlock } from "../schema/validate.js";
import { aliasProblem } from "../schema/kinds/host.js";
import { echo, safeMessage } from "../model/echo.js";
import { isUnknown, type BackendConfig, type DesiredResource, type HostConfig, type Unknown } from "../model/desired.js";

export interface DesiredGraph {
  hosts: Map<string, HostConfig>;
  resources: Map<string, DesiredResource>;
  /** addresses in an order where every dependency comes first */
  order: string[];
  backend: BackendConfig | null;
  /** WireGuard peers paired for a preshared key (read from the references, once) */
  pskPairs: PskPair[];
  /** the stack's outputs (TerraformOutput), checked; absent: none */
  outputs?: Map<string, OutputSpec>;
}

export class LoadError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // the safety net: whatever a message quotes, it stays short and cannot rewrite the terminal
    problems = problems.map((p) => safeMessage(p));
    super(`cdk.tf.json has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "LoadError";
    this.problems = problems;
  }
}

export class CycleError extends LoadError {
  constructor(readonly cycle: string[]) {
    super([`dependency cycle: ${cycle.join(" -> ")}`]);
    this.name = "CycleError";
  }
}

const TOP_LEVEL_OK = new Set(["//", "provider", "resource", "data", "terraform", "output"]);
const META_KEYS = new Set(["//", "provider", "depends_on", "lifecycle"]);
const REFUSED_META: Record<string, string> = {
  count: "count is not supported: declare each object explicitly (constructs make that a loop in TypeScript)",
  for_each: "for_each is not supported: declare each object explicitly (constructs make that a loop in TypeScript)",
  provisioner: "provisioners are not supported",
  connection: "connection blocks are not supported: hosts are provider aliases",
};
const REF = /^\$\{(data\.)?(backplane_[a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hostFrom(entry: Json): HostConfig {
  return {
    alias: String(entry.alias),
    address: String(entry.address),
    port: (entry.port as number | undefined) ?? 22,
    user: (entry.user as string | undefined) ?? "root",
    identityFile: entry.identity_file as string | undefined,
    hostKey: entry.host_key as string | undefined,
    knownHostsFile: entry.known_hosts_file as string | undefined,
    sshConfigFile: entry.ssh_config_file as string | undefined,
    commandPrefix: (entry.command_prefix as string[] | undefined) ?? [],
    connectTimeout: (entry.connect_timeout as number | undefined) ?? 15,
    commandTimeout: (entry.command_timeout as number | undefined) ?? 600,
  };
}

function where(address: string, path: string): string {
  return path ? `${address} (${echo(path, 200)})` : address;
}

/** Terraform's identifier rule for resource names: they become addresses in every message. */
const RESOURCE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;

/** Every problem found on the way, each naming the resource and its construct path. */
type Problems = string[];

export function loadStack(doc: unknown): DesiredGraph {
  if (!isObject(doc)) throw new LoadError(["cdk.tf.json is not a JSON object"]);
  const problems: Problems = [];
  refuseTopLevel(doc, problems);
  const hosts = hostsOf(doc, problems);
  const resources = new Map<string, DesiredResource>();
  collectBlocks(resources, "resource", doc.resource, hosts, problems);
  collectBlocks(resources, "data", doc.data, hosts, problems);
  const refEdges = resolveReferences(resources, problems);
  const outputs = outputsOf(doc.output, (target, attr) => {
    const t = resources.get(target);
    if (!t) return `names ${target.startsWith("data.") ? "a data source" : "a resource"} this stack does not declare`;
    const kind = t.mode === "resource" ? resourceKind(t.type) : dataKind(t.type);
    return attr === "id" || (kind && Object.hasOwn(kind.attributes, attr)) ? null : `names an attribute ${t.type} does not have`;
  }, problems);
  validateResources(resources, hosts, problems);
  // Preshared keys need both ends of the pair in this stack.
  const psk = pskPairs(resources);
  for (const p of psk.problems) {
    const r = resources.get(p.address)!;
    problems.push(`${where(r.address, r.path)}: ${p.message}`);
  }
  if (problems.length > 0) throw new LoadError(problems);

  // A reference is a dependency too: dependsOn holds both from here on.
  for (const r of resources.values()) r.dependsOn = [...new Set([...r.dependsOn, ...(refEdges.get(r.address) ?? [])])];
  // Dependency order (Kahn), with the cycle reported when there is one.
  const order = topologicalOrder(new Map([...resources.values()].map((r) => [r.address, new Set(r.dependsOn)])));
  return { hosts, resources, order, backend: backendFrom(doc.terraform), pskPairs: psk.pairs, ...(outputs.size ? { outputs } : {}) };
}

function refuseTopLevel(doc: Json, problems: Problems): void {
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_OK.has(key)) {
      problems.push(key === "module" ? "modules are not supported" : key === "variable" ? "variables are not supported: values come from TypeScript" : `top-level block '${echo(key, 64)}' is not supported`);
    }
  }
}

/** Hosts = aliases of the backplane provider. */
function hostsOf(doc: Json, problems: Problems): Map<string, HostConfig> {
  const hosts = new Map<string, HostConfig>();
  const providers = isObject(doc.provider) ? doc.provider : {};
  for (const [name, entries] of Object.entries(providers)) {
    if (name !== PROVIDER_NAME) {
      problems.push(`provider '${echo(name, 64)}' is not supported: backplane manages only its own resources and runs no Terraform`);
      continue;
    }
    for (const entry of Array.isArray(entries) ? entries : [entries]) {
      if (!isObject(entry)) {
        problems.push("provider backplane: every entry must be an object (one per host)");
        continue;
      }
      const alias = entry.alias;
      const label = `provider backplane${typeof alias === "string" ? `.${echo(alias, 64)}` : ""}`;
      if (typeof alias !== "string" || alias === "") {
        problems.push(`${label}: every host needs an alias (use the Host construct)`);
        continue;
      }
      // the alias names files and a known_hosts entry: checked before anything uses it
      const bad = aliasProblem(alias);
      if (bad) {
        problems.push(`${label}: alias: ${bad}`);
        continue;
      }
      if (hosts.has(alias)) problems.push(`${label}: alias '${alias}' is declared twice`);
      // host keys are filed under the alias in lower case (as ssh writes them): Prod and prod would share one
      else {
        const twin = [...hosts.keys()].find((h) => h.toLowerCase() === alias.toLowerCase());
        if (twin) problems.push(`${label}: alias '${alias}' differs from '${twin}' only in case (their host keys would be filed under one name)`);
      }
      const { alias: _a, ...rest } = entry;
      const found = validateBlock(providerConfig, rest, () => false);
      for (const p of found) problems.push(`${label}.${p.path}: ${p.message}`);
      if (found.length === 0) hosts.set(alias, hostFrom({ ...providerConfig.canonical!(rest), alias }));
      else hosts.set(alias, hostFrom(entry));
    }
  }
  return hosts;
}

/** The resources (or data sources) of one top-level block, with their meta-arguments read. */
function collectBlocks(into: Map<string, DesiredResource>, mode: "resource" | "data", block: unknown, hosts: ReadonlyMap<string, HostConfig>, problems: Problems): void {
  if (block === undefined) return;
  if (!isObject(block)) {
    problems.push(`'${mode}' must be an object`);
    return;
  }
  for (const [type, byName] of Object.entries(block)) {
    const kind: KindSpec | undefined = mode === "resource" ? resourceKind(type) : dataKind(type);
    if (!kind) {
      problems.push(`${mode === "data" ? "data." : ""}${echo(type, 64)}: unknown ${mode === "data" ? "data source" : "resource"} type (backplane knows ${mode === "resource" ? "backplane_pool, backplane_dataset, backplane_snapshot, backplane_clone, backplane_wireguard_interface, backplane_wireguard_peer, backplane_replication, backplane_probe" : "backplane_host"})`);
      continue;
    }
    if (!isObject(byName)) continue;
    for (const [name, body] of Object.entries(byName)) {
      if (!RESOURCE_NAME.test(name)) {
        problems.push(`${type}.${echo(name, 64)}: a resource name is a letter or '_' followed by letters, digits, '_' and '-' (at most 255)`);
        continue;
      }
      const address = `${mode === "data" ? "data." : ""}${type}.${name}`;
      if (!isObject(body)) problems.push(`${address}: must be an object`);
      else into.set(address, blockOf(address, type, mode, body, hosts, problems));
    }
  }
}

function blockOf(address: string, type: string, mode: "resource" | "data", body: Json, hosts: ReadonlyMap<string, HostConfig>, problems: Problems): DesiredResource {
  const meta = isObject(body["//"]) && isObject((body["//"] as Json).metadata) ? ((body["//"] as Json).metadata as Json) : {};
  const path = typeof meta.path === "string" ? meta.path : "";
  const at = where(address, path);
  const config: Json = {};
  for (const [k, v] of Object.entries(body)) {
    if (REFUSED_META[k]) problems.push(`${at}: ${REFUSED_META[k]}`);
    else if (!META_KEYS.has(k)) config[k] = v;
  }
  let host = "";
  const provider = body.provider;
  if (typeof provider !== "string" || !provider.startsWith(`${PROVIDER_NAME}.`)) {
    problems.push(`${at}: needs provider = "backplane.<host alias>" (which host it lives on)`);
  } else {
    host = provider.slice(PROVIDER_NAME.length + 1);
    if (!hosts.has(host)) problems.push(`${at}: provider backplane.${host} is not declared`);
  }
  const dependsOn: string[] = [];
  if (body.depends_on !== undefined) {
    if (!Array.isArray(body.depends_on) || body.depends_on.some((d) => typeof d !== "string")) {
      problems.push(`${at}: depends_on must be a list of resource addresses`);
    } else dependsOn.push(...(body.depends_on as string[]));
  }
  let preventDestroy = false;
  if (body.lifecycle !== undefined) {
    const lc = body.lifecycle;
    if (!isObject(lc)) problems.push(`${at}: lifecycle must be an object`);
    else {
      for (const k of Object.keys(lc)) {
        if (k !== "prevent_destroy") problems.push(`${at}: lifecycle.${k} is not supported (only prevent_destroy)`);
      }
      preventDestroy = lc.prevent_destroy === true;
    }
  }
  return { address, type, mode, path, host, config, dependsOn, preventDestroy };
}

/**
 * References: whole-value ${type.name.attr}. Literal targets are substituted, computed ones
 * stay Unknown. Returns, per resource, the resources it refers to (they become dependencies).
 */
function resolveReferences(resources: ReadonlyMap<string, DesiredResource>, problems: Problems): Map<string, Set<string>> {
  const refEdges = new Map<string, Set<string>>();
  const resolve = (r: DesiredResource, value: unknown, at: string): unknown => {
    if (typeof value === "string") {
      if (!value.includes("${")) return value;
      const m = REF.exec(value);
      if (!m) {
        problems.push(`${where(r.address, r.path)}: ${at}: '${echo(value)}' is an expression backplane does not evaluate (only whole-value references like \${backplane_dataset.name.attribute})`);
        return value;
      }
      const [, dataPrefix, type, name, attr] = m as unknown as [string, string | undefined, string, string, string];
      const target = `${dataPrefix ? "data." : ""}${type}.${name}`;
      const t = resources.get(target);
      if (!t) {
        problems.push(`${where(r.address, r.path)}: ${at} refers to ${target}, which is not declared`);
        return value;
      }
      const kind = t.mode === "resource" ? resourceKind(t.type)! : dataKind(t.type)!;
      const spec = kind.attributes[attr];
      if (!spec && attr !== "id") {
        problems.push(`${where(r.address, r.path)}: ${at} refers to ${target}.${attr}, which ${t.type} does not have`);
        return value;
      }
      if (!refEdges.has(r.address)) refEdges.set(r.address, new Set());
      refEdges.get(r.address)!.add(target);
      const literal = t.config[attr];
      if (spec && !spec.computed && literal !== undefined && !(typeof literal === "string" && literal.includes("${"))) return literal;
      return { unknown: `${target}.${attr}` } satisfies Unknown;
    }
    if (Array.isArray(value)) return value.map((v, i) => resolve(r, v, `${at}[${i}]`));
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(r, v, `${at}.${k}`)]));
    return value;
  };
  for (const r of resources.values()) {
    r.config = Object.fromEntries(Object.entries(r.config).map(([k, v]) => [k, resolve(r, v, k)]));
  }
  return refEdges;
}

/** Every block against its kind's schema, once literal references are substituted. */
function validateResources(resources: ReadonlyMap<string, DesiredResource>, hosts: ReadonlyMap<string, HostConfig>, problems: Problems): void {
  for (const r of resources.values()) {
    const kind = r.mode === "resource" ? resourceKind(r.type)! : dataKind(r.type)!;
    const found = validateBlock(kind, r.config, isUnknown);
    for (const p of found) {
      problems.push(`${where(r.address, r.path)}: ${p.path ? `${p.path}: ` : ""}${p.message}`);
    }
    // one form from here on: short property names resolved, addresses as the host prints them
    if (found.length === 0 && kind.canonical) r.config = kind.canonical(r.config);
    for (const d of r.dependsOn) {
      if (!resources.has(d)) problems.push(`${where(r.address, r.path)}: depends_on names ${echo(d)}, which is not declared`);
    }
    if (r.type === "backplane_replication" && typeof r.config.target_host === "string" && !hosts.has(r.config.target_host)) {
      problems.push(`${where(r.address, r.path)}: target_host '${echo(r.config.target_host)}' is not a declared host`);
    }
  }
}

/** Every node after its dependencies; ties broken by `compare` (default: by name) so the order is stable. */
export function topologicalOrder(deps: Map<string, Set<string>>, compare?: (a: string, b: string) => number): string[] {
  const remaining = new Map([...deps].map(([k, v]) => [k, new Set(v)]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, d]) => [...d].every((x) => !remaining.has(x))).map(([k]) => k).sort(compare);
    if (ready.length === 0) throw new CycleError(findCycle(remaining));
    for (const k of ready) {
      order.push(k);
      remaining.delete(k);
    }
  }
  return order;
}

function findCycle(deps: Map<string, Set<string>>): string[] {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, "visiting");
    stack.push(n);
    for (const d of [...(deps.get(n) ?? [])].sort()) {
      if (!deps.has(d)) continue;
      if (state.get(d) === "visiting") return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of [...deps.keys()].sort()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return [...deps.keys()];
}

function backendFrom(terraform: unknown): BackendConfig | null {
  if (!isObject(terraform) || !isObject(terraform.backend)) return null;
  const b = terraform.backend;
  if (isObject(b.local)) return { type: "local", path: b.local.path as string | undefined };
  if (isObject(b.pg)) return { type: "pg", connStr: b.pg.conn_str as string | undefined, schemaName: b.pg.schema_name as string | undefined };
  const name = Object.keys(b)[0];
  throw new LoadError([`terraform.backend.${name} is not supported (use LocalBackend or PgBackend)`]);
}
