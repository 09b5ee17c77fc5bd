/**
 * Prints the cross-layer imports of a tree, counted by (from layer -> to layer), the rule
 * violations and the cycles: `npx tsx test/layers/report.ts [root]`.
 */
import { importGraph } from "./import-graph.js";
import { crossLayerEdges, cycles, layerOf, violations } from "./rules.js";

const root = process.argv[2] ?? ".";
const graph = importGraph(root, ["provider", "state"]);
const counts = new Map<string, number>();
for (const e of crossLayerEdges(graph)) {
  const k = `${layerOf(e.from)} -> ${layerOf(e.to) ?? e.to}`;
  counts.set(k, (counts.get(k) ?? 0) + 1);
}
console.log(`cross-layer imports: ${crossLayerEdges(graph).length}`);
for (const [k, n] of [...counts].sort()) console.log(`  ${String(n).padStart(3)}  ${k}`);
const vs = violations(graph);
console.log(`violations: ${vs.length}`);
for (const v of vs) console.log(`  ${v.edge.from} -> ${v.edge.to}${v.edge.typeOnly ? " (type)" : ""}: ${v.rule}`);
const cs = cycles(graph);
console.log(`cycles: ${cs.length}`);
for (const c of cs) console.log(`  ${c.join(" <-> ")}`);
