/**
 * The conformance suite every state backend must pass (Terraform's TestFull idea): the same
 * tests against the local JSON file and PostgreSQL. A store is named by a spec so a separate
 * process (hold-lock.mts) can open it too: the SIGKILL test kills a real holder.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { hostname } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { StateBackend } from "../../../state/backend.js";
import { LocalStateBackend } from "../../../state/local.js";
import { PgStateBackend } from "../../../state/pg.js";
import { newState, StateConflictError, StateLineageError, StateLockedError } from "../../../provider/model/state.js";

export type StoreSpec = { kind: "local"; path: string } | { kind: "pg"; url: string; schema: string; workspace: string };

export function openStore(s: StoreSpec): StateBackend {
  return s.kind === "local" ? new LocalStateBackend(s.path) : new PgStateBackend({ connStr: s.url, schema: s.schema, workspace: s.workspace });
}

const here = dirname(fileURLToPath(import.meta.url));

export function conformance(name: string, freshSpec: () => StoreSpec, extra?: () => void) {
  describe(`${name} state backend`, () => {
    let spec: StoreSpec;
    let b: StateBackend;
    beforeEach(() => {
      spec = freshSpec();
      b = openStore(spec);
    });

    it("reads nothing before the first write", async () => {
      expect(await b.read()).toBeNull();
    });

    it("writes and reads back a state", async () => {
      const s = { ...newState("lineage-1"), serial: 1, resources: { "backplane_dataset.a": { type: "backplane_dataset", host: "prod", id: "tank/a", attributes: { properties: { quota: "536870912000" } } } } };
      await b.write(s, null);
      expect(await b.read()).toEqual(s);
    });

    it("keeps the lineage and the serial as written, serial after serial", async () => {
      for (let serial = 1; serial <= 3; serial++) await b.write({ ...newState("stable"), serial }, serial === 1 ? null : serial - 1);
      expect(await openStore(spec).read()).toMatchObject({ lineage: "stable", serial: 3 });
    });

    it("refuses a write whose expected serial is stale (compare-and-swap)", async () => {
      await b.write({ ...newState("l"), serial: 1 }, null);
      await b.write({ ...newState("l"), serial: 2 }, 1);
      await expect(b.write({ ...newState("l"), serial: 2 }, 1)).rejects.toBeInstanceOf(StateConflictError);
      // a first write when a state exists is stale too
      await expect(openStore(spec).write({ ...newState("l"), serial: 1 }, null)).rejects.toBeInstanceOf(StateConflictError);
      expect((await b.read())!.serial).toBe(2);
    });

    it("refuses a write whose serial does not follow the one it replaces", async () => {
      await b.write({ ...newState("l"), serial: 5 }, null);
      await expect(b.write({ ...newState("l"), serial: 5 }, 5)).rejects.toThrow(/serial 5 does not follow serial 5/);
      await expect(b.write({ ...newState("l"), serial: 3 }, 5)).rejects.toThrow(/does not follow/);
      expect((await b.read())!.serial).toBe(5);
    });

    it("refuses a write of another lineage, whatever its serial, and writes nothing", async () => {
      await b.write({ ...newState("mine"), serial: 1 }, null);
      const e = await b.write({ ...newState("theirs"), serial: 2 }, 1).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StateLineageError);
      expect((e as Error).message).toMatch(/lineage theirs .* holds lineage mine/);
      expect(await b.read()).toMatchObject({ lineage: "mine", serial: 1 });
    });

    it("gives the lock to one holder and names it to the next", async () => {
      const l = await b.lock("apply");
      const other = openStore(spec);
      const e = await other.lock("plan").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StateLockedError);
      expect((e as StateLockedError).holder).toMatchObject({ id: l.id, operation: "apply", pid: process.pid, hostname: hostname() });
      expect((e as Error).message).toContain(`backplane force-unlock ${l.id}`);
      await b.unlock(l.id);
      const again = await other.lock("plan");
      await other.unlock(again.id);
    });

    it("two clients racing for the lock: exactly one wins, the other is told who holds it", async () => {
      const clients = Array.from({ length: 4 }, () => openStore(spec));
      const got = await Promise.allSettled(clients.map((c) => c.lock("apply")));
      const won = got.filter((g) => g.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const g of got) if (g.status === "rejected") expect(g.reason).toBeInstanceOf(StateLockedError);
      const i = got.findIndex((g) => g.status === "fulfilled");
      await clients[i]!.unlock((won[0] as PromiseFulfilledResult<{ id: string }>).value.id);
    });

    it("force-unlock needs the right lock ID", async () => {
      const l = await b.lock("apply");
      await expect(b.forceUnlock("wrong")).rejects.toThrow(/does not match/);
      await b.forceUnlock(l.id);
      expect(await b.currentLock()).toBeNull();
    });

    it("a holder killed with SIGKILL leaves the lock free for the next client", async () => {
      const child = execa(process.execPath, ["--import", "tsx", join(here, "hold-lock.mts"), JSON.stringify(spec)], { reject: false });
      const id = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          const m = /locked (\S+)/.exec(d.toString());
          if (m) resolve(m[1]!);
        });
        child.catch(reject);
        setTimeout(() => reject(new Error("the holder never took the lock")), 30_000);
      });
      expect((await b.lock("plan").catch((x: unknown) => x))).toBeInstanceOf(StateLockedError);
      child.kill("SIGKILL");
      await child;
      const l = await b.lock("apply");
      expect(l.id).not.toBe(id);
      await b.unlock(l.id);
    }, 60_000);

    extra?.();
  });
}
