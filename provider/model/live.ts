/**
 * What a host looks like, as the refresh read it: the parsed facts of one round trip.
 * Types only; the parsers that fill them live in provider/zfs and provider/wg.
 */

// ---- ZFS ------------------------------------------------------------------------------

export interface ZfsVersion {
  /** OpenZFS userland version, e.g. "2.3.2"; null when the host runs something else (zfs-fuse) */
  userland: string | null;
  kernel: string | null;
  raw: string;
}

export interface PoolRow {
  name: string;
  health: string;
  guid: string;
  size: string;
  allocated: string;
  free: string;
}

export type Source =
  | { kind: "local" }
  | { kind: "default" }
  | { kind: "inherited"; from: string }
  | { kind: "received" }
  | { kind: "temporary" }
  | { kind: "none" };

export interface PropertyValue {
  value: string;
  source: Source;
}

/** name → property → value+source. */
export type PropertyTable = Map<string, Map<string, PropertyValue>>;

export interface SnapshotRow {
  name: string;
  dataset: string;
  snapshot: string;
  guid: string;
  createtxg: bigint;
  /** the lineage of a local backplane:managed marker (null: none set on the snapshot itself) */
  marker?: string | null;
}

// ---- WireGuard -------------------------------------------------------------------------

export interface WgPeer {
  publicKey: string;
  hasPresharedKey: boolean;
  /** compares the two ends of a pair; not the key, and never stored */
  presharedKeyFingerprint: string | null;
  endpoint: string | null;
  allowedIps: string[];
  latestHandshake: number;
  rx: bigint;
  tx: bigint;
  keepalive: number;
}

export interface WgInterface {
  name: string;
  publicKey: string;
  listenPort: number;
  fwmark: number;
  peers: Map<string, WgPeer>;
}

// ---- one host ------------------------------------------------------------------------

export interface LivePool {
  row: PoolRow;
  properties: Map<string, PropertyValue>;
  /** features that are enabled or active */
  features: Set<string>;
}

export interface HostWireGuard {
  implementation: "kernel" | "wireguard-go" | "none";
  interfaces: Map<string, WgInterface>;
  /** interfaces with a wg-quick config on disk (they come back after a reboot) */
  persisted: Set<string>;
  /** interface → the lineage in its ownership marker file (/etc/wireguard/<if>.backplane) */
  markers: Map<string, string>;
  addresses: Map<string, string[]>;
  links: Map<string, { mtu: number; up: boolean }>;
}

export interface HostLive {
  host: string;
  /** read with the fallback commands of an old ZFS (zfs-fuse: no -p, no feature flags) */
  legacy: boolean;
  zfs: ZfsVersion;
  kernel: string;
  pools: Map<string, LivePool>;
  datasets: PropertyTable;
  snapshots: Map<string, SnapshotRow>;
  wg: HostWireGuard;
  /** replication facts: read only when the stack declares a replication */
  replication?: HostReplication;
  /** health facts: read only for `backplane probe` */
  health?: HostHealth;
  /** backplane's systemd timers (snapshot policies, scheduled replications): read when the stack or its state has any */
  timers?: HostTimers;
}

/** One unit as `systemctl show` reports it. */
export interface LiveUnit {
  loadState: string;
  /** enabled, disabled, masked, … */
  unitFileState: string;
  /** active, inactive, failed, … */
  activeState: string;
  /** the last run's result: success, exit-code, signal, timeout, … */
  result: string;
  exitStatus: number | null;
  /** epoch seconds the last run ended */
  exitedAt: number | null;
  /** epoch seconds a timer last fired */
  lastTrigger: number | null;
  dropIns: string[];
  /** the unit's files changed since systemd last loaded them */
  needsReload: boolean;
}

export interface HostTimers {
  /** false: the host has no systemctl (nothing can be scheduled there) */
  systemd: boolean;
  /** our units' and scripts' files: path → sha256 of the content */
  files: Map<string, string>;
  /** unit name (backplane-snapshot-<id>.timer) → state */
  units: Map<string, LiveUnit>;
}

/** A host whose live facts could not be read (unreachable, host key refused, output not understood), with why. */
export interface UnreadHost {
  host: string;
  /** the error, naming the host */
  message: string;
}

// ---- replication (read only when the stack declares one) -----------------------------

export interface ReplicationSnapshotRow {
  /** epoch seconds */
  creation: number;
  /** holds on the snapshot (anyone's) */
  userrefs: number;
}

export interface ReplicationDatasetRow {
  /** bytes written since the newest snapshot */
  written: number;
  /** set while a `zfs recv -s` was interrupted: `zfs send -t` resumes from it */
  resumeToken: string | null;
  keystatus: "available" | "unavailable" | null;
}

export interface ReplicationKeys {
  /** replication id → public key line (ssh-ed25519 AAAA… comment) */
  publicKeys: Map<string, string>;
  /** replication id → the known_hosts line its ssh uses for the target */
  knownHosts: Map<string, string>;
  /** replication id → the authorized_keys line that lets that replication's key receive here */
  authorized: Map<string, string>;
}

export interface HostReplication {
  snapshots: Map<string, ReplicationSnapshotRow>;
  datasets: Map<string, ReplicationDatasetRow>;
  keys: ReplicationKeys;
}

// ---- health (read only when `backplane probe` asks) -----------------------------------

export interface VdevStatus {
  name: string;
  /** 0: the pool's own row; 1: a top-level vdev; 2: a mirror's or raidz's member … */
  depth: number;
  state: string;
  read: number;
  write: number;
  checksum: number;
  /** what zpool prints after the counters ("(resilvering)", "was /dev/sdb1") */
  note: string | null;
  /** listed under "spares" (no counters of its own) */
  spare: boolean;
}

export interface PoolScan {
  /** other: a wording backplane does not know (kept in `text`) */
  kind: "scrub" | "resilver" | "none" | "other";
  state: "finished" | "in progress" | "canceled" | "paused" | "none";
  /** epoch seconds: when it finished (finished, canceled) or started (in progress, paused) */
  time: number | null;
  /** errors the finished scan found */
  errors: number | null;
  /** the scan line as zpool printed it */
  text: string;
}

export interface PoolStatus {
  name: string;
  state: string;
  vdevs: VdevStatus[];
  /** the last scan; null when the pool was never scrubbed or resilvered */
  scan: PoolScan | null;
  errorsLine: string | null;
  /** a line of this pool's block that fits no known shape (the pool cannot be judged) */
  problem: string | null;
}

export interface DatasetSpace {
  used: bigint;
  available: bigint;
  /** 0: none */
  quota: bigint;
  refquota: bigint;
  /** epoch seconds (a pool's root dataset: when the pool was created) */
  creation: number;
}

/** A health fact, or why it could not be read (the probes that need it report an error; the others still run). */
export type Readable<T> = { value: T } | { unreadable: string };

export interface HostHealth {
  /** epoch seconds on the host when it was read (ages are counted from the host's clock) */
  now: number;
  pools: Readable<Map<string, PoolStatus>>;
  space: Readable<Map<string, DatasetSpace>>;
  /** whole percent per pool (used where the pool list has no byte counts: an old ZFS) */
  capacity: Readable<Map<string, number>>;
  /** snapshot creation times */
  snapshots: Readable<Map<string, ReplicationSnapshotRow>>;
}
