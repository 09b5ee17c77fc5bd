// The pure core under mutation testing (docs/testing.md), in groups of ≈1,000 lines: each group
// is one Stryker run with its own incremental file and report (reports/mutation/<group>/), so a
// whole-core run can be stopped between groups and resumed, and one group re-run alone.
// test/unit/mutation-groups.test.ts checks that every file of the core is in exactly one group.

/** The safety-critical modules (#19): ownership, removal order, quoting, validation, secrets, fingerprints, parsers. */
export const SAFETY = [
  "provider/model/argv.ts",
  "provider/model/echo.ts",
  "provider/resources/zfs-common.ts",
  "provider/engine/delete-order.ts",
  "provider/engine/saved-plan.ts",
  "provider/schema/host-key.ts",
  "provider/wg/facts.ts",
  "provider/zfs/names.ts",
];

/** group name → the files it mutates */
export const GROUPS = {
  safety: SAFETY,
  "zfs-facts": [
    "provider/zfs/properties.ts",
    "provider/zfs/facts.ts",
    "provider/zfs/units.ts",
    "provider/zfs/profiles.ts",
    "provider/zfs/replication-path.ts",
    "provider/zfs/replication-facts.ts",
    "provider/zfs/assignments.ts",
    "provider/zfs/pool-properties.ts",
  ],
  "zfs-health": [
    "provider/zfs/snapshot-schedule.ts",
    "provider/zfs/restore-facts.ts",
    "provider/zfs/io-latency.ts",
    "provider/zfs/health-facts.ts",
    "provider/wg/net.ts",
    "provider/wg/persist.ts",
  ],
  schema: [
    "provider/schema/index.ts",
    "provider/schema/provider-schema.ts",
    "provider/schema/docs.ts",
    "provider/schema/validate.ts",
    "provider/schema/attr.ts",
    "provider/schema/kinds/**/*.ts",
  ],
  "resources-zfs": [
    "provider/resources/kind.ts",
    "provider/resources/index.ts",
    "provider/resources/host-facts.ts",
    "provider/resources/pool.ts",
    "provider/resources/dataset.ts",
    "provider/resources/snapshot.ts",
    "provider/resources/snapshot-policy.ts",
  ],
  "resources-replication": [
    "provider/resources/replication.ts",
    "provider/resources/wireguard-psk.ts",
  ],
  "resources-rest": [
    "provider/resources/wireguard.ts",
    "provider/resources/restore.ts",
    "provider/resources/probe.ts",
  ],
  "engine-plan": [
    "provider/engine/plan.ts",
    "provider/engine/render.ts",
    "provider/engine/batch.ts",
    "provider/engine/apply-schedule.ts",
    "provider/engine/state-edit.ts",
  ],
  "engine-load": [
    "provider/engine/load.ts",
    "provider/engine/probe-render.ts",
    "provider/engine/outputs.ts",
    "provider/engine/progress.ts",
    "provider/engine/synth-error.ts",
  ],
  "cli-systemd": [
    "provider/model/debug-log.ts",
    "provider/systemd/**/*.ts",
    "provider/cli/spellings.ts",
    "provider/build/cdktn-imports.ts",
  ],
};

/** Every file of the core, as the groups list them (Stryker's mutate patterns). */
export const CORE = Object.values(GROUPS).flat();
