/**
 * The composition root: the one place that picks concrete implementations — the transport
 * that reaches hosts (system OpenSSH) and the state backend the stack names in
 * `terraform.backend` — and hands them to the engine, which knows only their interfaces.
 */
import { isAbsolute, resolve } from "node:path";
import type { HostConfig } from "../model/desired.js";
import type { Project } from "../engine/project.js";
import type { Transport } from "../transport/transport.js";
import { SshTransport } from "../transport/ssh.js";
import type { StateBackend } from "../../state/backend.js";
import { PgStateBackend, DEFAULT_SCHEMA } from "../../state/pg.js";
import { LocalStateBackend } from "../../state/local.js";

/** A loaded stack with the state backend its `terraform.backend` block names. */
export interface Workspace extends Project {
  backend: StateBackend;
}

/** What the backend tells and how messages name this state on a command line. */
export interface BackendWiring {
  /** where notices go (a stale lock taken over, leftovers removed): the CLI's stderr */
  onNotice?: (message: string) => void;
  /** the words naming this project and stack (`--dir D --stack S`), for the recovery commands in messages */
  scope?: readonly string[];
  /** test-only fault injection at the state write (provider/cli/fault.ts) */
  fault?: (point: "state-write") => void;
}

export function stateBackendFor(p: Project, wiring: BackendWiring = {}): StateBackend {
  const b = p.graph.backend;
  if (!b || b.type === "local") {
    const path = b?.path ?? `terraform.${p.stack}.tfstate`;
    return new LocalStateBackend(isAbsolute(path) ? path : resolve(p.dir, path), { onNotice: wiring.onNotice, scope: wiring.scope, fault: wiring.fault });
  }
  // Terraform's pg backend reads the same variables when the block leaves them out; the
  // connection string (it may hold a password) is never printed
  const connStr = b.connStr || process.env.PG_CONN_STR;
  if (!connStr) throw new Error(`stack ${p.stack} keeps its state in PostgreSQL (PgBackend) but names no connection string: set PG_CONN_STR (preferred: it stays out of cdk.tf.json) or connStr`);
  return new PgStateBackend({ connStr, schema: b.schemaName ?? process.env.PG_SCHEMA_NAME ?? DEFAULT_SCHEMA, workspace: p.stack, scope: wiring.scope });
}

export function workspaceOf(p: Project, wiring: BackendWiring = {}): Workspace {
  return { ...p, backend: stateBackendFor(p, wiring) };
}

/** Transports made and not closed yet: what a signal handler must close (on-exit.ts). */
const open = new Set<Transport>();

export function transportsFor(hosts: Iterable<HostConfig>): Map<string, Transport> {
  const made = new Map<string, Transport>([...hosts].map((h) => [h.alias, new SshTransport(h)]));
  for (const t of made.values()) open.add(t);
  return made;
}

/** Closes transports (their ssh masters exit); each is closed once. */
export async function closeTransports(ts: Iterable<Transport>): Promise<void> {
  const now = [...ts].filter((t) => open.delete(t));
  await Promise.all(now.map((t) => t.close()));
}

/** Closes every transport still open, failures ignored (the process is ending). */
export async function closeOpenTransports(): Promise<void> {
  await closeTransports([...open]).catch(() => {});
}
