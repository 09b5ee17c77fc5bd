/**
 * Restore and staging on real vm-tier hosts (OpenZFS 2.3): a restore keeps the data it
 * replaces aside and can be undone; a dataset with children is refused before any command;
 * a staging clone of @latest is pinned to the snapshot it was made from. docs/restore.md.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { backplane, labDisks, project, resetHosts, sh } from "./helpers.js";

const stack = (body: string) => `
  const prod = new Host(stack, "prod", hostProps(prodInv));
  const pool = prod.pool("tank", { name: "tank", vdevs: [${JSON.stringify(labDisks("prod")[0])}] });
  const data = prod.dataset("data", { name: "tank/data", properties: { compression: "lz4" }, dependsOn: [pool] });
  ${body}
`;

/** tank/data with three snapshots, one file whose content says which, and a write after the last. */
async function history(): Promise<void> {
  await sh("prod", [
    "set -e",
    "zfs set com.example:team='media team' tank/data",
    "for s in one two three; do echo $s > /tank/data/f; zfs snapshot tank/data@$s; done",
    "echo four > /tank/data/f",
    "dd if=/dev/urandom of=/tank/data/big bs=64k count=16 2>/dev/null",
  ].join("; "));
}

describe("restore on a real host", () => {
  beforeEach(resetHosts);

  it("restores to a snapshot, keeps the newer data and snapshots aside, and the next plan has no changes", async () => {
    const dir = await project("restore-keep", stack(""));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await history();
    const guidBefore = (await sh("prod", "zfs get -Hp -o value guid tank/data")).trim();

    const list = await backplane(dir, ["snapshots", "tank/data", "--no-synth", "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).snapshots.map((s: { name: string }) => s.name)).toEqual(["tank/data@one", "tank/data@two", "tank/data@three"]);

    const dry = await backplane(dir, ["restore", "tank/data", "--to", "one", "--dry-run", "--no-synth"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("Snapshots newer than the target (2):");
    expect(dry.stdout).toMatch(/Written since the target \(what a rollback would lose\): \d+ bytes/);
    expect(await sh("prod", "cat /tank/data/f")).toBe("four\n");

    const r = await backplane(dir, ["restore", "tank/data", "--to", "tank/data@one", "--auto-approve", "--no-synth"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const aside = /kept aside at (\S+)\./.exec(r.stdout)![1]!;
    expect(aside).toMatch(/^tank\/backplane-pre-restore-\d{8}T\d{6}Z\/data$/);

    // the dataset shows the old content, with its properties and marker; the newer data is aside
    expect(await sh("prod", "cat /tank/data/f")).toBe("one\n");
    expect(await sh("prod", "zfs list -H -t snapshot -o name -d 1 tank/data")).toBe("tank/data@one\n");
    const local = await sh("prod", "zfs get -Hp -s local -o property,value compression,com.example:team,backplane:managed tank/data");
    expect(local).toContain("compression\tlz4\n");
    expect(local).toContain("com.example:team\tmedia team\n");
    expect(await sh("prod", `zfs list -H -t snapshot -o name -d 1 ${aside}`)).toBe(`${aside}@two\n${aside}@three\n`);
    await sh("prod", `zfs set canmount=on ${aside}; zfs mount ${aside} 2>/dev/null; true`);
    expect(await sh("prod", `cat "$(zfs get -H -o value mountpoint ${aside})/f"`)).toBe("four\n");
    expect((await sh("prod", "zfs get -Hp -o value guid tank/data")).trim()).not.toBe(guidBefore);

    // state follows the new object: no "not the recorded object", no changes
    const plan = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(plan.stdout, plan.stderr).toContain("No changes.");
    expect(plan.exitCode).toBe(0);
  });

  it("is undone by the printed commands: the original data and snapshots come back", async () => {
    const dir = await project("restore-undo", stack(""));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await history();
    const r = await backplane(dir, ["restore", "tank/data", "--to", "two", "--auto-approve", "--no-synth"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await sh("prod", "cat /tank/data/f")).toBe("two\n");
    const undo = r.stdout.slice(r.stdout.indexOf("To undo:"), r.stdout.indexOf("The restored copy is then at")).split("\n").slice(1).map((l) => l.trim()).filter((l) => l.startsWith("zfs "));
    // the restored copy is not destroyed by the undo: that is printed apart, with a warning
    expect(undo.some((c) => c.startsWith("zfs destroy") && c.includes("backplane-restore"))).toBe(false);
    const cleanup = r.stdout.slice(r.stdout.indexOf("The restored copy is then at")).split("\n").slice(1).map((l) => l.trim()).filter((l) => l.startsWith("zfs destroy"));
    expect(undo.length).toBeGreaterThan(3);
    // the printed undo assumes the kept copy is not mounted (it is left unmounted); make sure
    const aside = /kept aside at (\S+)\./.exec(r.stdout)![1]!;
    await sh("prod", `zfs unmount ${aside} 2>/dev/null; true`);
    for (const cmd of undo) await sh("prod", cmd);
    expect(await sh("prod", "cat /tank/data/f")).toBe("four\n");
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("backplane-pre-restore");
    for (const cmd of cleanup) await sh("prod", cmd);
    expect(await sh("prod", "zfs list -H -t snapshot -o name -d 1 tank/data")).toBe("tank/data@one\ntank/data@two\ntank/data@three\n");
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("backplane-restore");
  });

  it("--discard without --allow-destroy is refused; with it the kept copy is destroyed", async () => {
    const dir = await project("restore-discard", stack(""));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await history();
    const no = await backplane(dir, ["restore", "tank/data", "--to", "one", "--discard", "--auto-approve", "--no-synth"]);
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain("restore refused (--allow-destroy)");
    const yes = await backplane(dir, ["restore", "tank/data", "--to", "one", "--discard", "--allow-destroy", "--auto-approve", "--no-synth"]);
    expect(yes.exitCode, yes.stdout + yes.stderr).toBe(0);
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("backplane-pre-restore");
  });

  it("two levels below the pool: --discard removes the kept copy and every parent rename -p made; the undo of a kept one leaves no parent behind", async () => {
    const nested = stack(`
      const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [pool] });
      prod.dataset("app", { name: "tank/srv/app", dependsOn: [srv] });
    `);
    const dir = await project("restore-nested", nested);
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "set -e; for s in one two; do echo $s > /tank/srv/app/f; zfs snapshot tank/srv/app@$s; done; echo three > /tank/srv/app/f");

    const kept = await backplane(dir, ["restore", "tank/srv/app", "--to", "one", "--auto-approve", "--no-synth"]);
    expect(kept.exitCode, kept.stdout + kept.stderr).toBe(0);
    const aside = /kept aside at (\S+)\./.exec(kept.stdout)![1]!;
    expect(aside).toMatch(/^tank\/backplane-pre-restore-\d{8}T\d{6}Z\/srv\/app$/);
    expect(await sh("prod", "cat /tank/srv/app/f")).toBe("one\n");
    const undo = kept.stdout.slice(kept.stdout.indexOf("To undo:"), kept.stdout.indexOf("The restored copy is then at")).split("\n").slice(1).map((l) => l.trim()).filter((l) => l.startsWith("zfs "));
    await sh("prod", `zfs unmount ${aside} 2>/dev/null; true`);
    for (const cmd of undo) await sh("prod", cmd);
    expect(await sh("prod", "cat /tank/srv/app/f")).toBe("three\n");
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("backplane-pre-restore");
    await sh("prod", "zfs list -H -o name -r tank | grep backplane-restore | xargs -r -n1 zfs destroy");
    // state: the original object again
    const plain = (await sh("prod", "zfs get -Hp -o value guid tank/srv/app")).trim();
    const state = JSON.parse(await (await import("node:fs/promises")).readFile(`${dir}/terraform.tfstate`, "utf8"));
    const addr = Object.keys(state.resources).find((a) => state.resources[a].id === "tank/srv/app")!;
    expect(addr).toBeTruthy();
    await backplane(dir, ["state", "rm", addr, "--no-synth"]);
    expect((await backplane(dir, ["import", addr, "tank/srv/app", "--no-synth"])).exitCode).toBe(0);
    expect(plain).toMatch(/^\d+$/);

    const gone = await backplane(dir, ["restore", "tank/srv/app", "--to", "one", "--discard", "--allow-destroy", "--auto-approve", "--no-synth"]);
    expect(gone.exitCode, gone.stdout + gone.stderr).toBe(0);
    expect(await sh("prod", "cat /tank/srv/app/f")).toBe("one\n");
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("backplane-pre-restore");
    const plan = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(plan.stdout, plan.stderr).toContain("No changes.");
  });

  it("refuses a dataset with children, a missing snapshot and a hostile name before any command changes the host", async () => {
    const dir = await project("restore-refuse", stack(`
      prod.dataset("child", { name: "tank/data/child", dependsOn: [data] });
    `));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "zfs snapshot tank/data@one");
    const before = await sh("prod", "zfs list -H -t all -o name,guid -r tank");
    const kids = await backplane(dir, ["restore", "tank/data", "--to", "one", "--auto-approve", "--no-synth"]);
    expect(kids.exitCode).toBe(1);
    expect(kids.stderr).toContain("restore refused (no child datasets)");
    const missing = await backplane(dir, ["restore", "tank/data/child", "--to", "nope", "--auto-approve", "--no-synth"]);
    expect(missing.stderr).toContain("restore refused (snapshot exists)");
    const hostile = await backplane(dir, ["restore", "tank/data; touch /tmp/pwned", "--to", "one", "--auto-approve", "--no-synth"]);
    expect(hostile.stderr).toContain("restore refused (dataset name)");
    expect(await sh("prod", "zfs list -H -t all -o name,guid -r tank")).toBe(before);
    expect(await sh("prod", "test -e /tmp/pwned && echo yes || echo no")).toBe("no\n");
  });
});

describe("staging on a real host", () => {
  beforeEach(resetHosts);

  it("clones dataset@latest as planned, stays pinned when a newer snapshot appears, and an ephemeral clone goes without --allow-destroy", async () => {
    const body = (withStaging: boolean) => stack(withStaging ? `new bp.Staging(stack, "stage", { from: data, name: "tank/stage", ephemeral: true });` : "");
    const dir = await project("staging", body(false));
    expect((await backplane(dir, ["apply", "--auto-approve"])).exitCode).toBe(0);
    await sh("prod", "echo first > /tank/data/f; zfs snapshot tank/data@first; echo second > /tank/data/f; zfs snapshot tank/data@second");
    await project("staging", body(true), false);
    const plan = await backplane(dir, ["plan"]);
    expect(plan.stdout).toContain("tank/data@second");
    const a = await backplane(dir, ["apply", "--auto-approve", "--no-synth"]);
    expect(a.exitCode, a.stdout + a.stderr).toBe(0);
    expect(await sh("prod", "zfs get -H -o value origin tank/stage")).toBe("tank/data@second\n");

    await sh("prod", "echo third > /tank/data/f; zfs snapshot tank/data@third");
    const again = await backplane(dir, ["plan", "--detailed-exitcode", "--no-synth"]);
    expect(again.stdout).toContain("No changes.");
    expect(again.exitCode).toBe(0);
    const state = JSON.parse(await (await import("node:fs/promises")).readFile(`${dir}/terraform.tfstate`, "utf8"));
    const rec = Object.values(state.resources as Record<string, { type: string; attributes: Record<string, unknown> }>).find((r) => r.type === "backplane_clone")!;
    expect(rec.attributes).toMatchObject({ origin_snapshot: "tank/data@second", ephemeral: true });

    // removed from the code: destroyed without --allow-destroy because it is ephemeral
    await project("staging", body(false), false);
    const rm = await backplane(dir, ["apply", "--auto-approve"]);
    expect(rm.exitCode, rm.stdout + rm.stderr).toBe(0);
    expect(await sh("prod", "zfs list -H -o name -r tank")).not.toContain("tank/stage");
  });
});
