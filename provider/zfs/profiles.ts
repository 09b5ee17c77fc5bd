/**
 * The seed's five dataset profiles, exactly as the page gives them
 * (shared/seed/kldload-channels-backplanes.txt, "Datasets as service boundaries").
 * Pure data; the Dataset construct expands a profile into properties, overridable per key.
 */

export const SYNC_DISABLED_WARNING =
  "Never use sync=disabled on anything you can't afford to lose on power failure.";

export interface Profile {
  /** what the seed says the service is */
  service: string;
  properties: Readonly<Record<string, string>>;
  /** sync=disabled is only accepted on ephemeral datasets (throw-away data) */
  ephemeral: boolean;
  /**
   * the snapshot policy `snapshots: true` gives a dataset of this profile (sanoid counts;
   * null: none — the data is thrown away or re-made). docs/schedules.md says why each.
   */
  snapshots: Readonly<{ frequently?: number; hourly?: number; daily?: number; weekly?: number; monthly?: number }> | null;
}

export const PROFILES = {
  uploads: {
    service: "Upload processor — large incoming files, compress well, limit space",
    properties: { recordsize: "1M", compression: "zstd", quota: "500G" },
    ephemeral: false,
    // an upload is undone within the day, recovered within the week
    snapshots: { hourly: 24, daily: 7 },
  },
  transcode: {
    service: "Transcoder — huge sequential reads/writes, skip compression (already encoded)",
    properties: { recordsize: "1M", compression: "off", atime: "off" },
    ephemeral: false,
    // jobs run on clones of uploads and their output is sent on: re-made, not restored
    snapshots: null,
  },
  logs: {
    service: "Log aggregator — append-only, compress heavily, rotate via snapshots",
    properties: { recordsize: "1M", compression: "zstd-19", atime: "off" },
    ephemeral: false,
    // "rotate via snapshots": frequent, and kept long (append-only data costs little per snapshot)
    snapshots: { frequently: 4, hourly: 48, daily: 30, monthly: 12 },
  },
  ciWorkspace: {
    service: "CI runner — small random I/O, fast metadata, throw away between builds",
    properties: { recordsize: "16K", compression: "lz4", sync: "disabled" },
    ephemeral: true,
    // thrown away between builds
    snapshots: null,
  },
  postgres: {
    service: "Database — tuned to page size, protect every write",
    properties: { recordsize: "8K", logbias: "throughput", compression: "lz4" },
    ephemeral: false,
    // crash-consistent points to roll back to: the last hour closely, then a week of days
    snapshots: { frequently: 4, hourly: 24, daily: 7 },
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
