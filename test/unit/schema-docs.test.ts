import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { resourcesMarkdown, typescriptName } from "../../provider/schema/docs.js";
import { providerSchemaJson } from "../../provider/schema/provider-schema.js";
import { DATA_KINDS, RESOURCE_KINDS, providerConfig } from "../../provider/schema/index.js";
import type { KindSpec } from "../../provider/schema/attr.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("the schemas are the single source of truth", () => {
  it("docs/resources.md is what the schemas generate", () => {
    expect(readFileSync(join(root, "docs", "resources.md"), "utf8")).toBe(resourcesMarkdown());
  });
  it("the provider schema has every kind, computed attributes marked computed", () => {
    const s = providerSchemaJson().provider_schemas["registry.terraform.io/backplane/backplane"]!;
    expect(Object.keys(s.resource_schemas).sort()).toEqual(RESOURCE_KINDS.map((k) => k.type).sort());
    expect(s.resource_schemas.backplane_wireguard_interface!.block.attributes.public_key).toMatchObject({ computed: true });
    expect(s.resource_schemas.backplane_dataset!.block.attributes.guid).toMatchObject({ computed: true });
    expect(s.resource_schemas.backplane_dataset!.block.attributes.name).toMatchObject({ required: true });
  });
});

/** constructs/gen/<folder>/index.ts of a kind, as @cdktf/provider-generator names it. */
function bindingFile(k: KindSpec): string {
  const folder = k.kind === "provider" ? "provider" : k.kind === "data" ? `data-${k.type.replace(/_/g, "-")}` : k.type.replace(/^backplane_/, "").replace(/_/g, "-");
  return join(root, "constructs", "gen", folder, "index.ts");
}

/**
 * The props of the binding's `export interface XConfig { ... }`, each with the Terraform name
 * its doc comment links to (`{@link ...#snapshot_prefix SnapshotPolicy#snapshot_prefix}`).
 */
function configProps(source: string): Map<string, string> {
  const body = /export interface \w+Config\b[^{]*\{([\s\S]*?)\n\}/.exec(source)?.[1];
  if (!body) throw new Error("no export interface XConfig");
  const out = new Map<string, string>(); // terraform name -> TypeScript prop
  const prop = /\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\??:/g;
  for (let m = prop.exec(body); m; m = prop.exec(body)) {
    const tf = /#(\w+) \w+#\1\}/.exec(m[1]!)?.[1];
    if (!tf) throw new Error(`prop ${m[2]} links to no Terraform attribute`);
    out.set(tf, m[2]!);
  }
  // every prop was read (none without a doc comment)
  expect(out.size).toBe([...body.matchAll(/^\s*readonly \w+\??:/gm)].length);
  return out;
}

/** The class's attribute accessors, computed ones included: `// public_key - computed: ...` then `public get publicKey()`. */
function classAttributes(source: string): Map<string, string> {
  const out = new Map<string, string>();
  const attr = /\/\/ (\w+) - computed: (?:true|false), optional: (?:true|false), required: (?:true|false)\n(?:[^\n]*\n)*?\s*public get (\w+)\(\)/g;
  for (let m = attr.exec(source); m; m = attr.exec(source)) out.set(m[1]!, m[2]!);
  return out;
}

const ALL_KINDS: readonly KindSpec[] = [providerConfig, ...RESOURCE_KINDS, ...DATA_KINDS];

describe("docs/resources.md's TypeScript names are the generated bindings' props", () => {
  it.each(ALL_KINDS.map((k) => [k.type, k] as const))("%s", (_type, k) => {
    const source = readFileSync(bindingFile(k), "utf8");
    const config = configProps(source);
    const accessors = classAttributes(source);
    const settable = Object.entries(k.attributes).filter(([, a]) => !a.computed);
    // the config interface holds exactly the kind's settable attributes, by the name docs/resources.md gives
    const expected = new Map(settable.map(([name]) => [name, typescriptName(name)]));
    // ...and what cdktf adds: a provider's alias, a resource's id
    if (k.kind === "provider") expected.set("alias", "alias");
    else expected.set("id", "id");
    expect(Object.fromEntries(config)).toEqual(Object.fromEntries(expected));
    // every attribute, computed ones included, is the class's property of that name
    for (const name of Object.keys(k.attributes)) expect(accessors.get(name), `${k.type}.${name}`).toBe(typescriptName(name));
    // and the table in docs/resources.md says so
    const md = readFileSync(join(root, "docs", "resources.md"), "utf8");
    for (const name of Object.keys(k.attributes)) expect(md).toContain(`| \`${name}\` | \`${typescriptName(name)}\` |`);
  });

  it("typescriptName is @cdktf/provider-generator's own rule (codemaker's toCamelCase, escapeAttributeName)", () => {
    // the generator's functions, from where it resolves them: our rule must not drift from theirs
    const req = createRequire(createRequire(import.meta.url).resolve("@cdktf/provider-generator"));
    const { toCamelCase } = req("codemaker") as { toCamelCase: (s: string) => string };
    const { escapeAttributeName } = req("./get/generator/models/attribute-model.js") as { escapeAttributeName: (s: string) => string };
    const generator = (name: string) => escapeAttributeName(toCamelCase(name));
    const names = [
      ...ALL_KINDS.flatMap((k) => Object.keys(k.attributes)),
      // digits: a letter after digits is upper case, a digit after `_` stays
      "max_p99_ms", "ipv6addr", "ipv6_addr", "v4", "a1b2c3", "raidz2_vdevs", "x_1", "x1_y", "tcp_2nd_try", "port_8080",
      // separators at the edges and doubled
      "a__b", "a_", "x",
      // names jsii's languages cannot take
      "self", "build", "node", "system", "software", "equals", "get_info", "getter", "tf_resource_type", "import_from", "move_to",
    ];
    for (const name of names) expect(typescriptName(name), name).toBe(generator(name));
    expect(typescriptName("snapshot_prefix")).toBe("snapshotPrefix");
    expect(typescriptName("max_p99_ms")).toBe("maxP99Ms");
  });
});
