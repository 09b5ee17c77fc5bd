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
import { parseRestoreRequest, planRestore, restoreChanged, RestoreRefused, utcStamp, type RestoreInput, type RestoreRecord } from "../../provider/resources/restore.js";
import { describe as describeRestore } from "../../provider/cli/restore-commands.js";
import { parseRefresh } from "../../provider/engine/live.js";
import { splitSections } from "../../provider/engine/batch.js";
import type { HostLive } from "../../provider/model/live.js";
import { toDisplay, type Argv } from "../../provider/model/argv.js";
import { ParseError } from "../../provider/model/fact.js";
import { ROOT, liveFrom } from "./helpers/seed.js";

const captured = (label: string, fact: string, name: string) => readFileSync(join(ROOT, "test", "fixtures", fact, `${label}-${name}`), "utf8");
/** The restore of fxr/app to @s1, the same on zfs-fuse and on OpenZFS 2.3. */
const appSteps = (stamp: string, tmp = `fxr/app-backplane-restore-${stamp}`) => [
  "zfs unmount fxr/app",
  `zfs clone -o mountpoint=none -o backplane:managed=fixture-lineage -o 'com.example:team=media team' -o compression=gzip fxr/app@s1 ${tmp}`,
  `zfs promote ${tmp}`,
  `zfs rename -p fxr/app fxr/backplane-pre-restore-${stamp}/app`,
  `zfs rename ${tmp} fxr/app`,
  "zfs get -Hp -o value guid fxr/app",
  "zfs inherit mountpoint fxr/app",
];
const fixture = (fact: string, name: string) => captured("zfs-fuse-0.7", fact, name);
const snaps = (ds: string, name: string) => snapshotsOf(ds).parse(fixture("zfs-get-snapshots", `${name}.legacy.txt`), "legacy");
const props = (ds: string, name: string) => propertiesOf(ds).parse(fixture("zfs-get-dataset", `${name}.tabs.txt`), "tabs");
const live = () => liveFrom("zfs-fuse-0.7-restore", "prod");
const NOW = new Date("2026-11-26T08:15:30Z");
/** the dataset's record in state, as an apply left it: the GUID the refresh reads, no restore pending */
const recordsFor = (l: HostLive, dataset: string): RestoreRecord[] => [{ address: "backplane_dataset.app", guid: l.datasets.get(dataset)?.get("guid")?.value ?? null, pending: null }];

function input(o: Partial<RestoreInput> & { dataset?: string; to?: string } = {}): RestoreInput {
  const dataset = o.dataset ?? "fxr/app";
  const name = dataset === "fxr/cloned" ? "cloned" : "app";
  return {
    host: "prod", dataset, target: parseRestoreRequest(dataset, o.to ?? "s1"), lineage: "fixture-lineage", live: live(), records: recordsFor(live(), dataset),
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
    expect(p.steps.map((s) => toDisplay(s.command))).toEqual(appSteps(stamp));
    expect(p.steps.some((s) => s.command.some((w) => w.text === "rollback"))).toBe(false);
    expect(p.undo.map(toDisplay)).toEqual([
      "zfs unmount fxr/app",
      `zfs rename fxr/app ${tmp}`,
      `zfs rename fxr/backplane-pre-restore-${stamp}/app fxr/app`,
      "zfs promote fxr/app",
      "zfs mount fxr/app",
      `zfs destroy fxr/backplane-pre-restore-${stamp}`,
    ]);
    // the restored copy is not destroyed by the undo: that is a separate step, printed with a warning
    expect(p.undoCleanup.map(toDisplay)).toEqual([`zfs destroy ${tmp}`]);
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

// ---- OpenZFS 2.3 ---------------------------------------------------------------------------
// The same lab state captured on the vm tier (zfs-2.3.2): every form the host answers. JSON is
// what backplane reads there; the tab-separated and legacy forms are the fallbacks, captured
// on the same host so each can be checked against the JSON.

const fixture23 = (fact: string, name: string) => captured("zfs-2.3", fact, name);
const live23 = () => liveFrom("zfs-2.3-restore", "prod");
type Form = "json" | "tabs" | "legacy";
/** the command a fact runs for one form: the JSON one first, then the fallbacks by name */
const commandFor = (f: { command: Argv; fallbacks: { name: string; command: Argv }[] }, form: Form): Argv =>
  form === "json" ? f.command : f.fallbacks.find((x) => x.name === form)!.command;
const snaps23 = (ds: string, name: string, form: Form = "json") => snapshotsOf(ds).parse(fixture23("zfs-get-snapshots", `${name}.${form}.txt`), form);
const props23 = (ds: string, name: string, form: "json" | "tabs" = "json") => propertiesOf(ds).parse(fixture23("zfs-get-dataset", `${name}.${form}.txt`), form);
/** snapshots compared as plain values (bigint as text: toEqual would pass 0n for 0 anyway, be exact) */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)));

const SNAPSHOT_CASES = [
  ["fxr/app", "app"],
  ["fxr/cloned", "cloned"],
  ["fxr/parent", "parent"],
  ["fxr/with space", "with-space"],
  ["fxr/empty", "none"],
] as const;
const DATASET_CASES = [
  ["fxr/app", "app"],
  ["fxr/cloned", "cloned"],
] as const;

describe("OpenZFS 2.3: the snapshots of one dataset, in every form the host answers", () => {
  it.each(SNAPSHOT_CASES)("%s: the JSON and the tab-separated fallback give the same snapshots; legacy the same without createtxg and written", (ds, name) => {
    const json = snaps23(ds, name, "json");
    expect(plain(snaps23(ds, name, "tabs"))).toEqual(plain(json));
    expect(plain(snaps23(ds, name, "legacy"))).toEqual(plain(json.map((s) => ({ ...s, createtxg: null, written: null }))));
  });

  it.each(SNAPSHOT_CASES.flatMap(([ds, name]) => (["json", "tabs", "legacy"] as const).map((form) => [ds, name, form] as const)))(
    "%s (%s, %s): the captured command is the one the fact runs",
    (ds, name, form) => {
      expect(fixture23("zfs-get-snapshots", `${name}.${form}.cmd`).trim()).toBe(toDisplay(commandFor(snapshotsOf(ds), form)));
    },
  );

  it("lists fxr/app oldest first with createtxg, creation, used, written and holds as numbers, a marker only where set on the snapshot itself", () => {
    expect(snaps23("fxr/app", "app").map((s) => [s.snapshot, s.createtxg, s.creation, s.used, s.written, s.userrefs, s.marker])).toEqual([
      ["s1", 11n, 1795682280, 14336n, 288768n, 0, "fixture-lineage"],
      ["inherits-marker", 12n, 1795682280, 14336n, 540672n, 0, null],
      ["foreign", 13n, 1795682281, 0n, 146432n, 0, "other-lineage"],
      ["held", 14n, 1795682281, 0n, 0n, 1, null],
    ]);
    // markers inherited from the dataset are no ownership of the snapshot
    expect(snaps23("fxr/cloned", "cloned").map((s) => [s.snapshot, s.marker])).toEqual([["a", null], ["b", null]]);
  });

  it("keeps a guid above 2^63 exact (never through a float)", () => {
    expect(snaps23("fxr/app", "app").find((s) => s.snapshot === "held")!.guid).toBe("16611754418669503256");
  });

  it("orders by createtxg, not by the order listed: two snapshots of the same second keep their order when the JSON lists them reversed", () => {
    const doc = JSON.parse(fixture23("zfs-get-snapshots", "app.json.txt"));
    doc.datasets = Object.fromEntries(Object.entries(doc.datasets).reverse());
    expect(snapshotsOf("fxr/app").parse(JSON.stringify(doc), "json").map((s) => s.snapshot)).toEqual(["s1", "inherits-marker", "foreign", "held"]);
  });

  it("in JSON a marker value holding a tab and newlines stays one value: it cannot forge a row", () => {
    const doc = JSON.parse(fixture23("zfs-get-snapshots", "app.json.txt"));
    const forged = "x\t-\nfxr/app@fake\tguid\t1\t-";
    doc.datasets["fxr/app@foreign"].properties["backplane:managed"].value = forged;
    const rows = snapshotsOf("fxr/app").parse(JSON.stringify(doc), "json");
    expect(rows.map((s) => s.snapshot)).toEqual(["s1", "inherits-marker", "foreign", "held"]);
    expect(rows[2]!.marker).toBe(forged);
  });

  const json = () => fixture23("zfs-get-snapshots", "app.json.txt");
  const tabs = () => fixture23("zfs-get-snapshots", "app.tabs.txt");
  const legacy = () => fixture23("zfs-get-snapshots", "app.legacy.txt");
  const dropLastLine = (text: string) => text.split("\n").slice(0, -2).join("\n") + "\n";
  it.each([
    ["JSON cut short", "json", () => json().slice(0, json().length / 2), /not JSON/],
    ["JSON holding a snapshot of another dataset", "json", () => json().replace('"fxr/app@held":{"name":"fxr/app@held"', '"fxr/other@held":{"name":"fxr/other@held"'), /"fxr\/other@held" is not a snapshot of fxr\/app/],
    ["JSON whose entry is not named as its key", "json", () => json().replace('{"name":"fxr/app@held"', '{"name":"fxr/app@forged"'), /not a dataset entry named as its key/],
    ["JSON with a property missing", "json", () => json().replace('"written":{"value":"288768","source":{"type":"NONE","data":"-"}},', ""), /fxr\/app@s1: expected exactly .*missing: written/],
    ["JSON with a property added", "json", () => json().replace('"userrefs":{"value":"0","source":{"type":"NONE","data":"-"}},', '"userrefs":{"value":"0","source":{"type":"NONE","data":"-"}},"mountpoint":{"value":"/","source":{"type":"LOCAL","data":"-"}},'), /expected exactly/],
    ["JSON with a source type it does not know", "json", () => json().replace('"backplane:managed":{"value":"fixture-lineage","source":{"type":"INHERITED"', '"backplane:managed":{"value":"fixture-lineage","source":{"type":"FORGED"'), /unknown source type "FORGED"/],
    ["JSON with a size not in bytes (read without -p)", "json", () => json().replace('"used":{"value":"14336"', '"used":{"value":"14K"'), /used: '14K' is not a number/],
    ["tabs cut inside a row", "tabs", () => tabs().slice(0, tabs().lastIndexOf("\t")), /expected 4 tab-separated columns, got 3/],
    ["tabs missing the last row", "tabs", () => dropLastLine(tabs()), /27 rows is not 7 per object/],
    ["tabs with a row forged by a marker value holding a tab and a newline", "tabs",
      () => tabs().replace("fxr/app@foreign\tbackplane:managed\tother-lineage\tlocal\n", "fxr/app@foreign\tbackplane:managed\tx\t-\nfxr/app@foreign\tbackplane:managed\tfixture-lineage\tlocal\n"),
      /expected property guid, got "backplane:managed"/],
    ["legacy missing the last row", "legacy", () => dropLastLine(legacy()), /24 rows is not 5 per object/],
  ] as const)("refuses %s", (_what, form, make, message) => {
    expect(() => snapshotsOf("fxr/app").parse(make(), form)).toThrow(ParseError);
    expect(() => snapshotsOf("fxr/app").parse(make(), form)).toThrow(message);
  });
});

describe("OpenZFS 2.3: every property of the dataset", () => {
  it.each(DATASET_CASES)("%s: the JSON and the tab-separated fallback give the same properties with the same sources", (ds, name) => {
    const json = props23(ds, name, "json");
    expect(json.size).toBeGreaterThan(70);
    expect([...props23(ds, name, "tabs")]).toEqual([...json]);
  });

  it.each(DATASET_CASES.flatMap(([ds, name]) => (["json", "tabs"] as const).map((form) => [ds, name, form] as const)))(
    "%s (%s, %s): the captured command is the one the fact runs",
    (ds, name, form) => {
      expect(fixture23("zfs-get-dataset", `${name}.${form}.cmd`).trim()).toBe(toDisplay(commandFor(propertiesOf(ds), form)));
    },
  );

  it.each(["json", "tabs"] as const)("keeps sources (%s): what is set locally, inherited, default, and the read-only state", (form) => {
    const p = props23("fxr/app", "app", form);
    expect([...p].filter(([, v]) => v.source.kind === "local").map(([k, v]) => [k, v.value])).toEqual([
      ["compression", "gzip"], ["com.example:team", "media team"], ["backplane:managed", "fixture-lineage"],
    ]);
    expect(p.get("mountpoint")).toEqual({ value: "/fxr/app", source: { kind: "inherited", from: "fxr" } });
    expect(p.get("encryption")).toEqual({ value: "off", source: { kind: "default" } });
    expect(p.get("type")).toEqual({ value: "filesystem", source: { kind: "none" } });
    expect(p.get("mounted")?.value).toBe("yes");
    expect(p.get("written")?.value).toBe("14336");
    expect([...props23("fxr/cloned", "cloned", form)].filter(([, v]) => v.source.kind === "local").map(([k]) => k)).toEqual(["backplane:managed"]);
  });

  const json = () => fixture23("zfs-get-dataset", "app.json.txt");
  const tabs = () => fixture23("zfs-get-dataset", "app.tabs.txt");
  it.each([
    ["JSON cut short", "json", () => json().slice(0, json().length - 10), /not JSON/],
    ["JSON holding a second dataset", "json", () => json().replace('"datasets":{"fxr/app":', '"datasets":{"fxr/other":{"name":"fxr/other","properties":{}},"fxr/app":'), /expected exactly fxr\/app, got fxr\/other, fxr\/app/],
    ["JSON of another dataset", "json", () => json().replace('"datasets":{"fxr/app":{"name":"fxr/app"', '"datasets":{"fxr/other":{"name":"fxr/other"'), /expected exactly fxr\/app, got fxr\/other/],
    ["tabs cut inside a row", "tabs", () => tabs().slice(0, tabs().lastIndexOf("\t")), /expected 4 tab-separated columns, got 3/],
    ["tabs with a row of another dataset", "tabs", () => `${tabs()}fxr/other\tcompression\toff\tlocal\n`, /not fxr\/app/],
    ["tabs with a native property forged by a value holding a newline", "tabs",
      () => tabs().replace("fxr/app\tcom.example:team\tmedia team\tlocal\n", "fxr/app\tcom.example:team\tx\t-\nfxr/app\tmountpoint\t/etc\tlocal\n"), /mountpoint listed twice/],
  ] as const)("refuses %s", (_what, form, make, message) => {
    expect(() => propertiesOf("fxr/app").parse(make(), form)).toThrow(ParseError);
    expect(() => propertiesOf("fxr/app").parse(make(), form)).toThrow(message);
  });
});

describe("OpenZFS 2.3: restore, planned from what the host printed", () => {
  function input23(o: Partial<RestoreInput> & { dataset?: string; to?: string; form?: "json" | "tabs" } = {}): RestoreInput {
    const { form = "json", to = "s1", ...rest } = o;
    const dataset = rest.dataset ?? "fxr/app";
    const name = dataset === "fxr/cloned" ? "cloned" : "app";
    return {
      host: "prod", dataset, target: parseRestoreRequest(dataset, to), lineage: "fixture-lineage", live: live23(), records: recordsFor(live23(), dataset),
      snapshots: snaps23(dataset, name, form), properties: props23(dataset, name, form), now: NOW, discard: false, allowDestroy: false, ...rest,
    };
  }
  const stamp = utcStamp(NOW);
  const tmp = `fxr/app-backplane-restore-${stamp}`;

  it("keeps the current data and the newer snapshots aside, copies every local property onto the clone, and says how much was written since the target", () => {
    const p = planRestore(input23());
    expect(p.newer.map((s) => s.snapshot)).toEqual(["inherits-marker", "foreign", "held"]);
    expect(p.steps.map((s) => toDisplay(s.command))).toEqual(appSteps(stamp));
    // 2.3 has `written`: the dataset's since its newest snapshot plus each newer snapshot's
    expect(p.headWritten).toBe(14336n);
    expect(p.writtenSinceTarget).toBe(14336n + 540672n + 146432n + 0n);
  });

  it("plans the same from the tab-separated fallback as from the JSON", () => {
    const fromJson = planRestore(input23());
    const fromTabs = planRestore(input23({ form: "tabs" }));
    expect(plain(fromTabs)).toEqual(plain(fromJson));
  });

  it("--to TIME picks, among snapshots of the same second, the newest by createtxg", () => {
    // s1 and inherits-marker were both taken in the second 1795682280
    expect(planRestore(input23({ to: new Date(1795682280 * 1000).toISOString() })).target.name).toBe("fxr/app@inherits-marker");
    expect(planRestore(input23({ to: new Date(1795682281 * 1000).toISOString() })).target.name).toBe("fxr/app@held");
  });

  it("restoring to the newest snapshot keeps nothing newer aside and counts only what was written since it", () => {
    const p = planRestore(input23({ dataset: "fxr/cloned", to: "b" }));
    expect(p.newer).toEqual([]);
    expect(p.writtenSinceTarget).toBe(0n);
  });

  it("a snapshot forged into the tab-separated listing by a marker value is no restore target: the refresh's name list decides", () => {
    const forged = fixture23("zfs-get-snapshots", "app.tabs.txt").replace(
      "fxr/app@foreign\tbackplane:managed\tother-lineage\tlocal\n",
      "fxr/app@foreign\tbackplane:managed\tx\t-\n" + [
        "fxr/app@fake\tguid\t1\t-", "fxr/app@fake\tcreatetxg\t99\t-", "fxr/app@fake\tcreation\t1795682282\t-", "fxr/app@fake\tused\t0\t-",
        "fxr/app@fake\twritten\t0\t-", "fxr/app@fake\tuserrefs\t0\t-", "fxr/app@fake\tbackplane:managed\tfixture-lineage\tlocal\n",
      ].join("\n"),
    );
    // the grid holds (a whole forged block: docs/restore.md, Limits), so the listing shows it …
    const snapshots = snapshotsOf("fxr/app").parse(forged, "tabs");
    expect(snapshots.map((s) => s.snapshot)).toContain("fake");
    // … but restore checks the target against the refresh, which no value can forge
    const r = refusal(() => planRestore({ ...input23({ form: "tabs" }), target: { snapshot: "fake" }, snapshots }));
    expect(r.rule).toBe("snapshot exists");
  });

  it.each([
    ["clones of newer snapshots", () => input23({ dataset: "fxr/cloned", to: "a" }), "no clones of newer snapshots", /fxr\/cloned-b \(clone of fxr\/cloned@b\)/],
    ["a dataset another stack manages", () => input23({ lineage: "another" }), "ownership", /belongs to another stack \(backplane:managed=fixture-lineage\)/],
    ["a dataset with child datasets", () => ({ ...input23(), dataset: "fxr/parent", records: recordsFor(live23(), "fxr/parent"), target: { snapshot: "p1" }, snapshots: snaps23("fxr/parent", "parent") }), "no child datasets", /fxr\/parent\/child/],
    ["a dataset nobody manages", () => ({ ...input23(), dataset: "fxr/with space", target: { snapshot: "snap with space" }, snapshots: snaps23("fxr/with space", "with-space") }), "ownership", /not managed by this stack/],
    ["--discard of a held newer snapshot", () => input23({ discard: true, allowDestroy: true }), "no held snapshots discarded", /fxr\/app@held is held/],
    ["a properties read cut before the marker (tabs, at a row's end)", () => ({
      ...input23({ form: "tabs" }),
      properties: propertiesOf("fxr/app").parse(fixture23("zfs-get-dataset", "app.tabs.txt").replace("fxr/app\tbackplane:managed\tfixture-lineage\tlocal\n", ""), "tabs"),
    }), "consistent read", /marker differs between the two reads/],
  ] as const)("refuses %s, naming the rule", (_what, make, rule, message) => {
    const r = refusal(() => planRestore(make()));
    expect(r.rule).toBe(rule);
    expect(r.message).toMatch(message);
  });
});

// ---- review fixes ---------------------------------------------------------------------------
// Inputs derived from the captured OpenZFS 2.3 text: a property row changed, the dataset moved
// one level down (every "fxr/app" of the refresh and the reads renamed), a snapshot renamed.

const refreshText = () => readFileSync(join(ROOT, "test", "fixtures", "refresh", "zfs-2.3-restore.txt"), "utf8");
const refreshNonce = () => readFileSync(join(ROOT, "test", "fixtures", "refresh", "zfs-2.3-restore.nonce"), "utf8").trim();
const liveEdited = (edit: (text: string) => string) => parseRefresh("prod", splitSections(edit(refreshText()), refreshNonce()), []);
/** the tab-separated read of fxr/app with one property's row replaced (value and source as zfs prints them) */
const setRow = (text: string, prop: string, value: string, source: string) => {
  const re = new RegExp(`^fxr/app\\t${prop.replace(/[.:]/g, "\\$&")}\\t.*$`, "m");
  if (!re.test(text)) throw new Error(`no ${prop} row`);
  return text.replace(re, `fxr/app\t${prop}\t${value}\t${source}`);
};
const propsWith = (...rows: [string, string, string][]) =>
  propertiesOf("fxr/app").parse(rows.reduce((t, [p, v, s]) => setRow(t, p, v, s), fixture23("zfs-get-dataset", "app.tabs.txt")), "tabs");
const base23 = (o: Partial<RestoreInput> = {}): RestoreInput => ({
  host: "prod", dataset: "fxr/app", target: { snapshot: "s1" }, lineage: "fixture-lineage", live: live23(), records: recordsFor(live23(), "fxr/app"),
  snapshots: snaps23("fxr/app", "app"), properties: props23("fxr/app", "app"), now: NOW, discard: false, allowDestroy: false, ...o,
});
const shown = (argvs: readonly Argv[]) => argvs.map(toDisplay);
const STAMP = utcStamp(NOW);
const TMP = `fxr/app-backplane-restore-${STAMP}`;
const ASIDE = `fxr/backplane-pre-restore-${STAMP}/app`;

describe("restore: a dataset below the first level of the pool", () => {
  const down = (t: string) => t.replaceAll("fxr/app", "fxr/srv/app");
  const nested = (o: Partial<RestoreInput> = {}): RestoreInput => {
    const live = liveEdited(down);
    return base23({
      dataset: "fxr/srv/app", live, records: recordsFor(live, "fxr/srv/app"),
      snapshots: snapshotsOf("fxr/srv/app").parse(down(fixture23("zfs-get-snapshots", "app.json.txt")), "json"),
      properties: propertiesOf("fxr/srv/app").parse(down(fixture23("zfs-get-dataset", "app.json.txt")), "json"), ...o,
    });
  };

  it("keeps it aside at its full path, and --discard destroys every parent rename -p created, deepest first, by name", () => {
    const p = planRestore(nested({ target: { snapshot: "held" }, discard: true, allowDestroy: true }));
    expect(p.aside).toBe(`fxr/backplane-pre-restore-${STAMP}/srv/app`);
    expect(p.asideAncestors).toEqual([`fxr/backplane-pre-restore-${STAMP}/srv`, `fxr/backplane-pre-restore-${STAMP}`]);
    expect(p.steps.slice(-3).map((s) => toDisplay(s.command))).toEqual([
      `zfs destroy -r fxr/backplane-pre-restore-${STAMP}/srv/app`,
      `zfs destroy fxr/backplane-pre-restore-${STAMP}/srv`,
      `zfs destroy fxr/backplane-pre-restore-${STAMP}`,
    ]);
  });

  it("its undo ends by destroying those parents, deepest first", () => {
    const p = planRestore(nested());
    expect(shown(p.undo).slice(-2)).toEqual([`zfs destroy fxr/backplane-pre-restore-${STAMP}/srv`, `zfs destroy fxr/backplane-pre-restore-${STAMP}`]);
    expect(shown(p.backOut).slice(-2)).toEqual([`zfs destroy fxr/backplane-pre-restore-${STAMP}/srv`, `zfs destroy fxr/backplane-pre-restore-${STAMP}`]);
  });

  it("refuses when a parent rename -p would create exists already (names free)", () => {
    const live = liveEdited(down);
    live.datasets.set(`fxr/backplane-pre-restore-${STAMP}/srv`, new Map(live.datasets.get("fxr/srv/app")!));
    const r = refusal(() => planRestore(nested({ live })));
    expect(r.rule).toBe("names free");
    expect(r.message).toContain(`fxr/backplane-pre-restore-${STAMP}/srv exists already`);
  });
});

describe("restore: properties and mounts", () => {
  it("copies received properties onto the clone like local ones", () => {
    const p = planRestore(base23({ properties: propsWith(["compression", "gzip", "received"]) }));
    expect(toDisplay(p.steps[p.at.clone]!.command)).toContain("-o compression=gzip");
  });

  it.each([["local"], ["received"]])("a %s mountpoint is put back with zfs set, the kept copy gets canmount=noauto, and the undo turns it on again", (source) => {
    const p = planRestore(base23({ properties: propsWith(["mountpoint", "/srv/app", source]) }));
    const steps = p.steps.map((s) => toDisplay(s.command));
    expect(steps).toContain(`zfs set canmount=noauto ${ASIDE}`);
    // 3b comes right after the move aside, before the name is taken again
    expect(steps.indexOf(`zfs set canmount=noauto ${ASIDE}`)).toBe(p.at.aside + 1);
    expect(steps).toContain("zfs set mountpoint=/srv/app fxr/app");
    expect(steps).not.toContain("zfs inherit mountpoint fxr/app");
    // never copied onto the clone (it is made with mountpoint=none)
    expect(steps[p.at.clone]).not.toContain("mountpoint=/srv/app");
    expect(shown(p.undo)).toEqual([
      "zfs unmount fxr/app",
      "zfs set canmount=noauto fxr/app",
      `zfs rename fxr/app ${TMP}`,
      `zfs rename ${ASIDE} fxr/app`,
      "zfs promote fxr/app",
      "zfs set canmount=on fxr/app",
      "zfs mount fxr/app",
      `zfs destroy fxr/backplane-pre-restore-${STAMP}`,
    ]);
  });

  it("a mounted canmount=noauto dataset is mounted again explicitly after the mountpoint is put back", () => {
    const p = planRestore(base23({ properties: propsWith(["canmount", "noauto", "local"]) }));
    const steps = p.steps.map((s) => toDisplay(s.command));
    expect(steps.slice(-2)).toEqual(["zfs inherit mountpoint fxr/app", "zfs mount fxr/app"]);
    expect(steps[p.at.clone]).toContain("-o canmount=noauto");
    expect(steps).not.toContain(`zfs set canmount=noauto ${ASIDE}`);
  });

  it("a dataset that is not mounted is not unmounted first, and the undo does not mount it", () => {
    const p = planRestore(base23({ properties: propsWith(["mounted", "no", "-"]) }));
    expect(p.at.unmount).toBeNull();
    expect(toDisplay(p.steps[0]!.command)).toMatch(/^zfs clone /);
    expect(shown(p.undo)).not.toContain("zfs mount fxr/app");
  });

  it("reads the new GUID right after the rename into place, before anything that may fail after it", () => {
    const p = planRestore(base23());
    expect(p.at.guid).toBe(p.at.inPlace + 1);
    expect(p.steps[p.at.guid]!.captures).toBe("guid");
  });
});

describe("restore: refusals before any command", () => {
  it.each([
    ["a mounted dataset with mountpoint=legacy", () => base23({ properties: propsWith(["mountpoint", "legacy", "local"]) }), "legacy mount", /umount/],
    ["a volume", () => base23({ properties: propsWith(["type", "volume", "-"]) }), "filesystems only", /is a volume/],
    ["an encrypted dataset", () => base23({ properties: propsWith(["encryption", "aes-256-gcm", "-"]) }), "not encrypted", /encrypted \(aes-256-gcm\)/],
    ["a temporary clone's name that exists", () => {
      const live = live23();
      live.datasets.set(TMP, new Map(live.datasets.get("fxr/app")!));
      return base23({ live });
    }, "names free", /the temporary clone would be .*, which exists already/],
    ["a snapshot name that would not fit under the temporary clone", () => base23({
      // fxr/app@<220 characters> fits in 255 bytes; fxr/app-backplane-restore-<UTC>@<220> does not
      snapshots: snaps23("fxr/app", "app").map((s) => (s.snapshot === "held" ? { ...s, snapshot: "h".repeat(220), name: `fxr/app@${"h".repeat(220)}` } : s)),
    }), "names fit", /its snapshot fxr\/app-backplane-restore-20261126T081530Z@hhh/],
    ["a dataset whose recorded GUID is another object's", () => base23({ records: [{ address: "backplane_dataset.app", guid: "123", pending: null }] }), "recorded object", /not the object backplane recorded \(guid 17951311299567243269, recorded 123\).*state rm backplane_dataset\.app/],
    ["a dataset with no record in state", () => base23({ records: [] }), "recorded", /no record in state/],
    ["a dataset with a restore pending", () => base23({ records: [{ ...recordsFor(live23(), "fxr/app")[0]!, pending: { tmp: TMP } }] }), "no restore pending", /did not finish/],
    ["--discard of a snapshot another stack owns", () => base23({ discard: true, allowDestroy: true, snapshots: snaps23("fxr/app", "app").map((s) => ({ ...s, userrefs: 0 })) }),
      "no snapshots of other stacks discarded", /fxr\/app@foreign \(backplane:managed=other-lineage\) belongs to another stack/],
  ] as const)("refuses %s, naming the rule", (_what, make, rule, message) => {
    const r = refusal(() => planRestore(make()));
    expect(r.rule).toBe(rule);
    expect(r.message).toMatch(message);
  });

  it("shows whose each newer snapshot is in the printed table", () => {
    const lines = describeRestore(planRestore(base23()), "prod", "fixture-lineage", "seed");
    expect(lines.find((l) => l.includes("SNAPSHOT"))).toContain("BACKPLANE");
    expect(lines.find((l) => l.includes("fxr/app@foreign"))).toContain("another stack (other-lineage)");
    expect(lines.find((l) => l.includes("fxr/app@held"))!.trimEnd().endsWith("-")).toBe(true);
  });

  it.each(["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T08:60:00Z", "2026-11-26T08:00:60Z", "2026-11-26T08:00:00+24:00"])("refuses --to %s: a time whose fields roll over", (to) => {
    expect(refusal(() => parseRestoreRequest("fxr/app", to)).rule).toBe("--to");
  });

  it("accepts a leap day", () => {
    expect(parseRestoreRequest("fxr/app", "2028-02-29T12:00:00Z")).toEqual({ time: new Date("2028-02-29T12:00:00Z"), text: "2028-02-29T12:00:00Z" });
  });

  it("--to that names an existing snapshot exactly wins over reading it as a time", () => {
    const name = "2020-01-01T00:00:00Z";
    const rename = (t: string) => t.replaceAll("fxr/app@held", `fxr/app@${name}`);
    const live = liveEdited(rename);
    const snapshots = snapshotsOf("fxr/app").parse(rename(fixture23("zfs-get-snapshots", "app.json.txt")), "json");
    // as a time it is before every snapshot; as a name it is the newest one
    expect(planRestore(base23({ live, snapshots, target: parseRestoreRequest("fxr/app", name) })).target.name).toBe(`fxr/app@${name}`);
  });
});

describe("restore: what is read again after the confirmation", () => {
  const before = () => planRestore(base23());
  it("nothing changed: no refusal", () => {
    expect(restoreChanged(before(), planRestore(base23()))).toBeNull();
  });
  it.each([
    ["another object at the name", () => {
      const live = liveEdited((t) => t.replaceAll("17951311299567243269", "17951311299567243268"));
      const props = propertiesOf("fxr/app").parse(fixture23("zfs-get-dataset", "app.tabs.txt").replace("17951311299567243269", "17951311299567243268"), "tabs");
      return base23({ live, properties: props, records: recordsFor(live, "fxr/app") });
    }, /another object now/],
    ["a snapshot taken since", () => base23({ snapshots: [...snaps23("fxr/app", "app"), { ...snaps23("fxr/app", "app")[3]!, name: "fxr/app@new", snapshot: "new", guid: "1" }] }), /snapshots changed/],
    ["unmounted since", () => base23({ properties: propsWith(["mounted", "no", "-"]) }), /was unmounted/],
    ["a property set since", () => base23({ properties: propsWith(["compression", "lz4", "local"]) }), /properties changed/],
  ] as const)("refuses when %s", (_what, make, message) => {
    expect(restoreChanged(before(), planRestore(make()))).toMatch(message);
  });
});
