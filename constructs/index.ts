/** backplane's constructs: what operators write. L1 bindings live in ./gen (generated). */
export { Host, type HostProps, type PoolProps, type SnapshotProps, type CloneProps } from "./host.js";
export { Dataset, type DatasetProps } from "./dataset.js";
export { WireGuardInterface, WireGuardMesh, allocateMeshAddresses, type WireGuardMeshProps } from "./wireguard.js";
export { Replication, Staging, type ReplicationProps, type StagingProps } from "./replication.js";
export { Probe, type ProbeProps } from "./probe.js";
export { SnapshotPolicy, type SnapshotPolicyProps, type SnapshotSchedule } from "./snapshot-policy.js";
export { ConstructError } from "./validation.js";
export { PROFILES, type ProfileName, SYNC_DISABLED_WARNING } from "../provider/zfs/profiles.js";
