/**
 * The provider schema in the format `terraform providers schema -json` prints, derived from
 * the kind registry. @cdktf/provider-generator turns it into the L1 construct classes.
 */
import type { AttrSpec, KindSpec } from "./attr.js";
import { DATA_KINDS, PROVIDER_SOURCE, RESOURCE_KINDS, providerConfig } from "./index.js";

interface TfAttribute {
  type: unknown;
  description: string;
  description_kind: "plain";
  required?: true;
  optional?: true;
  computed?: true;
  sensitive?: true;
}

function attribute(a: AttrSpec): TfAttribute {
  const out: TfAttribute = { type: a.tf, description: a.description, description_kind: "plain" };
  if (a.computed) out.computed = true;
  else if (a.required) out.required = true;
  else out.optional = true;
  if (a.sensitive) out.sensitive = true;
  return out;
}

function block(kind: KindSpec) {
  const attributes: Record<string, TfAttribute> = {};
  for (const [name, a] of Object.entries(kind.attributes)) attributes[name] = attribute(a);
  // Terraform resources carry an `id`; cdktf expects it in the schema.
  if (kind.kind !== "provider" && !("id" in attributes)) {
    attributes.id = { type: "string", description: "Identifier backplane assigns (host:kind:name).", description_kind: "plain", optional: true, computed: true } as TfAttribute;
  }
  return { version: 0, block: { attributes, description: kind.description, description_kind: "plain" } };
}

export function providerSchemaJson() {
  return {
    format_version: "1.0",
    provider_schemas: {
      [PROVIDER_SOURCE]: {
        provider: block(providerConfig),
        resource_schemas: Object.fromEntries(RESOURCE_KINDS.map((k) => [k.type, block(k)])),
        data_source_schemas: Object.fromEntries(DATA_KINDS.map((k) => [k.type, block(k)])),
      },
    },
  };
}
