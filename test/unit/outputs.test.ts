/**
 * `backplane output` / `show`: the seed-dr stack's TerraformOutputs, as synthesized from
 * examples/seed, resolved against a state recorded by a real apply on the lab
 * (test/fixtures/refresh/zfs-2.3-repl.state.json).
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { outputsOf, outputValues, outputsJson, renderOutputs } from "../../provider/engine/outputs.js";
import { loadStack, LoadError } from "../../provider/engine/load.js";
import type { State } from "../../provider/model/state.js";
import { seedDocs } from "./helpers/seed.js";

const recorded = JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "refresh", "zfs-2.3-repl.state.json"), "utf8")) as State;

describe("the stack's outputs", () => {
  it("the loader reads them; public keys come from state after apply, addresses are known at synth", () => {
    const g = loadStack(structuredClone(seedDocs()["seed-dr"]));
    expect([...g.outputs!.keys()].sort()).toEqual(["dr_wg_address", "dr_wg_public_key", "prod_wg_address", "prod_wg_public_key"]);
    const values = outputValues(g.outputs!, recorded);
    expect(values.find((v) => v.name === "dr_wg_public_key")).toEqual({ name: "dr_wg_public_key", value: "E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ=", known: true, sensitive: false, description: "WireGuard public key of wg0 on dr" });
    expect(values.find((v) => v.name === "dr_wg_address")?.value).toBe("10.201.0.176");
    expect(renderOutputs(values)).toContain('dr_wg_public_key = "E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ="\n');
  });

  it("before apply a referenced value is unknown: (known after apply), null and known false in JSON", () => {
    const g = loadStack(structuredClone(seedDocs()["seed-dr"]));
    const values = outputValues(g.outputs!, null);
    expect(renderOutputs(values)).toContain("prod_wg_public_key = (known after apply)\n");
    expect(JSON.parse(outputsJson(values)).prod_wg_public_key).toEqual({ value: null, known: false, sensitive: false, description: "WireGuard public key of wg0 on prod" });
    expect(JSON.parse(outputsJson(values)).prod_wg_address).toEqual({ value: "10.201.0.137", known: true, sensitive: false });
  });

  it("resolves references inside strings, lists and maps; one unknown part makes the whole unknown", () => {
    const declared = (target: string) => (target === "backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4" ? null : "names a resource this stack does not declare");
    const ref = "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.public_key}";
    const problems: string[] = [];
    const outs = outputsOf({
      line: { value: `PublicKey = ${ref}` },
      list: { value: [ref, 3, true] },
      map: { value: { key: ref, port: "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.listen_port}" } },
      missing: { value: "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.no_such}" },
      hidden: { value: ref, sensitive: true },
    }, declared, problems);
    expect(problems).toEqual([]);
    const v = Object.fromEntries(outputValues(outs, recorded).map((x) => [x.name, x]));
    expect(v.line!.value).toBe("PublicKey = E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ=");
    expect(v.list!.value).toEqual(["E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ=", 3, true]);
    expect(v.map!.value).toEqual({ key: "E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ=", port: 51820 });
    expect(v.missing).toMatchObject({ value: null, known: false });
    expect(renderOutputs([v.hidden!])).toBe("hidden = <sensitive>\n");
    expect(renderOutputs([v.hidden!], { reveal: true })).toBe('hidden = "E7DHmHSghXX+URvJ5FIe5hLrjUX51CaxGuD276wYXhQ="\n');
  });

  it("refuses, at load, an output that references what the stack does not declare or is malformed", () => {
    const doc = structuredClone(seedDocs()["seed-dr"]);
    doc.output = {
      ghost: { value: "${backplane_dataset.nope.guid}" },
      notref: { value: "${var.x}" },
      novalue: { description: "x" },
      extra: { value: 1, precondition: [] },
      "bad name": { value: 1 },
      flag: { value: 1, sensitive: "yes" },
      proto: { value: "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.__proto__}" },
      ctor: { value: "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.constructor}" },
      typo: { value: "${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.public_keys}" },
    };
    try {
      loadStack(doc);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LoadError);
      const p = (e as LoadError).problems;
      expect(p).toContain('output "ghost": ${backplane_dataset.nope.guid} names a resource this stack does not declare');
      expect(p).toContain('output "notref": ${var.x} is not a reference to an attribute of a backplane resource');
      expect(p).toContain('output "novalue": needs a value');
      expect(p).toContain("output \"extra\": 'precondition' is not supported (value, sensitive, description)");
      expect(p).toContain('output "bad name": a name is a letter or _ then letters, digits, _ or -');
      expect(p).toContain('output "flag": sensitive must be true or false');
      for (const [name, attr] of [["proto", "__proto__"], ["ctor", "constructor"], ["typo", "public_keys"]]) {
        expect(p).toContain(`output "${name}": \${backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4.${attr}} names an attribute backplane_wireguard_interface does not have`);
      }
    }
  });

  it("id is the recorded object's name; an attribute the code set is known at synth, before any apply", () => {
    const g = loadStack(structuredClone(seedDocs()["seed-dr"]));
    const iface = "backplane_wireguard_interface.dr_mesh-wg0_resource_6627D4A4";
    const outs = outputsOf({ id: { value: `\${${iface}.id}` }, name: { value: `\${${iface}.name}` }, port: { value: `\${${iface}.listen_port}` } }, () => null, []);
    const after = Object.fromEntries(outputValues(outs, recorded, g.resources).map((v) => [v.name, v.value]));
    expect(after).toEqual({ id: "wg0", name: "wg0", port: 51820 });
    const before = Object.fromEntries(outputValues(outs, null, g.resources).map((v) => [v.name, [v.value, v.known]]));
    expect(before).toEqual({ id: [null, false], name: ["wg0", true], port: [51820, true] });
    // the code changed since the apply: the output says what is deployed, not what is planned
    g.resources.get(iface)!.config.listen_port = 51999;
    expect(outputValues(outs, recorded, g.resources).find((v) => v.name === "port")!.value).toBe(51820);
    expect(outputValues(outs, null, g.resources).find((v) => v.name === "port")!.value).toBe(51999);
  });
});
