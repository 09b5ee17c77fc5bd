/**
 * backplane's constructs: what operators write. L1 bindings live in ./gen (generated).
 * @module
 */
// the tag makes the comment above the API reference's front page; without it TypeDoc gives it
// to the first export below (Host and its props)
export { Host, type HostProps, type PoolProps, type SnapshotProps, type CloneProps } from "./host.js";
export { Dataset, type DatasetProps } from "./dataset.js";
export { WireGuardInterface, WireGuardMesh, allocateMeshAddresses, type WireGuardInterfaceProps, type WireGuardMeshProps } from "./wireguard.js";
export { Replication, Staging, type ReplicationProps, type StagingProps } from "./replication.js";
export { Probe, type ProbeProps } from "./probe.js";
export { SnapshotPolicy, type SnapshotPolicyProps, type SnapshotSchedule } from "./snapshot-policy.js";
export { ConstructError } from "./validation.js";
export { PROFILES, type ProfileName, SYNC_DISABLED_WARNING } from "../provider/zfs/profiles.js";
