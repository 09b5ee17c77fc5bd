/**
 * PostgreSQL state, shared by a team (docs/state.md). One row per workspace (the stack) with
 * lineage, serial and the state document; every serial written also goes to a history table
 * (who, when, operation), never overwritten. Writes are compare-and-swap — `UPDATE … WHERE
 * lineage = $ AND serial = $` — so a write from a stale serial or a foreign lineage is refused,
 * where Terraform's pg backend upserts. The lock is `pg_try_advisory_lock` held by a connection
 * of its own (the server releases it when that client dies, however it dies) plus a row saying
 * who holds it, so a refused client can name the holder. While the lock is held, writes go
 * through that same connection: a lock lost mid-command (the session ended by force-unlock, a
 * server restart, a dropped link) makes the next write fail instead of racing the next holder.
 * The connection string never appears in a message.
 */
import type pg from "pg";
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import type { StateBackend, WriteOptions } from "./backend.js";
import { echo } from "../provider/model/echo.js";
import { STATE_VERSION, StateConflictError, StateLineageError, StateLockedError, type LockInfo, type State } from "../provider/model/state.js";

export const DEFAULT_SCHEMA = "terraform_remote_state";

/**
 * The PostgreSQL client library, loaded at the first connection: a command whose stack keeps
 * its state in a local file never loads it (it was a tenth of a plan's start-up; the CLI
 * bundle leaves it outside: provider/build/bundle-cli.ts).
 */
let library: Promise<typeof pg> | null = null;
const loadPg = () => (library ??= import("pg").then((m) => m.default, (e: unknown) => {
  library = null; // a later connection tries again
  throw e;
}));

/** How long one statement may wait (a row locked by someone's open psql transaction): then it fails, it never hangs. */
const STATEMENT_TIMEOUT_MS = 60_000;

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

/** The lock this process held is gone (its session ended): nothing more may be written under it. */
export class StateLockLostError extends Error {
  constructor(readonly lockId: string, why: string) {
    super(`the state lock ${lockId} was lost (${echo(why)}): another process may hold it now, so nothing more is written; run plan again to see where the hosts stand`);
    this.name = "StateLockLostError";
  }
}

const UNKNOWN_HOLDER = (serverPid: number | null): LockInfo => ({ id: "unknown", operation: "unknown", who: `unknown (server session ${serverPid ?? "?"})`, pid: 0, hostname: "unknown", created: "unknown" });

const ours = (e: unknown) => e instanceof StateConflictError || e instanceof StateLineageError || e instanceof StateLockedError || e instanceof StateLockLostError;

export class PgStateBackend implements StateBackend {
  private readonly schema: string;
  private readonly identity: { pid: number; hostname: string; who: string };
  private ready: Promise<void> | null = null;
  private held: { id: string; client: pg.Client; operation: string; lost: string | null } | null = null;

  constructor(private readonly opts: PgStateOptions) {
    this.schema = opts.schema ?? DEFAULT_SCHEMA;
    this.identity = opts.identity ?? { pid: process.pid, hostname: hostname(), who: `${userInfo().username}@${hostname()}` };
  }

  describe(): string {
    return `PostgreSQL state (schema ${this.schema}, workspace ${this.opts.workspace})`;
  }

  /** set by the first connect(); every query, hence every q(), comes after it */
  private pg: typeof pg | null = null;

  private ident(name: string): string {
    if (!this.pg) throw new Error("internal: a PostgreSQL identifier quoted before the client library was loaded");
    return this.pg.escapeIdentifier(name);
  }

  private q(table: string): string {
    return `${this.ident(this.schema)}.${this.ident(table)}`;
  }

  /** The advisory lock's two keys: schema and workspace hashed apart (no separator two names could share). */
  private get lockArgs(): [string, string] {
    return [this.schema, this.opts.workspace];
  }

  private async connect(what: string): Promise<pg.Client> {
    let pg: typeof import("pg").default;
    try {
      pg = this.pg = await loadPg();
    } catch (e) {
      throw new PgStateError(`loading the PostgreSQL client (${what})`, e);
    }
    const c = new pg.Client({ connectionString: this.opts.connStr, application_name: "backplane", connectionTimeoutMillis: 15_000, statement_timeout: STATEMENT_TIMEOUT_MS, keepAlive: true });
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

  /** One short-lived client per operation (no pool: a CLI run makes few queries and must exit when done). */
  private async withClient<T>(what: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    await this.ensureSchema();
    const c = await this.connect(what);
    try {
      return await fn(c);
    } catch (e) {
      if (ours(e)) throw e;
      throw new PgStateError(what, e);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /**
   * The tables, created only when missing: a team role may hold no CREATE right at all (the
   * check comes first; PostgreSQL checks privileges before IF NOT EXISTS). Grants a role
   * needs: docs/state.md.
   */
  private ensureSchema(): Promise<void> {
    this.ready ??= (async () => {
      const c = await this.connect("checking the tables");
      try {
        const tables = ["backplane_states", "backplane_state_history", "backplane_locks"];
        const r = await c.query("SELECT count(*)::int AS n FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL", [tables.map((t) => this.q(t))]);
        if (r.rows[0].n === tables.length) return;
        await c.query("BEGIN");
        // two first runs at once: CREATE … IF NOT EXISTS alone can still collide
        await c.query("SELECT pg_advisory_xact_lock(hashtext('backplane:schema'))");
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.ident(this.schema)}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_states")} (workspace text PRIMARY KEY, lineage text NOT NULL, serial bigint NOT NULL, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
        // every write its own row (a forced push of an older serial does not replace what was written before)
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_state_history")} (id bigserial PRIMARY KEY, workspace text NOT NULL, lineage text NOT NULL, serial bigint NOT NULL, resources integer NOT NULL, state text NOT NULL, operation text NOT NULL, who text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.q("backplane_locks")} (workspace text PRIMARY KEY, id text NOT NULL, info jsonb NOT NULL, backend_pid integer NOT NULL)`);
        await c.query("COMMIT");
      } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        this.ready = null;
        throw new PgStateError("creating the tables", e);
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
    // a serial only grows (a forced push may put an older one back)
    if (expectedSerial !== null && state.serial <= expectedSerial && !opts.replaceLineage) throw new Error(`state serial ${state.serial} does not follow serial ${expectedSerial}`);
    await this.ensureSchema();
    if (this.held) {
      const held = this.held;
      if (held.lost) throw new StateLockLostError(held.id, held.lost);
      // under the lock, through the lock's own session: if that session is gone, so is the write
      try {
        await this.writeOn(held.client, state, expectedSerial, opts);
      } catch (e) {
        if (ours(e)) throw e;
        held.lost ??= (e as Error).message;
        throw new StateLockLostError(held.id, held.lost);
      }
      return;
    }
    await this.withClient("writing state", (c) => this.writeOn(c, state, expectedSerial, opts));
  }

  private async writeOn(c: pg.Client, state: State, expectedSerial: number | null, opts: WriteOptions): Promise<void> {
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
        if (found && found.lineage !== state.lineage && !opts.replaceLineage) throw new StateLineageError(state.lineage, found.lineage, this.describe());
        throw new StateConflictError(expectedSerial ?? -1, found ? Number(found.serial) : -1);
      }
      await c.query(`INSERT INTO ${this.q("backplane_state_history")} (workspace, lineage, serial, resources, state, operation, who) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [this.opts.workspace, state.lineage, state.serial, Object.keys(state.resources).length, doc, this.held?.operation ?? "write", this.identity.who]);
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }

  async history(): Promise<HistoryEntry[]> {
    return this.withClient("reading the history", async (c) => {
      const r = await c.query(`SELECT serial, lineage, operation, who, written_at, resources FROM ${this.q("backplane_state_history")} WHERE workspace = $1 ORDER BY id`, [this.opts.workspace]);
      return r.rows.map((x) => ({ serial: Number(x.serial), lineage: x.lineage, operation: x.operation, who: x.who, writtenAt: new Date(x.written_at).toISOString(), resources: Number(x.resources) }));
    });
  }

  /** An old serial of this workspace's current lineage (or of `lineage`): the last one written under that number. */
  async readSerial(serial: number, lineage?: string): Promise<State | null> {
    return this.withClient("reading an old serial", async (c) => {
      const r = lineage
        ? await c.query(`SELECT state FROM ${this.q("backplane_state_history")} WHERE workspace = $1 AND serial = $2 AND lineage = $3 ORDER BY id DESC LIMIT 1`, [this.opts.workspace, serial, lineage])
        : await c.query(`SELECT h.state FROM ${this.q("backplane_state_history")} h JOIN ${this.q("backplane_states")} s ON s.workspace = h.workspace AND s.lineage = h.lineage WHERE h.workspace = $1 AND h.serial = $2 ORDER BY h.id DESC LIMIT 1`, [this.opts.workspace, serial]);
      return r.rows.length ? this.parse(r.rows[0].state as string) : null;
    });
  }

  async lock(operation: string): Promise<LockInfo> {
    await this.ensureSchema();
    const c = await this.connect("taking the lock");
    try {
      const got = await c.query("SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok", this.lockArgs);
      if (!got.rows[0].ok) {
        await c.end().catch(() => undefined);
        throw await this.lockedBy();
      }
      const info: LockInfo = { id: randomUUID(), operation, who: this.identity.who, pid: this.identity.pid, hostname: this.identity.hostname, created: new Date().toISOString() };
      // the row of a holder that died is replaced: its advisory lock went with its connection
      await c.query(`INSERT INTO ${this.q("backplane_locks")} (workspace, id, info, backend_pid) VALUES ($1, $2, $3, pg_backend_pid()) ON CONFLICT (workspace) DO UPDATE SET id = EXCLUDED.id, info = EXCLUDED.info, backend_pid = EXCLUDED.backend_pid`, [this.opts.workspace, info.id, JSON.stringify(info)]);
      const held = { id: info.id, client: c, operation, lost: null as string | null };
      // the session ending (terminated, server restart, link dropped) is the lock ending
      c.on("error", (e: Error) => (held.lost ??= e.message));
      c.on("end", () => (held.lost ??= "its database session ended"));
      this.held = held;
      return info;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (ours(e)) throw e;
      throw new PgStateError("taking the lock", e);
    }
  }

  /** The server session holding this workspace's advisory lock, or null when nobody does. */
  private async holderPid(c: pg.Client): Promise<number | null> {
    const r = await c.query("SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = hashtext($1)::oid AND l.objid = hashtext($2)::oid", this.lockArgs);
    return r.rows.length ? (r.rows[0].pid as number) : null;
  }

  /** Who holds the lock: the row whose session is the holder's (a row of a dead holder names nobody). */
  private async holder(): Promise<{ pid: number | null; info: LockInfo | null }> {
    return this.withClient("reading the lock", async (c) => {
      const pid = await this.holderPid(c);
      const r = await c.query(`SELECT info, backend_pid FROM ${this.q("backplane_locks")} WHERE workspace = $1`, [this.opts.workspace]);
      const row = r.rows[0] as { info: LockInfo; backend_pid: number } | undefined;
      return { pid, info: row && pid !== null && row.backend_pid === pid ? row.info : null };
    });
  }

  /** The refusal naming the holder (its row is written just after it took the lock: a moment's wait covers that). */
  private async lockedBy(): Promise<StateLockedError> {
    let last: { pid: number | null; info: LockInfo | null } = { pid: null, info: null };
    for (let i = 0; i < 20; i++) {
      last = await this.holder();
      if (last.info) return new StateLockedError(last.info, { scope: this.opts.scope });
      await new Promise((r) => setTimeout(r, 100));
    }
    return new StateLockedError(UNKNOWN_HOLDER(last.pid), { scope: this.opts.scope });
  }

  async unlock(id: string): Promise<void> {
    if (!this.held || this.held.id !== id) throw new Error(`lock ${echo(id)} is not held by this process`);
    const held = this.held;
    this.held = null;
    try {
      if (held.lost) throw new StateLockLostError(held.id, held.lost);
      await held.client.query("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", this.lockArgs);
      await held.client.query(`DELETE FROM ${this.q("backplane_locks")} WHERE workspace = $1 AND id = $2`, [this.opts.workspace, id]);
    } catch (e) {
      if (ours(e)) throw e;
      throw new StateLockLostError(held.id, (e as Error).message);
    } finally {
      // ending the session releases the advisory lock in any case
      await held.client.end().catch(() => undefined);
    }
  }

  /**
   * Ends the holder's session (an advisory lock is released only by its own session), after
   * checking the ID against the holder's row; `unknown` ends a holder that has no row.
   */
  async forceUnlock(id: string): Promise<void> {
    if (this.held?.id === id) return this.unlock(id);
    const h = await this.holder();
    if (h.pid === null) throw new Error("the state is not locked");
    const actual = h.info?.id ?? "unknown";
    if (actual !== id) throw new Error(`lock ID ${echo(id)} does not match the lock held (${echo(actual)})`);
    await this.withClient("ending the lock holder's session", async (c) => {
      const r = await c.query("SELECT pg_terminate_backend($1) AS ok", [h.pid]);
      if (!r.rows[0].ok) throw new Error(`could not end the holder's session (server pid ${h.pid}): the role needs to be the holder's or have pg_signal_backend`);
      for (let i = 0; i < 50 && (await this.holderPid(c)) === h.pid; i++) await new Promise((res) => setTimeout(res, 100));
      if ((await this.holderPid(c)) === h.pid) throw new Error(`the holder's session (server pid ${h.pid}) is still there after 5 s`);
      await c.query(`DELETE FROM ${this.q("backplane_locks")} WHERE workspace = $1 AND id = $2`, [this.opts.workspace, actual]);
    });
  }

  async currentLock(): Promise<LockInfo | null> {
    const h = await this.holder();
    if (h.pid === null) return null;
    return h.info ?? UNKNOWN_HOLDER(h.pid);
  }
}
