/**
 * PostgreSQL state, shared by a team (docs/state.md). One row per workspace (the stack) with
 * lineage, serial and the state document; every serial written also goes to a history table
 * (who, when, operation). Writes are compare-and-swap — `UPDATE … WHERE lineage = $ AND
 * serial = $` — so a write from a stale serial or a foreign lineage is refused, where
 * Terraform's pg backend upserts. The lock is `pg_try_advisory_lock` held by a connection of
 * its own (the server releases it when that client dies, however it dies) plus a row saying who
 * holds it, so a refused client can name the holder. The connection string never appears in a
 * message.
 */
import pg from "pg";
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import type { StateBackend, WriteOptions } from "./backend.js";
import { echo } from "../provider/model/echo.js";
import { STATE_VERSION, StateConflictError, StateLineageError, StateLockedError, type LockInfo, type State } from "../provider/model/state.js";

export const DEFAULT_SCHEMA = "terraform_remote_state";

export interface PgStateOptions {
  connStr: string;
  /** cdktf's PgBackend schemaName: one schema per set of workspaces (default terraform_remote_state) */
  schema?: string;
  /** the stack: one state row per workspace */
  workspace: string;
  scope?: readonly string[];
  identity?: { pid: number; hostname: string; who: string };
}

export interface HistoryEntry {
  serial: number;
  lineage: string;
  operation: string;
  who: string;
  writtenAt: string;
  resources: number;
}

/** The client library's errors can carry the connection's parameters: only its message and code are kept. */
export class PgStateError extends Error {
  constructor(what: string, cause: unknown) {
    const e = cause as { message?: string; code?: string };
    super(`PostgreSQL state: ${what} failed: ${echo(String(e?.message ?? cause))}${e?.code ? ` (SQLSTATE ${e.code})` : ""}`);
    this.name = "PgStateError";
  }
}

export class PgStateBackend implements StateBackend {
  private readonly schema: string;
  private readonly identity: { pid: number; hostname: string; who: string };
  private ready: Promise<void> | null = null;
  private held: { id: string; client: pg.Client; operation: string } | null = null;

  constructor(private readonly opts: PgStateOptions) {
    this.schema = opts.schema ?? DEFAULT_SCHEMA;
    this.identity = opts.identity ?? { pid: process.pid, hostname: hostname(), who: `${userInfo().username}@${hostname()}` };
  }

  describe(): string {
    return `PostgreSQL state (schema ${this.schema}, workspace ${this.opts.workspace})`;
  }

  private q(table: string): string {
    return `${pg.Client.prototype.escapeIdentifier(this.schema)}.${pg.Client.prototype.escapeIdentifier(table)}`;
  }

  private get lockKey(): string {
    return `backplane:${this.schema}:${this.opts.workspace}`;
  }

  /** One short-lived client per operation (no pool: a CLI run makes few queries and must exit when done). */
  private async withClient<T>(what: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    await this.ensureSchema();
    const c = await this.connect(what);
    try {
      return await fn(c);
    } catch (e) {
      if (e instanceof StateConflictError || e instanceof StateLineageError || e instanceof StateLockedError) throw e;
      throw new PgStateError(what, e);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  private async connect(what: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.opts.connStr, application_name: "backplane", connectionTimeoutMillis: 15_000 });
    // a dropped connection emits 'error' on the client: without a listener it would kill the process
    c.on("error", () => undefined);
    try {
      await c.connect();
    } catch (e) {
      await c.end().catch(() => undefined);
      throw new PgStateError(`connecting (${what})`, e);
    }
    return c;
  }

  private ensureSchema(): Promise<void> {
    this.ready ??= (async () => {
      const c = await this.connect("creating the schema");
      try {
        await c.query("BEGIN");
        // two first runs at once: CREATE … IF NOT EXISTS alone can still collide
        await c.query("SELECT pg_advisory_xact_lock(hashtextextended('backplane:schema', 0))");
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${pg.Client.prototype.escapeIdentifier(this.schema)}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_states")} (workspace text PRIMARY KEY, lineage text NOT NULL, serial bigint NOT NULL, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_state_history")} (workspace text NOT NULL, lineage text NOT NULL, serial bigint NOT NULL, state text NOT NULL, operation text NOT NULL, who text NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workspace, lineage, serial))`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_locks")} (workspace text PRIMARY KEY, id text NOT NULL, info jsonb NOT NULL, backend_pid integer NOT NULL)`);
        await c.query("COMMIT");
      } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        this.ready = null;
        throw new PgStateError("creating the schema", e);
      } finally {
        await c.end().catch(() => undefined);
      }
    })();
    return this.ready;
  }

  private parse(text: string): State {
    const s = JSON.parse(text) as State;
    if (s.version !== STATE_VERSION) throw new Error(`${this.describe()}: state version ${s.version} is not supported (expected ${STATE_VERSION})`);
    return s;
  }

  async read(): Promise<State | null> {
    return this.withClient("reading state", async (c) => {
      const r = await c.query(`SELECT state FROM ${this.q("backplane_states")} WHERE workspace = $1`, [this.opts.workspace]);
      return r.rows.length ? this.parse(r.rows[0].state as string) : null;
    });
  }

  async write(state: State, expectedSerial: number | null, opts: WriteOptions = {}): Promise<void> {
    await this.withClient("writing state", async (c) => {
      const doc = JSON.stringify(state, null, 2) + "\n";
      await c.query("BEGIN");
      try {
        const r = expectedSerial === null
          ? await c.query(`INSERT INTO ${this.q("backplane_states")} (workspace, lineage, serial, state) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace) DO NOTHING`, [this.opts.workspace, state.lineage, state.serial, doc])
          : opts.replaceLineage
            ? await c.query(`UPDATE ${this.q("backplane_states")} SET lineage = $2, serial = $3, state = $4, updated_at = now() WHERE workspace = $1 AND serial = $5`, [this.opts.workspace, state.lineage, state.serial, doc, expectedSerial])
            : await c.query(`UPDATE ${this.q("backplane_states")} SET serial = $3, state = $4, updated_at = now() WHERE workspace = $1 AND lineage = $2 AND serial = $5`, [this.opts.workspace, state.lineage, state.serial, doc, expectedSerial]);
        if (r.rowCount !== 1) {
          const now = await c.query(`SELECT lineage, serial FROM ${this.q("backplane_states")} WHERE workspace = $1`, [this.opts.workspace]);
          const found = now.rows[0] as { lineage: string; serial: string } | undefined;
          if (found && found.lineage !== state.lineage) throw new StateLineageError(state.lineage, found.lineage, this.describe());
          throw new StateConflictError(expectedSerial ?? -1, found ? Number(found.serial) : -1);
        }
        await c.query(`INSERT INTO ${this.q("backplane_state_history")} (workspace, lineage, serial, state, operation, who) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace, lineage, serial) DO UPDATE SET state = EXCLUDED.state, operation = EXCLUDED.operation, who = EXCLUDED.who, written_at = now()`, [this.opts.workspace, state.lineage, state.serial, doc, this.held?.operation ?? "write", this.identity.who]);
        await c.query("COMMIT");
      } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw e;
      }
    });
  }

  async history(): Promise<HistoryEntry[]> {
    return this.withClient("reading the history", async (c) => {
      const r = await c.query(`SELECT serial, lineage, operation, who, written_at, state FROM ${this.q("backplane_state_history")} WHERE workspace = $1 ORDER BY written_at, serial`, [this.opts.workspace]);
      return r.rows.map((x) => ({ serial: Number(x.serial), lineage: x.lineage, operation: x.operation, who: x.who, writtenAt: new Date(x.written_at).toISOString(), resources: Object.keys((JSON.parse(x.state) as State).resources).length }));
    });
  }

  /** An old serial of this workspace's current lineage (or of `lineage`). */
  async readSerial(serial: number, lineage?: string): Promise<State | null> {
    return this.withClient("reading an old serial", async (c) => {
      const r = lineage
        ? await c.query(`SELECT state FROM ${this.q("backplane_state_history")} WHERE workspace = $1 AND serial = $2 AND lineage = $3`, [this.opts.workspace, serial, lineage])
        : await c.query(`SELECT h.state FROM ${this.q("backplane_state_history")} h JOIN ${this.q("backplane_states")} s ON s.workspace = h.workspace AND s.lineage = h.lineage WHERE h.workspace = $1 AND h.serial = $2`, [this.opts.workspace, serial]);
      return r.rows.length ? this.parse(r.rows[0].state as string) : null;
    });
  }

  async lock(operation: string): Promise<LockInfo> {
    await this.ensureSchema();
    const c = await this.connect("taking the lock");
    try {
      const got = await c.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [this.lockKey]);
      if (!got.rows[0].ok) {
        await c.end().catch(() => undefined);
        throw await this.lockedBy();
      }
      const info: LockInfo = { id: randomUUID(), operation, who: this.identity.who, pid: this.identity.pid, hostname: this.identity.hostname, created: new Date().toISOString() };
      // the row of a holder that died is replaced: its advisory lock went with its connection
      await c.query(`INSERT INTO ${this.q("backplane_locks")} (workspace, id, info, backend_pid) VALUES ($1, $2, $3, pg_backend_pid()) ON CONFLICT (workspace) DO UPDATE SET id = EXCLUDED.id, info = EXCLUDED.info, backend_pid = EXCLUDED.backend_pid`, [this.opts.workspace, info.id, JSON.stringify(info)]);
      this.held = { id: info.id, client: c, operation };
      return info;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (e instanceof StateLockedError) throw e;
      throw new PgStateError("taking the lock", e);
    }
  }

  /** The refusal naming the holder, from its row (written right after it took the lock: a moment's wait covers that gap). */
  private async lockedBy(): Promise<StateLockedError> {
    for (let i = 0; i < 20; i++) {
      const row = await this.lockRow();
      if (row) return new StateLockedError(row.info, { scope: this.opts.scope });
      await new Promise((r) => setTimeout(r, 100));
    }
    return new StateLockedError({ id: "unknown", operation: "unknown", who: "unknown", pid: 0, hostname: "unknown", created: "unknown" }, { scope: this.opts.scope });
  }

  private async lockRow(): Promise<{ info: LockInfo; backendPid: number } | null> {
    return this.withClient("reading the lock", async (c) => {
      const r = await c.query(`SELECT info, backend_pid FROM ${this.q("backplane_locks")} WHERE workspace = $1`, [this.opts.workspace]);
      return r.rows.length ? { info: r.rows[0].info as LockInfo, backendPid: r.rows[0].backend_pid as number } : null;
    });
  }

  async unlock(id: string): Promise<void> {
    if (!this.held || this.held.id !== id) throw new Error(`lock ${echo(id)} is not held by this process`);
    const { client } = this.held;
    this.held = null;
    try {
      await client.query(`DELETE FROM ${this.q("backplane_locks")} WHERE workspace = $1 AND id = $2`, [this.opts.workspace, id]);
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [this.lockKey]);
    } finally {
      // ending the session releases the advisory lock in any case
      await client.end().catch(() => undefined);
    }
  }

  async forceUnlock(id: string): Promise<void> {
    const row = await this.lockRow();
    if (!row || (await this.lockFree())) {
      if (row) await this.deleteRow(row.info.id);
      throw new Error("the state is not locked");
    }
    if (row.info.id !== id) throw new Error(`lock ID ${echo(id)} does not match the lock held (${echo(row.info.id)})`);
    if (this.held?.id === id) return this.unlock(id);
    // an advisory lock is released only by its session: end the holder's session
    await this.withClient("ending the lock holder's session", async (c) => {
      await c.query("SELECT pg_terminate_backend($1)", [row.backendPid]);
    });
    await this.deleteRow(id);
    for (let i = 0; i < 50 && !(await this.lockFree()); i++) await new Promise((r) => setTimeout(r, 100));
  }

  private async deleteRow(id: string): Promise<void> {
    await this.withClient("removing the lock row", (c) => c.query(`DELETE FROM ${this.q("backplane_locks")} WHERE workspace = $1 AND id = $2`, [this.opts.workspace, id]));
  }

  /** Whether nobody holds the advisory lock (tried and given back at once). */
  private async lockFree(): Promise<boolean> {
    if (this.held) return false;
    return this.withClient("checking the lock", async (c) => {
      const r = await c.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [this.lockKey]);
      if (r.rows[0].ok) await c.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [this.lockKey]);
      return r.rows[0].ok as boolean;
    });
  }

  async currentLock(): Promise<LockInfo | null> {
    const row = await this.lockRow();
    if (this.held) return row?.info ?? null;
    if (await this.lockFree()) {
      // a row left by a holder that died: the server already released its lock
      if (row) await this.deleteRow(row.info.id);
      return null;
    }
    return row?.info ?? { id: "unknown", operation: "unknown", who: "unknown", pid: 0, hostname: "unknown", created: "unknown" };
  }
}
