/** Dataset: the construct of a ZFS filesystem or volume, and its props. */
import { Construct } from "constructs";
import { Dataset as DatasetL1 } from "./gen/dataset/index.js";
import { dataset as datasetKind } from "../provider/schema/kinds/dataset.js";
import { PROFILES, type ProfileName } from "../provider/zfs/profiles.js";
import { validateAtSynth, ConstructError } from "./validation.js";
import type { Host } from "./host.js";
import { SnapshotPolicy, type SnapshotSchedule } from "./snapshot-policy.js";

/** A dataset's name, profile and properties; {@link Host.dataset} gives it its host. */
export interface DatasetProps {
  /** full name, pool first: tank/srv/uploads */
  name: string;
  profile?: ProfileName;
  /** native properties; override the profile's */
  properties?: Record<string, string>;
  userProperties?: Record<string, string>;
  /** throw-away data: allows sync=disabled (the ciWorkspace profile sets it) */
  ephemeral?: boolean;
  type?: "filesystem" | "volume";
  createParents?: boolean;
  /** datasets or pools this one must come after (its parent, usually) */
  dependsOn?: Array<{ readonly fqn: string } | Dataset>;
  /**
   * Snapshots on a schedule, run by a timer on the host: true = the profile's policy
   * (docs/schedules.md; none for transcode and ciWorkspace), or a schedule of your own.
   */
  snapshots?: boolean | SnapshotSchedule;
}

/**
 * Dataset: a ZFS filesystem or volume, optionally from one of the seed's five profiles.
 * The profile expands to explicit properties in cdk.tf.json (what you review is what is
 * set); any property can be overridden. sync=disabled only on ephemeral datasets.
 */
export class Dataset extends Construct {
  readonly name: string;
  readonly resource: DatasetL1;
  readonly host: Host;
  readonly properties: Readonly<Record<string, string>>;
  /** the dataset's snapshot policy, when it has one */
  readonly snapshotPolicy?: SnapshotPolicy;

  constructor(scope: Construct, id: string, props: DatasetProps & { host: Host }) {
    super(scope, id);
    if (props.profile !== undefined && !(props.profile in PROFILES)) {
      throw new ConstructError(this.node.path, `unknown profile '${String(props.profile)}'; the seed's profiles are ${Object.keys(PROFILES).join(", ")}`);
    }
    const profile = props.profile ? PROFILES[props.profile] : undefined;
    this.name = props.name;
    this.host = props.host;
    this.properties = { ...(profile?.properties ?? {}), ...(props.properties ?? {}) };
    const ephemeral = props.ephemeral ?? (profile?.ephemeral || undefined);
    const profileName = props.profile;
    validateAtSynth(this, datasetKind, () => ({
      name: props.name,
      type: props.type,
      profile: profileName,
      ephemeral,
      properties: this.properties,
      user_properties: props.userProperties,
      create_parents: props.createParents,
    }));
    this.resource = new DatasetL1(this, "resource", {
      provider: props.host.provider,
      name: props.name,
      type: props.type,
      profile: profileName,
      ephemeral,
      properties: Object.keys(this.properties).length > 0 ? { ...this.properties } : undefined,
      userProperties: props.userProperties,
      createParents: props.createParents,
      dependsOn: props.dependsOn?.map((d) => (d instanceof Dataset ? d.resource : d)) as DatasetL1[] | undefined,
    });
    if (props.snapshots === true && !profile) throw new ConstructError(this.node.path, "snapshots: true takes the profile's policy, and this dataset has no profile: give a schedule ({ hourly: 24, daily: 7 })");
    const schedule = props.snapshots === true ? profile!.snapshots : props.snapshots || null;
    if (schedule) this.snapshotPolicy = new SnapshotPolicy(this, "snapshots", { ...schedule, host: props.host, dataset: this });
  }

  /** "dataset@snap" for use as a clone origin; "@latest" means the newest snapshot at apply. */
  at(snapshot: string): string {
    return `${this.name}@${snapshot}`;
  }
}
