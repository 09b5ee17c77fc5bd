/** backplane_dataset: a filesystem or volume with native and user properties. */
import { z } from "zod";
import { type KindSpec, str, strMap, bool, computed, checked } from "../attr.js";
import { datasetNameProblem } from "../../zfs/names.js";
import { propertySpec, userPropertyNameProblem, userPropertyValueProblem, MANAGED_PROPERTY } from "../../zfs/properties.js";
import { PROFILE_NAMES, SYNC_DISABLED_WARNING } from "../../zfs/profiles.js";

export const dataset: KindSpec = {
  type: "backplane_dataset",
  kind: "resource",
  engineSupport: "full",
  description:
    "A ZFS filesystem or volume. Properties are set in place; create-only ones (encryption, casesensitivity, volblocksize, ...) force replacement, which needs `--allow-destroy`. `sync=disabled` is accepted only with `ephemeral = true`.",
  attributes: {
    name: str("Full dataset name, pool first.", checked(datasetNameProblem), { required: true, createOnly: true, example: "tank/srv/uploads" }),
    type: str("filesystem or volume.", z.enum(["filesystem", "volume"]), { default: "filesystem", createOnly: true }),
    profile: str(`One of the seed's profiles (${PROFILE_NAMES.join(", ")}); recorded for reports.`, z.enum(PROFILE_NAMES as [string, ...string[]])),
    ephemeral: bool("Throw-away data (CI workspace): allows sync=disabled.", { default: false }),
    properties: strMap("Native ZFS properties, as `zfs set` takes them.", z.record(z.string(), z.string()), { example: '{ recordsize = "1M", compression = "zstd" }' }),
    user_properties: strMap("User properties (`module:name`).", z.record(z.string(), z.string()), { example: '{ "com.example:owner" = "media" }' }),
    create_parents: bool("Create missing parents (`zfs create -p`). Parents created this way are not managed.", { default: false }),
    guid: computed("Dataset GUID."),
  },
  refine(v, report) {
    const kind = (v.type as string | undefined) ?? "filesystem";
    const props = (v.properties as Record<string, string> | undefined) ?? {};
    for (const [name, value] of Object.entries(props)) {
      const spec = propertySpec(name);
      if (!spec) {
        report(`properties.${name}`, name.includes(":")
          ? `'${name}' is a user property: put it in user_properties`
          : `unknown or unsupported ZFS property '${name}'`);
        continue;
      }
      if (!spec.kinds.includes(kind as "filesystem" | "volume")) {
        report(`properties.${name}`, `'${name}' does not apply to a ${kind}`);
        continue;
      }
      const c = spec.check(value);
      if (!c.ok) report(`properties.${name}`, `${name} ${c.reason}`);
    }
    if (props.sync === "disabled" && v.ephemeral !== true) {
      report("properties.sync", `sync=disabled is only accepted on a dataset marked ephemeral. The seed: "${SYNC_DISABLED_WARNING}"`);
    }
    if (kind === "volume" && props.volsize === undefined) report("properties.volsize", "a volume needs volsize");
    for (const [name, value] of Object.entries((v.user_properties as Record<string, string> | undefined) ?? {})) {
      const p = userPropertyNameProblem(name) ?? userPropertyValueProblem(value);
      if (p) report(`user_properties.${name}`, p);
      if (name === MANAGED_PROPERTY) report(`user_properties.${name}`, `${MANAGED_PROPERTY} is set by backplane itself`);
    }
  },
};
