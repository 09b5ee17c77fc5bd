/**
 * `backplane state …`: list, show (an old serial too), rm, mv, pull, push, history, and
 * migrate between the local file and PostgreSQL keeping lineage and serial (docs/state.md).
 * Every command that writes holds the state lock and writes by compare-and-swap.
 */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { localStatePath, pgSettings, type Workspace } from "./compose.js";
import type { CliKit } from "./restore-commands.js";
import type { StateBackend } from "../../state/backend.js";
import { LocalStateBackend } from "../../state/local.js";
import { PgStateBackend, DEFAULT_SCHEMA } from "../../state/pg.js";
import { moveInState, pushRefusal, stateDocumentProblems } from "../engine/state-edit.js";
import type { State } from "../model/state.js";
import { lockWithin } from "../../state/lock-wait.js";

const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

interface Common { dir: string; stack?: string; synth: boolean }
interface Locking { lock: boolean; lockTimeout: number }

export interface StateKit extends CliKit {
  project(o: Common, how?: { connects?: boolean }): Promise<Workspace>;
}

export function registerStateCommands(program: Command, kit: StateKit): void {
  const open = (o: Common) => kit.project({ ...o, synth: false }, { connects: false });
  const stateCmd = program.command("state").description("inspect and edit state");

  kit.withCommon(stateCmd.command("list")).action(async (o: Common) => {
    const s = await (await open(o)).backend.read();
    for (const [a, r] of Object.entries(s?.resources ?? {})) out(`${a}\t${r.host}\t${r.id}`);
  });

  kit.withCommon(stateCmd.command("show")).argument("[address]", "one resource (default: the whole state)")
    .option("--serial <n>", "an earlier serial (PostgreSQL keeps them all; the local backend its previous one)")
    .action(async (address: string | undefined, o: Common & { serial?: string }) => {
      const p = await open(o);
      const s = o.serial === undefined ? await p.backend.read() : await oldSerial(p, o.serial);
      if (!s) throw new Error(o.serial === undefined ? "there is no state yet" : `serial ${o.serial} is not kept`);
      if (address === undefined) return out(JSON.stringify(s, null, 2));
      const r = s.resources[address];
      if (!r) throw new Error(`${address} is not in state${o.serial !== undefined ? ` serial ${o.serial}` : ""}`);
      out(JSON.stringify({ address, ...r }, null, 2));
    });

  kit.withLocking(kit.withCommon(stateCmd.command("rm"))).argument("<address>").action(async (address: string, o: Common & Locking) => {
    const p = await open(o);
    await kit.withStateLock(p, o, "state rm", async () => {
      const s = await p.backend.read();
      if (!s?.resources[address]) throw new Error(`${address} is not in state`);
      const expected = s.serial;
      delete s.resources[address];
      s.serial = expected + 1;
      await p.backend.write(s, expected);
      out(`Removed ${address} from state (the object on the host is untouched).`);
    });
  });

  kit.withLocking(kit.withCommon(stateCmd.command("mv").description("rename a resource in state (after refactoring the construct tree), so it is not destroyed and created again")))
    .argument("<address>").argument("<new-address>")
    .action(async (from: string, to: string, o: Common & Locking) => {
      const p = await open(o);
      await kit.withStateLock(p, o, "state mv", async () => {
        const s = await p.backend.read();
        if (!s) throw new Error("there is no state yet");
        await p.backend.write(moveInState(s, from, to, p.graph.resources.get(to)?.host), s.serial);
        out(`Moved ${from} to ${to}.${p.graph.resources.has(to) ? "" : ` (${to} is not in the stack's code yet: the next plan proposes to remove it unless the code declares it)`}`);
      });
    });

  kit.withCommon(stateCmd.command("pull").description("print the stored state (JSON)")).action(async (o: Common) => {
    const s = await (await open(o)).backend.read();
    if (!s) throw new Error("there is no state yet");
    out(JSON.stringify(s, null, 2));
  });

  kit.withLocking(kit.withCommon(stateCmd.command("push").description("replace the stored state with a file: refused for another lineage or a serial not higher than the stored one, unless --force")))
    .argument("<file>").option("--force", "replace whatever is stored")
    .action(async (file: string, o: Common & Locking & { force?: boolean }) => {
      const incoming = parseStateFile(await readFile(resolve(file), "utf8"), file);
      const p = await open(o);
      await kit.withStateLock(p, o, "state push", async () => {
        const stored = await p.backend.read();
        const refusal = pushRefusal(stored, incoming, o.force === true);
        if (refusal) throw new Error(`state push refused: ${refusal}`);
        await p.backend.write(incoming, stored?.serial ?? null, { replaceLineage: o.force === true });
        out(`Pushed ${file}: lineage ${incoming.lineage}, serial ${incoming.serial}, ${Object.keys(incoming.resources).length} resources.`);
      });
    });

  kit.withCommon(stateCmd.command("history").description("every serial written, with who, when and the operation (PostgreSQL backend)")).option("--json", "machine-readable")
    .action(async (o: Common & { json?: boolean }) => {
      const p = await open(o);
      if (!(p.backend instanceof PgStateBackend)) throw new Error(`${p.backend.describe()} keeps no history (only its previous serial, in the .backup file); the PostgreSQL backend keeps every serial`);
      const h = await p.backend.history();
      if (o.json) return out(JSON.stringify(h, null, 2));
      out("SERIAL  WRITTEN AT                OPERATION   WHO                       RESOURCES  LINEAGE");
      for (const x of h) out(`${String(x.serial).padEnd(7)} ${x.writtenAt.padEnd(25)} ${x.operation.padEnd(11)} ${x.who.padEnd(25)} ${String(x.resources).padEnd(10)} ${x.lineage}`);
    });

  kit.withLocking(kit.withCommon(stateCmd.command("migrate").description("copy the stack's state between the local file and PostgreSQL, keeping lineage and serial")))
    .requiredOption("--to <backend>", "pg or local")
    .option("--path <file>", "the local state file (default: the stack's LocalBackend path, or terraform.<stack>.tfstate)")
    .option("--schema <name>", `PostgreSQL schema (default: the stack's PgBackend schemaName, PG_SCHEMA_NAME or ${DEFAULT_SCHEMA})`)
    .action(async (o: Common & Locking & { to: string; path?: string; schema?: string }) => {
      if (o.to !== "pg" && o.to !== "local") throw new Error("--to takes pg or local");
      const p = await open(o);
      const local = new LocalStateBackend(localStatePath(p, o.path));
      const { connStr, schema } = pgSettings(p, o.schema);
      if (!connStr) throw new Error("state migrate needs the PostgreSQL connection string: set PG_CONN_STR");
      const pgb = new PgStateBackend({ connStr, schema, workspace: p.stack });
      const [from, to] = o.to === "pg" ? [local, pgb] : [pgb, local];
      await withBothLocks(from, to, o, async () => {
        const s = await from.read();
        if (!s) throw new Error(`${from.describe()} holds no state to migrate`);
        const there = await to.read();
        if (there && (there.lineage !== s.lineage || there.serial >= s.serial)) {
          if (there.lineage === s.lineage && there.serial === s.serial) return out(`${to.describe()} already holds lineage ${s.lineage} serial ${s.serial}: nothing to do.`);
          throw new Error(`${to.describe()} already holds a state (lineage ${there.lineage}, serial ${there.serial}); it is not overwritten by lineage ${s.lineage} serial ${s.serial}`);
        }
        await to.write(s, there?.serial ?? null);
        out(`Migrated state of stack ${p.stack} from ${from.describe()} to ${to.describe()}: lineage ${s.lineage}, serial ${s.serial}, ${Object.keys(s.resources).length} resources. Point the stack's backend at it (${o.to === "pg" ? "PgBackend" : "LocalBackend"}) before the next plan.`);
      });
    });

  async function oldSerial(p: Workspace, serialText: string): Promise<State | null> {
    if (!/^\d+$/.test(serialText)) throw new Error(`--serial takes a whole number, not '${serialText}'`);
    const n = Number(serialText);
    if (p.backend instanceof PgStateBackend) return p.backend.readSerial(n);
    if (p.backend instanceof LocalStateBackend) {
      const current = await p.backend.read();
      if (current?.serial === n) return current;
      const backup = await readFile(p.backend.backupPath, "utf8").then((t) => JSON.parse(t) as State, () => null);
      return backup?.serial === n ? backup : null;
    }
    return null;
  }

  async function withBothLocks(a: StateBackend, b: StateBackend, o: Locking, fn: () => Promise<void>): Promise<void> {
    if (!o.lock) return fn();
    const la = await lockWithin(a, "state migrate", o.lockTimeout, {});
    try {
      const lb = await lockWithin(b, "state migrate", o.lockTimeout, {});
      try {
        await fn();
      } finally {
        await b.unlock(lb.id);
      }
    } finally {
      await a.unlock(la.id);
    }
  }
}

function parseStateFile(text: string, file: string): State {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  const problems = stateDocumentProblems(doc);
  if (problems.length) throw new Error(`${file} is not a backplane state: ${problems.join("; ")}`);
  return doc as State;
}
