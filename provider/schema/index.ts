/** Every kind backplane knows, in one registry: the single source of truth. */
import type { KindSpec } from "./attr.js";
import { host } from "./kinds/host.js";
import { pool } from "./kinds/pool.js";
import { dataset } from "./kinds/dataset.js";
import { snapshot } from "./kinds/snapshot.js";
import { clone } from "./kinds/clone.js";
import { wireguardInterface, wireguardPeer } from "./kinds/wireguard.js";
import { replication } from "./kinds/replication.js";
import { probe } from "./kinds/probe.js";
import { snapshotPolicy } from "./kinds/snapshot-policy.js";
import { hostFacts } from "./kinds/host-facts.js";

export const PROVIDER_NAME = "backplane";
export const PROVIDER_SOURCE = "registry.terraform.io/backplane/backplane";

export const providerConfig = host;
export const RESOURCE_KINDS: readonly KindSpec[] = [pool, dataset, snapshot, clone, wireguardInterface, wireguardPeer, replication, snapshotPolicy, probe];
export const DATA_KINDS: readonly KindSpec[] = [hostFacts];

const BY_TYPE = new Map(RESOURCE_KINDS.map((k) => [k.type, k]));
const DATA_BY_TYPE = new Map(DATA_KINDS.map((k) => [k.type, k]));

export function resourceKind(type: string): KindSpec | undefined {
  return BY_TYPE.get(type);
}
export function dataKind(type: string): KindSpec | undefined {
  return DATA_BY_TYPE.get(type);
}
