/** The desired configuration as the loader hands it on: hosts, resources, unknown values. */

export interface HostConfig {
  alias: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  hostKey?: string;
  /** set when hostKey was not in the stack but learnt on first use: the file it came from */
  hostKeyLearntIn?: string;
  knownHostsFile?: string;
  sshConfigFile?: string;
  commandPrefix: string[];
  connectTimeout: number;
  /** seconds one round trip may take (default 600) */
  commandTimeout?: number;
}

/** A value known only after another resource is applied. */
export interface Unknown {
  readonly unknown: string;
}

export function isUnknown(v: unknown): v is Unknown {
  return typeof v === "object" && v !== null && typeof (v as Unknown).unknown === "string" && Object.keys(v).length === 1;
}

export interface DesiredResource {
  address: string;
  type: string;
  mode: "resource" | "data";
  /** construct path from //.metadata.path, for messages */
  path: string;
  host: string;
  config: Record<string, unknown>;
  /** explicit depends_on and every resource a value refers to */
  dependsOn: string[];
  preventDestroy: boolean;
}

export type BackendConfig = { type: "local"; path?: string } | { type: "pg"; connStr?: string; schemaName?: string };

