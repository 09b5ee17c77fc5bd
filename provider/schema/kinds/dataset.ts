/** backplane_dataset: a filesystem or volume with native and user properties. */
import { z } from "zod";
import { type KindSpec, str, strMap, bool, computed, checked, reportEach, stringMap, withMap } from "../attr.js";
import { datasetNameProblem } from "../../zfs/names.js";
import { userPropertyNameProblem, userPropertyValueProblem, MANAGED_PROPERTY } from "../../zfs/properties.js";
import { canonicalPropertyNames, propertyProblems } from "../../zfs/assignments.js";
import { PROFILE_NAMES } from "../../zfs/profiles.js";

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
    const kind = v.type === "volume" ? "volume" : "filesystem";
    reportEach(report, "properties", propertyProblems(stringMap(v.properties), { kind, target: "dataset", ephemeral: v.ephemeral === true, userProperties: "separate" }));
    for (const [name, value] of Object.entries(stringMap(v.user_properties))) {
      const p = userPropertyNameProblem(name) ?? userPropertyValueProblem(value);
      if (p) report(["user_properties", name], p);
      if (name === MANAGED_PROPERTY) report(["user_properties", name], `${MANAGED_PROPERTY} is set by backplane itself`);
    }
  },
  canonical: (v) => withMap(v, "properties", canonicalPropertyNames),
};
