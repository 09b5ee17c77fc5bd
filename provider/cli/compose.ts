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
import { debugLog } from "./debug-log.js";

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

/** The stack's local state file: `path`, else its LocalBackend's path, else terraform.<stack>.tfstate beside cdktf.json. */
export function localStatePath(p: Project, path?: string): string {
  const b = p.graph.backend;
  const chosen = path ?? (b?.type === "local" && b.path ? b.path : `terraform.${p.stack}.tfstate`);
  return isAbsolute(chosen) ? chosen : resolve(p.dir, chosen);
}

/**
 * The stack's PostgreSQL settings as Terraform's pg backend reads them: the PgBackend block,
 * else PG_CONN_STR / PG_SCHEMA_NAME, else the default schema (`schema` overrides). The
 * connection string (it may hold a password) is never printed.
 */
export function pgSettings(p: Project, schema?: string): { connStr: string | undefined; schema: string } {
  const b = p.graph.backend?.type === "pg" ? p.graph.backend : undefined;
  return { connStr: b?.connStr || process.env.PG_CONN_STR, schema: schema ?? b?.schemaName ?? process.env.PG_SCHEMA_NAME ?? DEFAULT_SCHEMA };
}

export function stateBackendFor(p: Project, wiring: BackendWiring = {}): StateBackend {
  if (p.graph.backend?.type !== "pg") return new LocalStateBackend(localStatePath(p), { onNotice: wiring.onNotice, scope: wiring.scope, fault: wiring.fault });
  const { connStr, schema } = pgSettings(p);
  if (!connStr) throw new Error(`stack ${p.stack} keeps its state in PostgreSQL (PgBackend) but names no connection string: set PG_CONN_STR (preferred: it stays out of cdk.tf.json) or connStr`);
  return new PgStateBackend({ connStr, schema, workspace: p.stack, scope: wiring.scope });
}

export function workspaceOf(p: Project, wiring: BackendWiring = {}): Workspace {
  return { ...p, backend: stateBackendFor(p, wiring) };
}

/** Transports made and not closed yet: what a signal handler must close (on-exit.ts). */
const open = new Set<Transport>();

export function transportsFor(hosts: Iterable<HostConfig>): Map<string, Transport> {
  const made = new Map<string, Transport>([...hosts].map((h) => [h.alias, new SshTransport(h, { debug: debugLog() })]));
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
