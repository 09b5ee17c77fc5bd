import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { resourcesMarkdown } from "../../provider/schema/docs.js";
import { providerSchemaJson } from "../../provider/schema/provider-schema.js";
import { RESOURCE_KINDS } from "../../provider/schema/index.js";

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
