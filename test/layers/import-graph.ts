/**
 * Reads the import graph of the project's TypeScript files with the TypeScript compiler's
 * own parser: static imports and re-exports (type-only ones too), dynamic `import()` and
 * `import("x").T` type references. Relative specifiers are resolved to files; `.js` in a
 * specifier names the `.ts` source, as the compiler resolves it.
 */
import ts from "typescript";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { COMPUTED, type ImportEdge } from "./rules.js";

function filesUnder(root: string, dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs).sort()) {
    const rel = posix.join(dir, name);
    if (name === "node_modules" || rel === "constructs/gen" || name === "cdktf.out") continue;
    if (statSync(join(root, rel)).isDirectory()) out.push(...filesUnder(root, rel));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

function resolveSpecifier(root: string, from: string, spec: string): string {
  if (!spec.startsWith(".")) return spec;
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  for (const candidate of [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, `${base}/index.ts`]) {
    if (existsSync(join(root, candidate)) && statSync(join(root, candidate)).isFile()) return candidate;
  }
  return base; // unresolved: still reported, the rules then see a path outside every layer
}

export function importsOf(root: string, file: string, text = readFileSync(join(root, file), "utf8")): ImportEdge[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (!spec) return;
    if (ts.isStringLiteral(spec) || ts.isNoSubstitutionTemplateLiteral(spec)) {
      edges.push({ from: file, to: resolveSpecifier(root, file, spec.text), typeOnly, relative: spec.text.startsWith(".") });
    } else edges.push({ from: file, to: COMPUTED, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const allTypes = !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require") {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

/** Every import of every .ts file under `dirs` (relative to `root`), generated code excluded. */
export function importGraph(root: string, dirs: readonly string[]): ImportEdge[] {
  return dirs.flatMap((d) => filesUnder(root, d)).flatMap((f) => importsOf(root, f));
}

export const projectRoot = relative(process.cwd(), join(dirname(fileURLToPath(import.meta.url)), "..", "..")) || ".";
