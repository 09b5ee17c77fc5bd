/** Replication (zfs send | ssh wg-peer zfs recv) and Staging (clone of prod@latest). */
import { Construct } from "constructs";
import { Replication as ReplicationL1 } from "./gen/replication/index.js";
import { Clone as CloneL1 } from "./gen/clone/index.js";
import { replication as replicationKind } from "../provider/schema/kinds/replication.js";
import { clone as cloneKind } from "../provider/schema/kinds/clone.js";
import { validateAtSynth, compact } from "./validation.js";
import type { Dataset } from "./dataset.js";
import type { Host } from "./host.js";
import type { WireGuardMesh } from "./wireguard.js";

/** What is replicated to which host and dataset, over which tunnel, and how many replication snapshots each side keeps. */
export interface ReplicationProps {
  source: Dataset;
  target: Host;
  targetDataset: string;
  /** the mesh whose tunnel carries the stream (the target's mesh address is used);
   *  without it the stream goes to the target's peerAddress (same host: a local send) */
  via?: WireGuardMesh;
  snapshotPrefix?: string;
  /** SSH port of the target at its tunnel address (default 22) */
  targetPort?: number;
  /** replication snapshots kept on the source (default 3) and on the target (default 10) */
  retainSource?: number;
  retainTarget?: number;
  raw?: boolean;
  allowRollbackTarget?: boolean;
  receiveProperties?: Record<string, string>;
  /** the source host replicates by itself at this period from a systemd timer (e.g. "15m") */
  every?: string;
}

/**
 * Replication: zfs send | ssh wg-peer zfs recv of a dataset to another host, incremental from
 * the newest common snapshot; a diverged target is refused unless `allowRollbackTarget`.
 * With `every` the source host also replicates by itself from a systemd timer
 * (docs/replication.md).
 */
export class Replication extends Construct {
  readonly resource: ReplicationL1;
  constructor(scope: Construct, id: string, props: ReplicationProps) {
    super(scope, id);
    const config = compact({
      source_dataset: props.source.name,
      target_host: props.target.hostName,
      target_address: props.via ? props.via.addressOf(props.target) : props.target.peerAddress,
      target_dataset: props.targetDataset,
      snapshot_prefix: props.snapshotPrefix,
      target_port: props.targetPort,
      retain_source: props.retainSource,
      retain_target: props.retainTarget,
      raw: props.raw,
      allow_rollback_target: props.allowRollbackTarget,
      receive_properties: props.receiveProperties,
      every: props.every,
    });
    validateAtSynth(this, replicationKind, () => config);
    const sourceIface = props.via?.interfaces.get(props.source.host.hostName);
    const targetIface = props.via?.interfaces.get(props.target.hostName);
    this.resource = new ReplicationL1(this, "resource", {
      provider: props.source.host.provider,
      sourceDataset: config.source_dataset,
      targetHost: config.target_host,
      targetAddress: config.target_address,
      targetDataset: config.target_dataset,
      snapshotPrefix: props.snapshotPrefix,
      targetPort: props.targetPort,
      retainSource: props.retainSource,
      retainTarget: props.retainTarget,
      raw: props.raw,
      allowRollbackTarget: props.allowRollbackTarget,
      receiveProperties: props.receiveProperties,
      every: props.every,
      dependsOn: [props.source.resource, ...(sourceIface ? [sourceIface.resource] : []), ...(targetIface ? [targetIface.resource] : [])],
    });
  }
}

/** The production dataset, and the name and properties of the clone made from it. */
export interface StagingProps {
  /** the production dataset; its newest snapshot, resolved at plan time, is cloned and pinned in state */
  from: Dataset;
  name: string;
  properties?: Record<string, string>;
  /** throw-away data: removing the staging clone needs no --allow-destroy (and sync=disabled is allowed) */
  ephemeral?: boolean;
}

/**
 * Staging: the seed's "staging = clone of prod@latest". The newest snapshot is resolved
 * when the clone is planned and pinned in state, so a newer snapshot does not re-clone it.
 */
export class Staging extends Construct {
  readonly resource: CloneL1;
  constructor(scope: Construct, id: string, props: StagingProps) {
    super(scope, id);
    const origin = props.from.at("latest");
    validateAtSynth(this, cloneKind, () => ({ name: props.name, origin, properties: props.properties, ephemeral: props.ephemeral }));
    this.resource = new CloneL1(this, "resource", {
      provider: props.from.host.provider, name: props.name, origin, properties: props.properties, ephemeral: props.ephemeral, dependsOn: [props.from.resource],
    });
  }
}
