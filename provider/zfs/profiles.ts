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
}

export const PROFILES = {
  uploads: {
    service: "Upload processor — large incoming files, compress well, limit space",
    properties: { recordsize: "1M", compression: "zstd", quota: "500G" },
    ephemeral: false,
  },
  transcode: {
    service: "Transcoder — huge sequential reads/writes, skip compression (already encoded)",
    properties: { recordsize: "1M", compression: "off", atime: "off" },
    ephemeral: false,
  },
  logs: {
    service: "Log aggregator — append-only, compress heavily, rotate via snapshots",
    properties: { recordsize: "1M", compression: "zstd-19", atime: "off" },
    ephemeral: false,
  },
  ciWorkspace: {
    service: "CI runner — small random I/O, fast metadata, throw away between builds",
    properties: { recordsize: "16K", compression: "lz4", sync: "disabled" },
    ephemeral: true,
  },
  postgres: {
    service: "Database — tuned to page size, protect every write",
    properties: { recordsize: "8K", logbias: "throughput", compression: "lz4" },
    ephemeral: false,
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
