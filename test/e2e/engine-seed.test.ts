/** The seed stack, planned and applied on real vm-tier hosts; drift; saved plans; locks. */
import { describe, it, expect, beforeAll } from "vitest";
import { cp, rm, readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { backplane, resetHosts, sh, ROOT } from "./helpers.js";
import { LocalStateBackend } from "../../state/local.js";

const SEED = {
  "tank/srv/uploads": { recordsize: "1048576", compression: "zstd", quota: "536870912000" },
  "tank/srv/transcode": { recordsize: "1048576", compression: "off", atime: "off" },
  "tank/srv/logs": { recordsize: "1048576", compression: "zstd-19", atime: "off" },
  "tank/srv/ci-workspace": { recordsize: "16384", compression: "lz4", sync: "disabled" },
  "tank/srv/postgres": { recordsize: "8192", logbias: "throughput", compression: "lz4" },
} as Record<string, Record<string, string>>;

let dir: string;

describe("the seed stack on real hosts", () => {
  beforeAll(async () => {
    await resetHosts();
    dir = join(ROOT, "test", "e2e", ".work", "seed");
    await rm(dir, { recursive: true, force: true });
    await cp(join(ROOT, "examples", "seed"), dir, { recursive: true, filter: (s) => !s.includes("cdktf.out") && !s.endsWith(".tfstate") });
    // main.ts imports ../../constructs: keep the same depth by rewriting to absolute paths.
    const main = join(dir, "main.ts");
    const text = (await readFile(main, "utf8")).replaceAll("../../constructs/", `${ROOT}/constructs/`).replaceAll("../inventory.js", `${ROOT}/examples/inventory.js`);
    await (await import("node:fs/promises")).writeFile(main, text);
  });

  it("plans the pools and the five datasets to add", async () => {
    const r = await backplane(dir, ["plan", "--stack", "seed", "--detailed-exitcode"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(2);
    for (const name of Object.keys(SEED)) expect(r.stdout).toContain(`+ dataset "${name}"`);
    expect(r.stdout).toContain('+ pool "tank"');
    // and the profiles' snapshot policies (snapshots: true) of uploads, logs and postgres
    for (const name of ["uploads", "logs", "postgres"]) expect(r.stdout).toContain(`+ snapshot_policy "tank/srv/${name} snapshot policy"`);
    expect(r.stdout).toContain("Plan: 12 to add, 0 to change, 0 to destroy.");
  });

  it("applies them with exactly the seed's properties, then plans no changes", async () => {
    const a = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
    expect(a.exitCode, a.stderr + a.stdout).toBe(0);
    expect(a.stdout).toMatch(/tank\/srv\/uploads \(prod\): Creation complete after \d+\.\ds/);
    const got = await sh("prod", "zfs get -Hp -o name,property,value,source recordsize,compression,quota,atime,sync,logbias -r tank/srv");
    for (const [name, props] of Object.entries(SEED)) {
      for (const [p, v] of Object.entries(props)) expect(got).toContain(`${name}\t${p}\t${v}\tlocal\n`);
    }
    const again = await backplane(dir, ["plan", "--stack", "seed", "--detailed-exitcode", "--no-synth"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("No changes.");
  });

  it("reports a property changed by hand as drift, names it, and apply repairs it", async () => {
    await sh("prod", "zfs set compression=gzip tank/srv/logs");
    const d = await backplane(dir, ["drift", "--stack", "seed", "--no-synth"]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain("| `tank/srv/logs` | compression | `zstd-19` | `gzip` |");
    const a = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(await sh("prod", "zfs get -H -o value compression tank/srv/logs")).toBe("zstd-19\n");
    expect((await backplane(dir, ["drift", "--stack", "seed", "--no-synth"])).exitCode).toBe(0);
  });

  it("never reports inherited properties as drift", async () => {
    // A parent's change reaches children only where they inherit; none of the managed values are inherited.
    await sh("prod", "zfs set atime=off tank && zfs set com.example:team=media tank/srv");
    const d = await backplane(dir, ["drift", "--stack", "seed", "--no-synth"]);
    expect(d.exitCode, d.stdout).toBe(0);
    await sh("prod", "zfs inherit atime tank && zfs inherit com.example:team tank/srv");
  });

  it("refuses a saved plan after the host changed, naming what changed", async () => {
    await sh("prod", "zfs set recordsize=128K tank/srv/transcode");
    const planFile = join(dir, "repair.plan");
    const p = await backplane(dir, ["plan", "--stack", "seed", "--no-synth", `-out=${planFile}`]);
    expect(p.exitCode).toBe(0);
    await sh("prod", "zfs set atime=on tank/srv/transcode");
    const a = await backplane(dir, ["apply", planFile, "--stack", "seed", "--auto-approve"]);
    expect(a.exitCode).toBe(1);
    expect(a.stderr).toContain("saved plan is stale: prod changed since it was made");
    expect(a.stderr).toContain("tank/srv/transcode atime: off (local) -> on (local)");
    const b = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
    expect(b.exitCode, b.stderr).toBe(0);
  });

  it("applies a fresh saved plan exactly", async () => {
    await sh("prod", "zfs set recordsize=64K tank/srv/logs");
    const planFile = join(dir, "fresh.plan");
    expect((await backplane(dir, ["plan", "--stack", "seed", "--no-synth", "--out", planFile])).exitCode).toBe(0);
    const a = await backplane(dir, ["apply", planFile, "--stack", "seed"]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(await sh("prod", "zfs get -Hp -o value recordsize tank/srv/logs")).toBe("1048576\n");
  });

  it("refuses a second concurrent apply with the lock holder's details", async () => {
    // Another backplane process holds the state lock (a real process, alive, on this machine).
    const holder = spawn(process.execPath, ["--import", "tsx", "-e", `
      const { LocalStateBackend } = await import(${JSON.stringify(join(ROOT, "state", "local.ts"))});
      const b = new LocalStateBackend(${JSON.stringify(join(dir, "terraform.seed.tfstate"))});
      const l = await b.lock("apply");
      console.log(l.id);
      setTimeout(async () => { await b.unlock(l.id); process.exit(0); }, 30000);
    `], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const lockId = await new Promise<string>((resolve) => holder.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));
    try {
      const a = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
      expect(a.exitCode).toBe(1);
      expect(a.stderr).toContain(`state is locked by`);
      expect(a.stderr).toContain(`pid ${holder.pid}`);
      expect(a.stderr).toContain(`for 'apply'`);
      expect(a.stderr).toContain(`lock ID ${lockId}`);
    } finally {
      holder.kill();
    }
    // The holder was killed: its lock is stale and the next apply takes it over.
    const b = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(await new LocalStateBackend(join(dir, "terraform.seed.tfstate")).currentLock()).toBeNull();
  });

  it("refuses to destroy without --allow-destroy, and destroys only what it owns with it", async () => {
    await sh("prod", "zfs create tank/srv/handmade");
    const main = join(dir, "main.ts");
    const text = await readFile(main, "utf8");
    await (await import("node:fs/promises")).writeFile(main, text.replace(/ {4}ciWorkspace: prod\.dataset\([^\n]+\n/, ""));
    const p = await backplane(dir, ["plan", "--stack", "seed"]);
    expect(p.stdout).toContain('- dataset "tank/srv/ci-workspace"');
    expect(p.stdout).toContain("dataset tank/srv/handmade on prod");
    const refused = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("--allow-destroy");
    expect(await sh("prod", "zfs list -H -o name tank/srv/ci-workspace")).toBe("tank/srv/ci-workspace\n");
    await sh("prod", "echo build-cache > /tank/srv/ci-workspace/data");
    const ok = await backplane(dir, ["apply", "--stack", "seed", "--auto-approve", "--no-synth", "--allow-destroy"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await sh("prod", "zfs list -H -o name -r tank/srv")).not.toContain("ci-workspace");
    // Nothing was lost on the spot: moved aside with a safety snapshot, reported as not managed.
    const aside = (await sh("prod", "zfs list -H -o name -r tank | grep '^tank/backplane-pre-[0-9]*/srv/ci-workspace$'")).trim();
    expect(await sh("prod", `cat "$(zfs get -H -o value mountpoint ${aside})/data"`)).toBe("build-cache\n");
    expect(await sh("prod", `zfs list -H -t snapshot -o name ${aside}`)).toMatch(/@backplane-pre-\d+/);
    const after = await backplane(dir, ["plan", "--stack", "seed", "--no-synth"]);
    expect(after.stdout).toContain(`dataset ${aside} on prod`);
    expect(await sh("prod", "zfs list -H -o name tank/srv/handmade")).toBe("tank/srv/handmade\n");
    await (await import("node:fs/promises")).writeFile(main, text);
  });
});
