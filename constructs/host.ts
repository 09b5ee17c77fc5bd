/** Host, and the props of the pools, snapshots and clones created through it. */
import { Construct } from "constructs";
import { BackplaneProvider } from "./gen/provider/index.js";
import { Pool as PoolL1 } from "./gen/pool/index.js";
import { Snapshot as SnapshotL1 } from "./gen/snapshot/index.js";
import { Clone as CloneL1 } from "./gen/clone/index.js";
import { DataBackplaneHost } from "./gen/data-backplane-host/index.js";
import { host as hostKind, aliasProblem } from "../provider/schema/kinds/host.js";
import { pool as poolKind } from "../provider/schema/kinds/pool.js";
import { snapshot as snapshotKind } from "../provider/schema/kinds/snapshot.js";
import { clone as cloneKind } from "../provider/schema/kinds/clone.js";
import { hostFacts as hostFactsKind } from "../provider/schema/kinds/host-facts.js";
import { compact, validateAtSynth, ConstructError } from "./validation.js";
import { Dataset, type DatasetProps } from "./dataset.js";
import { WireGuardInterface, type WireGuardInterfaceProps } from "./wireguard.js";

/** How backplane reaches the machine over SSH: the configuration of its provider alias. */
export interface HostProps {
  address: string;
  port?: number;
  user?: string;
  identityFile?: string;
  /** pinned host public key, e.g. "ssh-ed25519 AAAA..." */
  hostKey?: string;
  knownHostsFile?: string;
  sshConfigFile?: string;
  commandPrefix?: string[];
  connectTimeout?: number;
  /** seconds one round trip may take before its outcome is reported unknown (default 600) */
  commandTimeout?: number;
  /** the address other hosts reach this one at (WireGuard endpoints); defaults to address */
  peerAddress?: string;
}

/** A ZFS pool ({@link Host.pool}): an existing one taken over with `adopt`, or one created on unused `vdevs`. */
export interface PoolProps {
  name: string;
  vdevs?: string[];
  adopt?: boolean;
  properties?: Record<string, string>;
  filesystemProperties?: Record<string, string>;
  mountpoint?: string;
}

/** A named snapshot of a dataset ({@link Host.snapshot}); `retainPrefix` and `retainCount` prune the others of a prefix. */
export interface SnapshotProps {
  dataset: string | Dataset;
  name: string;
  recursive?: boolean;
  retainPrefix?: string;
  retainCount?: number;
}

/** A writable clone of a snapshot ({@link Host.clone}); "pool/ds@latest" clones the newest one, pinned in state when planned. */
export interface CloneProps {
  name: string;
  /** "pool/ds@snap", "pool/ds@latest", or a snapshot construct */
  origin: string | SnapshotL1;
  properties?: Record<string, string>;
  promote?: boolean;
  /** throw-away data (a CI or staging clone): allows sync=disabled; removing it needs no --allow-destroy */
  ephemeral?: boolean;
}

/** The literal dataset@snapshot of each snapshot construct, for clones made from it (its attributes are tokens). */
const SNAPSHOT_NAMES = new WeakMap<SnapshotL1, string>();

/**
 * Host: one machine = one backplane provider alias (the construct's name). Resources are
 * created through it, so each is read and changed over this machine's SSH connection.
 */
export class Host extends Construct {
  readonly provider: BackplaneProvider;
  readonly hostName: string;
  readonly peerAddress: string;

  constructor(scope: Construct, name: string, props: HostProps) {
    super(scope, name);
    const aliasBad = aliasProblem(name);
    if (aliasBad) throw new ConstructError(this.node.path, aliasBad);
    this.hostName = name;
    this.peerAddress = props.peerAddress ?? props.address;
    const config = compact({
      address: props.address,
      port: props.port,
      user: props.user,
      identity_file: props.identityFile,
      host_key: props.hostKey,
      known_hosts_file: props.knownHostsFile,
      ssh_config_file: props.sshConfigFile,
      command_prefix: props.commandPrefix,
      connect_timeout: props.connectTimeout,
      command_timeout: props.commandTimeout,
    });
    validateAtSynth(this, hostKind, () => config);
    this.provider = new BackplaneProvider(this, "provider", {
      alias: name,
      address: props.address,
      port: props.port,
      user: props.user,
      identityFile: props.identityFile,
      hostKey: props.hostKey,
      knownHostsFile: props.knownHostsFile,
      sshConfigFile: props.sshConfigFile,
      commandPrefix: props.commandPrefix,
      connectTimeout: props.connectTimeout,
      commandTimeout: props.commandTimeout,
    });
  }

  private factsSource?: DataBackplaneHost;

  /**
   * What the host is and can do (backplane_host data source), read in the plan's refresh.
   * `minZfsVersion` / `requireWireguard` refuse the plan on a host that cannot do the job.
   */
  facts(props: { minZfsVersion?: string; requireWireguard?: boolean } = {}): DataBackplaneHost {
    if (this.factsSource) throw new ConstructError(this.node.path, "facts() is declared once per host; keep the first one and read its attributes");
    const scope = new Construct(this, "facts");
    validateAtSynth(scope, hostFactsKind, () => compact({ min_zfs_version: props.minZfsVersion, require_wireguard: props.requireWireguard }));
    this.factsSource = new DataBackplaneHost(scope, "host", { provider: this.provider, minZfsVersion: props.minZfsVersion, requireWireguard: props.requireWireguard });
    return this.factsSource;
  }

  pool(id: string, props: PoolProps): PoolL1 {
    const scope = new Construct(this, id);
    validateAtSynth(scope, poolKind, () => ({
      name: props.name, vdevs: props.vdevs, adopt: props.adopt, properties: props.properties,
      filesystem_properties: props.filesystemProperties, mountpoint: props.mountpoint,
    }));
    return new PoolL1(scope, "pool", { provider: this.provider, ...props });
  }

  dataset(id: string, props: DatasetProps): Dataset {
    return new Dataset(this, id, { ...props, host: this });
  }

  snapshot(id: string, props: SnapshotProps): SnapshotL1 {
    const scope = new Construct(this, id);
    const dataset = typeof props.dataset === "string" ? props.dataset : props.dataset.name;
    validateAtSynth(scope, snapshotKind, () => ({
      dataset, name: props.name, recursive: props.recursive, retain_prefix: props.retainPrefix, retain_count: props.retainCount,
    }));
    const l1 = new SnapshotL1(scope, "snapshot", {
      provider: this.provider, dataset, name: props.name, recursive: props.recursive,
      retainPrefix: props.retainPrefix, retainCount: props.retainCount,
      dependsOn: typeof props.dataset === "string" ? undefined : [props.dataset.resource],
    });
    SNAPSHOT_NAMES.set(l1, `${dataset}@${props.name}`);
    return l1;
  }

  clone(id: string, props: CloneProps): CloneL1 {
    const scope = new Construct(this, id);
    // a snapshot construct's attributes are tokens: "${a}@${b}" would be an expression the
    // loader refuses, so the literal name recorded by snapshot() is used
    const origin = typeof props.origin === "string" ? props.origin : SNAPSHOT_NAMES.get(props.origin);
    if (origin === undefined) throw new ConstructError(scope.node.path, "origin must be 'dataset@snapshot' or a snapshot made with Host.snapshot()");
    validateAtSynth(scope, cloneKind, () => ({ name: props.name, origin, properties: props.properties, promote: props.promote, ephemeral: props.ephemeral }));
    return new CloneL1(scope, "clone", {
      provider: this.provider, name: props.name, origin, properties: props.properties, promote: props.promote, ephemeral: props.ephemeral,
      dependsOn: typeof props.origin === "string" ? undefined : [props.origin],
    });
  }

  wireguard(id: string, props: WireGuardInterfaceProps): WireGuardInterface {
    return new WireGuardInterface(this, id, { ...props, host: this });
  }
}
