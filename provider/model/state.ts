/**
 * State: what backplane last applied. Version, lineage (a stack's identity; also the value
 * of the backplane:managed ownership marker), serial (bumped on every write), resources.
 * Never holds secrets.
 */

import { randomUUID } from "node:crypto";

export const STATE_VERSION = 1;

export interface ResourceState {
  type: string;
  host: string;
  /** the object's identity on the host: pool name, dataset name, dataset@snap */
  id: string;
  /** the configuration last applied (normalised) and computed attributes (guid ...) */
  attributes: Record<string, unknown>;
  /**
   * the resources it depended on when it was last applied (Terraform keeps the same per
   * instance): once its code is gone, deletes still run dependents first, across hosts too
   */
  dependencies?: string[];
}

export interface State {
  version: number;
  lineage: string;
  serial: number;
  resources: Record<string, ResourceState>;
}

export function newState(lineage: string = randomUUID()): State {
  return { version: STATE_VERSION, lineage, serial: 0, resources: {} };
}

export interface LockInfo {
  id: string;
  operation: string;
  who: string;
  pid: number;
  hostname: string;
  created: string;
}

export class StateLockedError extends Error {
  constructor(readonly holder: LockInfo) {
    super(
      `state is locked by ${holder.who} (pid ${holder.pid} on ${holder.hostname}) for '${holder.operation}' since ${holder.created}; lock ID ${holder.id}. ` +
        `If that process is gone, run: backplane force-unlock ${holder.id}`,
    );
    this.name = "StateLockedError";
  }
}

export class StateConflictError extends Error {
  constructor(readonly expectedSerial: number, readonly foundSerial: number) {
    super(`state changed underneath us: expected serial ${expectedSerial}, found ${foundSerial}`);
    this.name = "StateConflictError";
  }
}
