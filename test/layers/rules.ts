/**
 * The layering of provider/ and state/ (docs/architecture.md), as data, and the pure
 * functions that judge an import graph against it. Reading the graph is import-graph.ts.
 *
 *   model      the ground: imports nothing of ours
 *   zfs, wg, systemd  domain: catalogues, names, parsers, argv builders — the model only
 *   schema     zod schemas built on the domain catalogues
 *   resources  pure per-kind plan/diff/steps — model, domain, schema
 *   transport  runs processes on hosts — the model only
 *   state      state backends — the model only
 *   engine     orchestrates them, through interfaces (never a concrete transport or backend)
 *   cli        the composition root: picks the transport and the state backend
 *   build      the package's build steps (run by npm, imported by nothing above)
 */

export type Layer = "model" | "zfs" | "wg" | "systemd" | "schema" | "resources" | "transport" | "state" | "engine" | "cli" | "build";

/** Longest prefix wins. */
const LAYER_OF: [prefix: string, layer: Layer][] = [
  ["provider/model/", "model"],
  ["provider/zfs/", "zfs"],
  ["provider/wg/", "wg"],
  ["provider/systemd/", "systemd"],
  ["provider/schema/", "schema"],
  ["provider/resources/", "resources"],
  ["provider/transport/", "transport"],
  ["provider/engine/", "engine"],
  ["provider/cli/", "cli"],
  ["provider/build/", "build"],
  ["state/", "state"],
];

const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  model: [],
  zfs: ["model"],
  wg: ["model"],
  systemd: ["model"],
  schema: ["model", "zfs", "wg"],
  resources: ["model", "zfs", "wg", "systemd", "schema"],
  transport: ["model"],
  state: ["model"],
  engine: ["model", "zfs", "wg", "systemd", "schema", "resources"],
  cli: ["model", "zfs", "wg", "systemd", "schema", "resources", "transport", "state", "engine"],
  build: [],
};

/**
 * What the engine may use of the layers it does not own: interfaces, and the hand-over,
 * which works on any Transport through prepare() and chooses no implementation. Concrete
 * transports and backends are the composition root's (provider/cli/compose.ts).
 */
const ENGINE_INTERFACES = new Set(["provider/transport/transport.ts", "provider/transport/handover.ts", "state/backend.ts"]);

/**
 * What the pure layers may import from outside the project: an allowlist, so a new package
 * there is a deliberate decision (hashes and random names, the schema library, addresses).
 */
const PURE_PACKAGES = new Set(["node:crypto", "zod", "ipaddr.js"]);
const PURE: ReadonlySet<Layer> = new Set(["model", "zfs", "wg", "systemd", "schema", "resources"]);
/** Packages that reach hosts or state stores: only the transport, the backends and the CLI use them. */
const CONCRETE_PACKAGES = /^(pg|pg-pool|postgres|ssh2|node-ssh|undici|node:net|net|node:http2|node:dgram|node:module|module)$/;

/** Build scripts run by npm, imported by nobody: held to the rules of programs, not of their layer. */
const PROGRAMS = new Set(["provider/schema/generate.ts", "provider/build/cdktn-entry.ts"]);

export interface ImportEdge {
  from: string;
  /** a project file (relative to the root), a bare package / node: module, or "(computed)" */
  to: string;
  /** import type / export type: erased at runtime, still a dependency of the design */
  typeOnly: boolean;
  /** the specifier was relative (a project file, resolved or not) */
  relative?: boolean;
}

/** An import whose target the reader cannot know (`import(variable)`). */
export const COMPUTED = "(computed)";

export interface Violation {
  edge: ImportEdge;
  rule: string;
}

export function layerOf(file: string): Layer | null {
  let best: [string, Layer] | null = null;
  for (const [prefix, layer] of LAYER_OF) if (file.startsWith(prefix) && (!best || prefix.length > best[0].length)) best = [prefix, layer];
  return best ? best[1] : null;
}

const isProjectFile = (e: ImportEdge) => e.relative === true;
const inChecked = (file: string) => file.startsWith("provider/") || file.startsWith("state/");

export function violations(edges: readonly ImportEdge[]): Violation[] {
  const out: Violation[] = [];
  for (const edge of edges) {
    if (!inChecked(edge.from)) continue;
    const from = layerOf(edge.from);
    if (!from) {
      out.push({ edge, rule: `${edge.from} belongs to no layer: put it in one (docs/architecture.md)` });
      continue;
    }
    if (edge.to === COMPUTED) {
      out.push({ edge, rule: "an import whose target is computed cannot be checked: import a literal path" });
      continue;
    }
    if (!isProjectFile(edge)) {
      if (PURE.has(from) && !PROGRAMS.has(edge.from) && !PURE_PACKAGES.has(edge.to)) out.push({ edge, rule: `${from} is pure: it may not import ${edge.to} (allowed: ${[...PURE_PACKAGES].join(", ")})` });
      else if (from === "engine" && CONCRETE_PACKAGES.test(edge.to)) out.push({ edge, rule: `the engine may not import ${edge.to}: reaching hosts and state stores is the transport's and the backends' job` });
      continue;
    }
    if (PROGRAMS.has(edge.to)) {
      out.push({ edge, rule: `${edge.to} is a program, not a module` });
      continue;
    }
    const to = layerOf(edge.to);
    if (to === null) {
      out.push({ edge, rule: `${from} may not import outside provider/ and state/ (${edge.to})` });
      continue;
    }
    // What the engine may use of transport and state must itself stay an interface.
    if (ENGINE_INTERFACES.has(edge.from) && to === from && !ENGINE_INTERFACES.has(edge.to)) {
      out.push({ edge, rule: `${edge.from} is what the engine may use of ${from}: it may not import the concrete ${edge.to}` });
      continue;
    }
    if (to === from) continue;
    if (from === "engine" && ENGINE_INTERFACES.has(edge.to)) continue;
    if (!MAY_IMPORT[from].includes(to)) {
      out.push({ edge, rule: from === "engine" && (to === "transport" || to === "state") ? `the engine uses ${to} through its interfaces only (${[...ENGINE_INTERFACES].join(", ")}); ${edge.to} is chosen by the CLI (provider/cli/compose.ts)` : `${from} may not import ${to}` });
    }
  }
  return out;
}

/** Imports that cross from one layer into another (the figure the layering issue counts). */
export function crossLayerEdges(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => isProjectFile(e) && layerOf(e.from) !== null && layerOf(e.from) !== layerOf(e.to));
}

/** Strongly connected components with more than one file (Tarjan): the import cycles. */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (isProjectFile(e)) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}
