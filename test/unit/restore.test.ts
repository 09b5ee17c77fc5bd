/**
 * `backplane snapshots` and `backplane restore` on output captured from a real host
 * (test/lab/capture-restore.ts on zfs-fuse 0.7, the old host; the OpenZFS 2.3 forms are
 * captured on the vm tier by the same script). The facts' parsers, then the restore planner:
 * what it keeps, the exact commands, and each refusal before any command.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { propertiesOf, snapshotsOf } from "../../provider/zfs/restore-facts.js";
import { parseRestoreRequest, planRestore, RestoreRefused, utcStamp, type RestoreInput } from "../../provider/resources/restore.js";
import { toDisplay } from "../../provider/model/argv.js";
import { ParseError } from "../../provider/model/fact.js";
import { ROOT, liveFrom } from "./helpers/seed.js";

const fixture = (fact: string, name: string) => readFileSync(join(ROOT, "test", "fixtures", fact, `zfs-fuse-0.7-${name}`), "utf8");
const snaps = (ds: string, name: string) => snapshotsOf(ds).parse(fixture("zfs-get-snapshots", `${name}.legacy.txt`), "legacy");
const props = (ds: string, name: string) => propertiesOf(ds).parse(fixture("zfs-get-dataset", `${name}.tabs.txt`), "tabs");
const live = () => liveFrom("zfs-fuse-0.7-restore", "prod");
const NOW = new Date("2026-11-26T08:15:30Z");

function input(o: Partial<RestoreInput> & { dataset?: string; to?: string } = {}): RestoreInput {
  const dataset = o.dataset ?? "fxr/app";
  const name = dataset === "fxr/cloned" ? "cloned" : "app";
  return {
    host: "prod", dataset, target: parseRestoreRequest(dataset, o.to ?? "s1"), lineage: "fixture-lineage", live: live(),
    snapshots: snaps(dataset, name), properties: props(dataset, name), now: NOW, discard: false, allowDestroy: false, ...o,
  };
}
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof RestoreRefused) return { rule: e.rule, message: e.message };
    throw e;
  }
  throw new Error("not refused");
};

describe("the snapshots of one dataset, as the host printed them", () => {
  it("lists the dataset's own snapshots oldest first, with holds and only local markers as ownership", () => {
    const rows = snaps("fxr/app", "app");
    expect(rows.map((s) => [s.snapshot, s.marker, s.userrefs])).toEqual([
      ["s1", "fixture-lineage", 0],
      ["inherits-marker", null, 0],
      ["foreign", "other-lineage", 0],
      ["held", null, 1],
    ]);
    // zfs-fuse has neither createtxg nor written: said as unknown, never as 0
    expect(rows.every((s) => s.createtxg === null && s.written === null)).toBe(true);
    expect(rows[0]!.used).toBeTypeOf("bigint");
  });

  it("leaves out the children's snapshots (-d 1 lists the child datasets too)", () => {
    expect(snaps("fxr/parent", "parent").map((s) => s.name)).toEqual(["fxr/parent@p1"]);
  });

  it("keeps names with spaces whole, and a dataset without snapshots lists none", () => {
    expect(snaps("fxr/with space", "with-space").map((s) => s.name)).toEqual(["fxr/with space@snap with space"]);
    expect(snaps("fxr/empty", "none")).toEqual([]);
  });

  it("refuses output that is not the grid it asked for: a row missing, a row forged by a value holding a newline", () => {
    const text = fixture("zfs-get-snapshots", "app.legacy.txt");
    const lines = text.split("\n");
    const missing = [...lines.slice(0, 6), ...lines.slice(7)].join("\n");
    expect(() => snapshotsOf("fxr/app").parse(missing, "legacy")).toThrow(ParseError);
    const forged = text.replace("fxr/app@s1\tbackplane:managed\tfixture-lineage\tlocal\n", "fxr/app@s1\tbackplane:managed\tx\nfxr/app@s1\tbackplane:managed\tfixture-lineage\tlocal\n");
    expect(() => snapshotsOf("fxr/app").parse(forged, "legacy")).toThrow(ParseError);
  });

  it("asks with exactly the listed properties, one word per argument (a hostile name stays one word)", () => {
    expect(toDisplay(snapshotsOf("fxr/app").command)).toBe("zfs get -j -p -d 1 -t snapshot -o name,property,value,source guid,createtxg,creation,used,written,userrefs,backplane:managed fxr/app");
    expect(toDisplay(snapshotsOf("fxr/app").fallbacks[0]!.command)).toBe("zfs get -Hp -d 1 -t snapshot -o name,property,value,source guid,createtxg,creation,used,written,userrefs,backplane:managed fxr/app");
    expect(fixture("zfs-get-snapshots", "app.legacy.cmd").trim()).toBe(toDisplay(snapshotsOf("fxr/app").fallbacks[1]!.command));
    expect(toDisplay(snapshotsOf("tank/x; reboot").command).endsWith(" 'tank/x; reboot'")).toBe(true);
  });
});

describe("every property of the dataset", () => {
  it("keeps sources: what is local, inherited, default, and the read-only state", () => {
    const p = props("fxr/app", "app");
    expect(p.get("compression")).toEqual({ value: "gzip", source: { kind: "local" } });
    expect(p.get("com.example:team")).toEqual({ value: "media team", source: { kind: "local" } });
    expect(p.get("mountpoint")).toEqual({ value: "/fxr/app", source: { kind: "inherited", from: "fxr" } });
    expect(p.get("mounted")?.value).toBe("yes");
  });

  it("refuses a row of another dataset and a property listed twice (a forged row)", () => {
    const text = fixture("zfs-get-dataset", "app.tabs.txt");
    expect(() => propertiesOf("fxr/app").parse(`${text}fxr/other\tcompression\toff\tlocal\n`, "tabs")).toThrow(/not fxr\/app/);
    expect(() => propertiesOf("fxr/app").parse(`${text}fxr/app\tmountpoint\t/etc\tlocal\n`, "tabs")).toThrow(/listed twice/);
  });
});

describe("restore: the plan", () => {
  it("keeps the current data and the newer snapshots aside, never rolls back, and copies every local property onto the clone", () => {
    const p = planRestore(input());
    const stamp = utcStamp(NOW);
    expect(stamp).toBe("20261126T081530Z");
    expect(p.target.name).toBe("fxr/app@s1");
    expect(p.newer.map((s) => s.snapshot)).toEqual(["inherits-marker", "foreign", "held"]);
    expect(p.aside).toBe(`fxr/backplane-pre-restore-${stamp}/app`);
    const tmp = `fxr/app-backplane-restore-${stamp}`;
    expect(p.steps.map((s) => toDisplay(s.command))).toEqual([
      "zfs unmount fxr/app",
      `zfs clone -o mountpoint=none -o backplane:managed=fixture-lineage -o 'com.example:team=media team' -o compression=gzip fxr/app@s1 ${tmp}`,
      `zfs promote ${tmp}`,
      `zfs rename -p fxr/app fxr/backplane-pre-restore-${stamp}/app`,
      `zfs rename ${tmp} fxr/app`,
      "zfs inherit mountpoint fxr/app",
      "zfs get -Hp -o value guid fxr/app",
    ]);
    expect(p.steps.some((s) => s.command.some((w) => w.text === "rollback"))).toBe(false);
    expect(p.undo.map(toDisplay)).toEqual([
      "zfs unmount fxr/app",
      `zfs rename fxr/app ${tmp}`,
      `zfs rename fxr/backplane-pre-restore-${stamp}/app fxr/app`,
      "zfs promote fxr/app",
      "zfs mount fxr/app",
      `zfs destroy ${tmp}`,
      `zfs destroy fxr/backplane-pre-restore-${stamp}`,
    ]);
    // zfs-fuse cannot say how much was written: unknown, not zero
    expect(p.writtenSinceTarget).toBeNull();
  });

  it("--to TIME picks the newest snapshot created at or before it; a time before every snapshot is refused", () => {
    const all = snaps("fxr/app", "app");
    const at = new Date(all[0]!.creation * 1000).toISOString();
    // every snapshot of the capture is from the same second: the newest of them is chosen
    expect(planRestore(input({ to: at })).target.name).toBe("fxr/app@held");
    expect(refusal(() => planRestore(input({ to: "2020-01-01T00:00:00Z" }))).rule).toBe("snapshot exists");
  });

  it("--discard destroys the kept copy after the swap, only with --allow-destroy, and never held snapshots", () => {
    expect(refusal(() => planRestore(input({ to: "held", discard: true }))).rule).toBe("--allow-destroy");
    expect(refusal(() => planRestore(input({ to: "s1", discard: true, allowDestroy: true }))).rule).toBe("no held snapshots discarded");
    const p = planRestore(input({ to: "held", discard: true, allowDestroy: true }));
    expect(p.steps.slice(-2).map((s) => toDisplay(s.command))).toEqual([`zfs destroy -r ${p.aside}`, `zfs destroy fxr/backplane-pre-restore-${utcStamp(NOW)}`]);
  });

  it.each([
    ["a snapshot that does not exist", () => input({ to: "nope" }), "snapshot exists", /fxr\/app@nope does not exist on prod \(it has: s1, inherits-marker, foreign, held\)/],
    ["a dataset with child datasets", () => ({ ...input(), dataset: "fxr/parent", target: { snapshot: "p1" }, snapshots: snaps("fxr/parent", "parent") }), "no child datasets", /fxr\/parent\/child/],
    ["clones of newer snapshots", () => input({ dataset: "fxr/cloned", to: "a" }), "no clones of newer snapshots", /fxr\/cloned-b \(clone of fxr\/cloned@b\)/],
    ["a dataset another stack manages", () => input({ lineage: "another" }), "ownership", /belongs to another stack \(backplane:managed=fixture-lineage\)/],
    ["a stack without state (it owns nothing)", () => input({ lineage: null }), "ownership", /belongs to another stack/],
    ["a dataset nobody manages", () => ({ ...input(), dataset: "fxr/with space", target: { snapshot: "snap with space" } }), "ownership", /not managed by this stack/],
    ["the pool's root", () => ({ ...input(), dataset: "fxr" }), "pool root", /root dataset of pool fxr/],
    ["a dataset that does not exist", () => ({ ...input(), dataset: "fxr/gone" }), "exists", /does not exist on prod/],
  ] as const)("refuses %s, naming the rule", (_what, make, rule, message) => {
    const r = refusal(() => planRestore(make()));
    expect(r.rule).toBe(rule);
    expect(r.message).toMatch(message);
  });

  it("restoring to the snapshot a clone was made from is allowed: the clone keeps its origin", () => {
    expect(planRestore(input({ dataset: "fxr/cloned", to: "b" })).newer).toEqual([]);
  });

  it("refuses bad words before anything is read: names, --to", () => {
    expect(refusal(() => parseRestoreRequest("tank/x; reboot", "s1")).rule).toBe("dataset name");
    expect(refusal(() => parseRestoreRequest("tank/x", "other/y@s1")).rule).toBe("--to");
    expect(refusal(() => parseRestoreRequest("tank/x", "s1; rm -rf /")).rule).toBe("--to");
    expect(refusal(() => parseRestoreRequest("tank/x", "2026-11-26T08:00:00")).message).toMatch(/with a zone/);
    expect(parseRestoreRequest("tank/x", "2026-11-26T08:00:00+01:00")).toEqual({ time: new Date("2026-11-26T07:00:00Z"), text: "2026-11-26T08:00:00+01:00" });
    expect(parseRestoreRequest("tank/x", "tank/x@s1")).toEqual({ snapshot: "s1" });
  });
});
