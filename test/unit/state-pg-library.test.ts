/**
 * The PostgreSQL client library is loaded at the first connection (a local-state command never
 * loads it: the CLI bundle leaves it outside). Without it, the backend says what it was doing,
 * never a raw module error, and never the connection string.
 */
import { describe, it, expect, vi } from "vitest";

vi.mock("pg", () => {
  throw new Error("Cannot find package 'pg' imported from /opt/backplane/dist/cli.mjs");
});

const { PgStateBackend, PgStateError } = await import("../../state/pg.js");

describe("the PostgreSQL client library, missing", () => {
  it("is a PgStateError naming the step, without the connection string, at every attempt", async () => {
    const backend = new PgStateBackend({ connStr: "postgres://team:s3cret@db.example:5432/tf", workspace: "w" });
    for (const attempt of [backend.read(), backend.currentLock()]) {
      const e = await attempt.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(PgStateError);
      expect((e as Error).message).toMatch(/^PostgreSQL state: loading the PostgreSQL client \(.+\) failed: /);
      expect((e as Error).message).not.toContain("s3cret");
    }
  });
});
