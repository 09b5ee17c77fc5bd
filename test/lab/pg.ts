/**
 * A throw-away PostgreSQL server for tests and the demo: Debian's postgresql binaries, a
 * cluster in a temporary directory owned by the `postgres` user (initdb refuses root),
 * listening on loopback only on a free port, trust authentication for loopback, stopped
 * (fast) and removed by `stop()`.
 */
import { execa } from "execa";
import { mkdtemp, rm, readdir, chmod, chown } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

export interface PgServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

async function pgBin(): Promise<string> {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? (await readdir(root)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error("PostgreSQL is not installed (Debian: apt-get install postgresql; test/lab/install-deps.sh --tools does it)");
  return join(root, versions[0]!, "bin");
}


/** `fsync: true` for measurements (the tests run without it: faster, and a test server's data is thrown away). */
export async function startPostgres(options: { fsync?: boolean } = {}): Promise<PgServer> {
  const bin = await pgBin();
  const dir = await mkdtemp(join(tmpdir(), "bp-pg-"));
  await chmod(dir, 0o700);
  const { stdout: uid } = await execa("id", ["-u", "postgres"]);
  const { stdout: gid } = await execa("id", ["-g", "postgres"]);
  await chown(dir, Number(uid), Number(gid));
  const asPg = (file: string, args: string[]) => execa("runuser", ["-u", "postgres", "--", file, ...args], { cwd: "/" });
  const data = join(dir, "data");
  await asPg(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=${options.fsync ? "on" : "off"} -c max_connections=50`;
  await asPg(join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async stop() {
      await asPg(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
