import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importGraph, importsOf, projectRoot } from "../layers/import-graph.js";
import { cycles, layerOf, violations, type ImportEdge } from "../layers/rules.js";

const root = projectRoot;
const graph = importGraph(root, ["provider", "state"]);
const show = (vs: { edge: ImportEdge; rule: string }[]) => vs.map((v) => `${v.edge.from} -> ${v.edge.to}: ${v.rule}`);

/** The imports `file` would have with `line` added at its top. */
function withLine(file: string, line: string): ImportEdge[] {
  return importsOf(root, file, `${line}\n${readFileSync(join(root, file), "utf8")}`);
}

describe("the layers of provider/ and state/ hold", () => {
  it("reads a graph of the whole tree (every layer present, imports resolved to files)", () => {
    const layers = new Set(graph.map((e) => layerOf(e.from)));
    for (const l of ["model", "zfs", "wg", "schema", "resources", "transport", "state", "engine", "cli"]) expect(layers).toContain(l);
    expect(graph.filter((e) => e.to.startsWith("provider/") || e.to.startsWith("state/")).every((e) => e.to.endsWith(".ts"))).toBe(true);
  });

  it("no import breaks the layering", () => {
    expect(show(violations(graph))).toEqual([]);
  });

  it("no import cycles outside constructs/", () => {
    expect(cycles([...graph, ...importGraph(root, ["test", "bench", "bin", "examples"])])).toEqual([]);
  });

  it("constructs/ has no cycle at runtime (Host's factories and the type-only back references to Host)", () => {
    const constructs = importGraph(root, ["constructs"]);
    expect(cycles(constructs.filter((e) => !e.typeOnly))).toEqual([]);
  });
});

describe("the layering check catches what breaks it", () => {
  const cases: [what: string, file: string, line: string, rule: RegExp][] = [
    ["a resource importing the engine", "provider/resources/snapshot.ts", `import { makePlan } from "../engine/plan.js";`, /resources may not import engine/],
    ["a resource importing an engine type only", "provider/resources/pool.ts", `import type { DesiredGraph } from "../engine/load.js";`, /resources may not import engine/],
    ["a resource importing the state backend", "provider/resources/dataset.ts", `import type { StateBackend } from "../../state/backend.js";`, /resources may not import state/],
    ["a resource importing the transport", "provider/resources/wireguard.ts", `import type { Transport } from "../transport/transport.js";`, /resources may not import transport/],
    ["the transport importing the engine", "provider/transport/ssh.ts", `import type { DesiredGraph } from "../engine/load.js";`, /transport may not import engine/],
    ["the engine constructing the ssh transport", "provider/engine/project.ts", `import { SshTransport } from "../transport/ssh.js";`, /through its interfaces only/],
    ["the engine constructing the local state backend", "provider/engine/apply.ts", `import { LocalStateBackend } from "../../state/local.js";`, /through its interfaces only/],
    ["a state backend importing the engine", "state/local.ts", `import type { Plan } from "../provider/engine/load.js";`, /state may not import engine/],
    ["the model importing the domain", "provider/model/live.ts", `import type { Fact } from "../zfs/facts.js";`, /model may not import zfs/],
    ["the wg domain importing the zfs domain", "provider/wg/facts.ts", `import { ParseError } from "../zfs/facts.js";`, /wg may not import zfs/],
    ["a dynamic import of the engine from a resource", "provider/resources/kind.ts", `const m = await import("../engine/plan.js");`, /resources may not import engine/],
    ["a pure module running processes", "provider/zfs/names.ts", `import { execa } from "execa";`, /zfs is pure/],
    ["a pure module reading files", "provider/resources/pool.ts", `import { readFileSync } from "node:fs";`, /resources is pure/],
    ["a layer importing the tests", "provider/engine/plan.ts", `import { seed } from "../../test/unit/helpers/seed.js";`, /outside provider\/ and state\//],
    ["a dynamic import of the engine spelled as a template", "provider/resources/dataset.ts", "const m = await import(`../engine/plan.js`);", /resources may not import engine/],
    ["an import whose target is computed", "provider/resources/dataset.ts", `const m = await import(["..", "engine", "plan.js"].join("/"));`, /computed/],
    ["a pure module resolving names on the network", "provider/wg/net.ts", `import { lookup } from "node:dns";`, /wg is pure/],
    ["a pure module loading code by path", "provider/zfs/properties.ts", `import { createRequire } from "node:module";`, /zfs is pure/],
    ["the engine opening a database itself", "provider/engine/apply.ts", `import pg from "pg";`, /the engine may not import pg/],
    ["an interface file re-exporting a concrete transport", "provider/transport/handover.ts", `export { SshTransport } from "./ssh.js";`, /may not import the concrete provider\/transport\/ssh.ts/],
  ];
  it.each(cases)("%s", (_what, file, line, rule) => {
    const found = violations(withLine(file, line)).map((v) => v.rule);
    expect(found.some((r) => rule.test(r)), `violations found: ${JSON.stringify(found)}`).toBe(true);
  });

  it("sees a value import of Host in a construct as a runtime cycle (type-only imports are told apart)", () => {
    const constructs = importGraph(root, ["constructs"]).filter((e) => e.from !== "constructs/dataset.ts");
    const edges = [...constructs, ...withLine("constructs/dataset.ts", `import { Host as H } from "./host.js";`)].filter((e) => !e.typeOnly);
    expect(cycles(edges)).toContainEqual(["constructs/dataset.ts", "constructs/host.ts"]);
  });

  it("holds a file of provider/ that belongs to no layer to account", () => {
    const edges = importsOf(root, "provider/util.ts", `import { makePlan } from "./engine/plan.js";`);
    expect(violations(edges).map((v) => v.rule)).toEqual([expect.stringMatching(/belongs to no layer/)]);
  });

  it("finds a cycle made of two files importing each other", () => {
    const edges = [...graph, ...withLine("provider/zfs/properties.ts", `import { zfsVersion } from "./facts.js";`)];
    expect(cycles(edges)).toContainEqual(["provider/zfs/facts.ts", "provider/zfs/properties.ts"]);
  });
});
