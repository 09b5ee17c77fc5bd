/**
 * Replication planned on real captured host states (test/lab/capture-replication.sh): the
 * stack prod → dr over WireGuard, in sync, behind, diverged, interrupted, never applied;
 * the incremental path on the snapshot chains those hosts held.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makePlan } from "../../provider/engine/plan.js";
import { loadStack, type DesiredGraph } from "../../provider/engine/load.js";
import { renderHuman, renderJson } from "../../provider/engine/render.js";
import { hasChanges, pendingSyncs, type Plan, type Sync } from "../../provider/model/plan.js";
import { toDisplay, toShell } from "../../provider/model/argv.js";
import type { HostLive } from "../../provider/model/live.js";
import type { State } from "../../provider/model/state.js";
import { describeConflict, incrementalPath, newestCommon, type ChainSnapshot } from "../../provider/zfs/replication-path.js";
import { replicationKeys } from "../../provider/zfs/replication-facts.js";
import { replicationId } from "../../provider/resources/replication.js";
import { liveFrom, ROOT } from "./helpers/seed.js";

const fx = (f: string) => join(ROOT, "test", "fixtures", "refresh", f);
const graph = (): DesiredGraph => loadStack(JSON.parse(readFileSync(fx("zfs-2.3-repl.cdk.tf.json"), "utf8")));
const recorded = (): State => JSON.parse(readFileSync(fx("zfs-2.3-repl.state.json"), "utf8")) as State;
const host = (label: string, name: string) => liveFrom(label, name, { replication: true });
/** the replication snapshots a captured host holds of a dataset, oldest first (names change with every capture) */
const repl = (label: string, name: string, dataset: string) => [...host(label, name).snapshots.values()].filter((x) => x.dataset === dataset && x.snapshot.startsWith("backplane-repl-")).sort((a, b) => (a.createtxg < b.createtxg ? -1 : 1));
const [U1, U2] = repl("zfs-2.3-prod-repl-synced", "prod", "tank/srv/uploads").map((x) => x.snapshot) as [string, string];
const [P1] = repl("zfs-2.3-prod-repl-synced", "prod", "tank/srv/postgres").map((x) => x.snapshot) as [string];
/** a plan made 10 minutes after the newest snapshot of uploads */
const NOW = host("zfs-2.3-prod-repl-synced", "prod").replication!.snapshots.get(`tank/srv/uploads@${U2}`)!.creation + 600;

function plan(prod: HostLive, dr: HostLive, opts: { state?: State | null; graph?: DesiredGraph } = {}): Plan {
  return makePlan({ stack: "replication-capture", graph: opts.graph ?? graph(), state: opts.state === undefined ? recorded() : opts.state, live: new Map([["prod", prod], ["dr", dr]]), newLineage: "00000000-0000-4000-8000-000000000000", now: NOW });
}
const sync = (p: Plan, dataset: string): Sync => p.syncs!.find((s) => s.source === dataset)!;
const replications = (p: Plan) => p.changes.filter((c) => c.type === "backplane_replication");

describe("replication on captured hosts", () => {
  it("in sync: keys and authorisations match, nothing to send, no changes, no drift", () => {
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-synced", "dr"));
    expect(p.errors).toEqual([]);
    expect(p.drift).toEqual([]);
    expect(replications(p).map((c) => c.action)).toEqual(["noop", "noop", "noop"]);
    expect(p.syncs!.map((s) => s.status)).toEqual(["in sync", "in sync", "in sync"]);
    expect(hasChanges(p)).toBe(false);
    // what dr received belongs to the replications: not reported as left alone
    expect(p.notManaged.filter((n) => n.host === "dr")).toEqual([]);
    expect(renderHuman(p, { color: false })).toContain("No changes.");
  });

  it("behind: new writes and a snapshot made by hand go as one -I incremental from the newest common snapshot (by GUID)", () => {
    const p = plan(host("zfs-2.3-prod-repl-behind", "prod"), host("zfs-2.3-dr-repl-synced", "dr"));
    expect(p.errors).toEqual([]);
    const s = sync(p, "tank/srv/uploads");
    expect(s).toMatchObject({ status: "behind", behind: 1, send: "incremental", from: `tank/srv/uploads@${U2}`, lagSeconds: 600, rollsBack: null });
    // the writes were snapshotted by hand: nothing written since that snapshot
    expect(s.written).toBe(0);
    const args = s.run!.command.slice(4).map((w) => w.text);
    expect(args.slice(0, 5)).toEqual(["tank/srv/uploads", "backplane-repl-", recorded().lineage, "incremental", `tank/srv/uploads@${U2}`]);
    expect(sync(p, "tank/srv/postgres").status).toBe("in sync");
    expect(pendingSyncs(p).map((x) => x.source)).toEqual(["tank/srv/uploads"]);
    const text = renderHuman(p, { color: false });
    expect(text).toContain(`prod:tank/srv/uploads → dr:backup/prod/uploads: 1 snapshot behind, lag 10m — apply sends an incremental from @${U2}`);
    expect(text).toContain("Plan: 0 to add, 0 to change, 0 to destroy, 1 to replicate.");
    expect(JSON.parse(renderJson(p)).replications.find((r: { source: string }) => r.source === "tank/srv/uploads")).toMatchObject({ status: "behind", send: "incremental", behind: 1 });
  });

  it("retention: the source keeps retain_source replication snapshots (the new one counts), the target retain_target; the hold moves by this replication's tag", () => {
    const p = plan(host("zfs-2.3-prod-repl-behind", "prod"), host("zfs-2.3-dr-repl-synced", "dr"));
    const s = sync(p, "tank/srv/uploads");
    const words = s.run!.command.map((w) => w.text);
    // two replication snapshots on prod, retain_source 3: none pruned
    expect(words.at(-1)).toBe("");
    const uploads = [...graph().resources.values()].find((r) => r.config.source_dataset === "tank/srv/uploads")!;
    expect(words).toContain(`backplane-repl-${replicationId(recorded().lineage, uploads.address)}`);
    expect(s.pruneTarget).toBeNull();
    // a retention of one: everything older than the new snapshot goes (never a snapshot made by hand)
    const g = graph();
    for (const r of g.resources.values()) if (r.type === "backplane_replication") Object.assign(r.config, { retain_source: 1, retain_target: 1 });
    const one = sync(plan(host("zfs-2.3-prod-repl-behind", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { graph: g }), "tank/srv/uploads");
    expect(one.run!.command.at(-1)!.text.split("\n")).toEqual([`tank/srv/uploads@${U1}`, `tank/srv/uploads@${U2}`]);
    expect(toShell(one.pruneTarget!.command)).toContain(`backup/prod/uploads@${U1} backup/prod/uploads@${U2}`);
    expect(toShell(one.pruneTarget!.command)).not.toContain("handmade");
    // a snapshot with the prefix that this stack did not mark (another stack, or by hand) is never pruned on the source
    const prod = host("zfs-2.3-prod-repl-behind", "prod");
    prod.snapshots.get(`tank/srv/uploads@${U1}`)!.marker = "another-stack";
    const foreign = sync(plan(prod, host("zfs-2.3-dr-repl-synced", "dr"), { graph: g }), "tank/srv/uploads");
    expect(foreign.run!.command.at(-1)!.text.split("\n")).toEqual([`tank/srv/uploads@${U2}`]);
  });

  it("diverged: a snapshot only the target has refuses the plan with the common snapshot and the target-only ones", () => {
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-diverged", "dr"));
    expect(p.errors.map((e) => e.message)).toEqual([
      `backup/prod/postgres on dr diverged from tank/srv/postgres on prod: the newest common snapshot is @${P1}, and only the target has @handmade; backplane does not overwrite a diverged target unless the replication sets allow_rollback_target (zfs recv -F destroys them)`,
    ]);
    expect(p.syncs!.some((s) => s.source === "tank/srv/postgres")).toBe(false);
  });

  it("diverged with allow_rollback_target: receives with -F from the common snapshot, and says what it loses", () => {
    const g = graph();
    for (const r of g.resources.values()) if (r.type === "backplane_replication" && r.config.source_dataset === "tank/srv/postgres") r.config.allow_rollback_target = true;
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-diverged", "dr"), { graph: g });
    expect(p.errors).toEqual([]);
    const s = sync(p, "tank/srv/postgres");
    expect(s).toMatchObject({ status: "behind", send: "incremental", from: `tank/srv/postgres@${P1}`, rollsBack: ["backup/prod/postgres@handmade"] });
    expect(renderHuman(p, { color: false })).toContain("ROLLS BACK the target (allow_rollback_target), losing backup/prod/postgres@handmade");
    // the target's forced command changes to one with -F: the authorisation is rewritten
    const c = replications(p).find((x) => x.id.startsWith("tank/srv/postgres"))!;
    expect(c.action).toBe("update");
    expect(c.reason).toBe("authorisation differs on dr");
    expect(toDisplay(c.steps[0]!.handOver!.command)).toContain("zfs recv -s -u -F -o readonly=on");
  });

  it("never applied: the key is made on prod and authorised on dr through the hand-over; no private key in any command", () => {
    const p = plan(host("zfs-2.3-prod-repl-none", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { state: null });
    const c = replications(p).find((x) => x.id.startsWith("tank/srv/uploads"))!;
    expect(c).toMatchObject({ action: "create", alsoUses: ["dr"] });
    expect(c.steps.map((s) => s.label)).toEqual(["Authorizing the replication key", "Reading the replication key"]);
    expect(c.steps[0]!.handOver!.host).toBe("dr");
    expect(c.steps[1]!.captures).toBe("public_key");
    const shown = JSON.stringify(c.steps.map((s) => [toDisplay(s.command), s.handOver ? toDisplay(s.handOver.command) : ""]));
    expect(shown).not.toMatch(/PRIVATE KEY|BEGIN OPENSSH/);
    // dr's host key, pinned in the stack, is what prod's ssh will accept on the tunnel address
    expect(toDisplay(c.steps[0]!.command)).toMatch(/'10\.201\.0\.\d+ ssh-ed25519 AAAA[A-Za-z0-9+/]+'/);
  });

  it("an authorisation removed from dr by hand is drift that apply puts back", () => {
    const dr = host("zfs-2.3-dr-repl-synced", "dr");
    const uploads = [...graph().resources.values()].find((r) => r.config.source_dataset === "tank/srv/uploads")!;
    expect(dr.replication!.keys.authorized.delete(replicationId(recorded().lineage, uploads.address))).toBe(true);
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), dr);
    const changed = replications(p).filter((c) => c.action !== "noop");
    expect(changed).toHaveLength(1);
    expect(changed[0]!.reason).toBe("authorisation missing on dr");
  });

  it("interrupted: the target's resume token is sent first (send -t), then the rest", () => {
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-interrupted", "dr"));
    expect(p.errors).toEqual([]);
    const s = sync(p, "tank/srv/uploads");
    expect(s).toMatchObject({ status: "interrupted", send: "resume" });
    const token = host("zfs-2.3-dr-repl-interrupted", "dr").replication!.datasets.get("backup/prod/uploads")!.resumeToken!;
    expect(token).toMatch(/^1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    expect(s.run!.command.map((w) => w.text)).toContain(token);
    expect(renderHuman(p, { color: false })).toContain("an interrupted transfer — apply resumes it from the target's resume token, then sends the rest");
  });

  it("a target host without a pinned host key is refused: the source could not check whom it sends to", () => {
    const g = graph();
    delete g.hosts.get("dr")!.hostKey;
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { graph: g });
    expect(p.errors.filter((e) => e.message.includes("has no pinned host_key"))).toHaveLength(3);
  });
});

describe("the incremental path on captured snapshot chains", () => {
  const chain = (l: HostLive, dataset: string): ChainSnapshot[] =>
    [...l.snapshots.values()].filter((s) => s.dataset === dataset).map((s) => ({ name: s.snapshot, guid: s.guid, createtxg: s.createtxg, creation: l.replication!.snapshots.get(s.name)!.creation }));
  const prodBehind = host("zfs-2.3-prod-repl-behind", "prod");
  const prodSynced = host("zfs-2.3-prod-repl-synced", "prod");
  const drSynced = host("zfs-2.3-dr-repl-synced", "dr");
  const drDiverged = host("zfs-2.3-dr-repl-diverged", "dr");
  const target = (l: HostLive, d: string) => ({ exists: true, snapshots: chain(l, d), resumeToken: l.replication!.datasets.get(d)!.resumeToken, written: l.replication!.datasets.get(d)!.written });

  it.each([
    ["a target that does not exist: full", chain(prodSynced, "tank/srv/uploads"), { exists: false, snapshots: [], resumeToken: null, written: 0 }, { kind: "full" }],
    ["a resume token comes before anything else", chain(prodSynced, "tank/srv/uploads"), { ...target(drSynced, "backup/prod/uploads"), resumeToken: "1-abc-10-789c" }, { kind: "resume", token: "1-abc-10-789c" }],
    ["no snapshot in common (another dataset's chain)", chain(prodSynced, "tank/srv/uploads"), target(drSynced, "backup/prod/postgres"), { kind: "conflict", conflict: { type: "no-common", targetSnapshots: [`${P1}`] } }],
  ])("%s", (_, source, tgt, expected) => {
    expect(incrementalPath(source, tgt)).toEqual(expected);
  });

  it("behind: from the newest common snapshot, with what the target lacks", () => {
    const path = incrementalPath(chain(prodBehind, "tank/srv/uploads"), target(drSynced, "backup/prod/uploads"));
    expect(path.kind).toBe("incremental");
    if (path.kind !== "incremental") return;
    expect(path.from.name).toBe(`${U2}`);
    expect(path.behind.map((s) => s.name)).toEqual(["handmade"]);
  });

  it("diverged: the target-only snapshot is the evidence", () => {
    const path = incrementalPath(chain(prodSynced, "tank/srv/postgres"), target(drDiverged, "backup/prod/postgres"));
    expect(path).toMatchObject({ kind: "conflict", conflict: { type: "diverged", common: { name: `${P1}` }, targetOnly: ["handmade"] } });
  });

  it("modified: bytes written on the target after the common snapshot", () => {
    const path = incrementalPath(chain(prodSynced, "tank/srv/uploads"), { ...target(drSynced, "backup/prod/uploads"), written: 4096 });
    expect(path).toMatchObject({ kind: "conflict", conflict: { type: "modified", written: 4096 } });
  });

  it("the order the hosts list snapshots in does not matter: the newest common one and what is behind come by createtxg", () => {
    const inOrder = incrementalPath(chain(prodBehind, "tank/srv/uploads"), target(drSynced, "backup/prod/uploads"));
    const reversed = incrementalPath(chain(prodBehind, "tank/srv/uploads").reverse(), { ...target(drSynced, "backup/prod/uploads"), snapshots: chain(drSynced, "backup/prod/uploads").reverse() });
    expect(reversed).toEqual(inOrder);
    const diverged = incrementalPath(chain(prodSynced, "tank/srv/postgres").reverse(), { ...target(drDiverged, "backup/prod/postgres"), snapshots: chain(drDiverged, "backup/prod/postgres").reverse() });
    expect(diverged).toMatchObject({ kind: "conflict", conflict: { type: "diverged", common: { name: `${P1}` }, targetOnly: ["handmade"] } });
  });

  it("a target-only snapshot older than the common one (the source pruned its copy) is not divergence: the target is not rolled back for it", () => {
    const dst = chain(drSynced, "backup/prod/uploads");
    const oldest = dst.reduce((a, b) => (a.createtxg < b.createtxg ? a : b));
    const kept = { ...oldest, name: "kept-on-target", guid: `${oldest.guid}7`, createtxg: oldest.createtxg - 1n };
    const path = incrementalPath(chain(prodSynced, "tank/srv/uploads"), { ...target(drSynced, "backup/prod/uploads"), snapshots: [kept, ...dst] });
    expect(path).toEqual(incrementalPath(chain(prodSynced, "tank/srv/uploads"), target(drSynced, "backup/prod/uploads")));
    expect(path).toMatchObject({ kind: "incremental", from: { name: `${U2}` }, behind: [] });
  });

  it("a target-only snapshot between two common ones (kept longer on the target) is not divergence", () => {
    const [u1, u2] = chain(drSynced, "backup/prod/uploads") as [ChainSnapshot, ChainSnapshot];
    const between = { ...u1, name: "kept-on-target", guid: `${u1.guid}7`, createtxg: u1.createtxg + 1n };
    expect(between.createtxg).toBeLessThan(u2.createtxg);
    const path = incrementalPath(chain(prodSynced, "tank/srv/uploads"), { ...target(drSynced, "backup/prod/uploads"), snapshots: [u1, between, u2] });
    expect(path).toMatchObject({ kind: "incremental", from: { name: `${U2}` }, behind: [] });
  });

  it("what the target lacks, what only it has and what it holds without a common one are listed oldest first, whatever order the hosts list them in", () => {
    // dr as it was after the first transfer (only U1), against prod behind (U1, U2, handmade)
    const [u1] = chain(drSynced, "backup/prod/uploads") as [ChainSnapshot];
    const behind = incrementalPath(chain(prodBehind, "tank/srv/uploads").reverse(), { ...target(drSynced, "backup/prod/uploads"), snapshots: [u1] });
    expect(behind).toMatchObject({ kind: "incremental", from: { name: `${U1}` } });
    expect(behind.kind === "incremental" && behind.behind.map((x) => x.name)).toEqual([`${U2}`, "handmade"]);
    // two snapshots made by hand on the diverged target
    const dst = chain(drDiverged, "backup/prod/postgres");
    const handmade = dst.find((x) => x.name === "handmade")!;
    const later = { ...handmade, name: "handmade-2", guid: `${handmade.guid}9`, createtxg: handmade.createtxg + 5n };
    const diverged = incrementalPath(chain(prodSynced, "tank/srv/postgres"), { ...target(drDiverged, "backup/prod/postgres"), snapshots: [later, ...[...dst].reverse()] });
    expect(diverged).toMatchObject({ kind: "conflict", conflict: { type: "diverged", targetOnly: ["handmade", "handmade-2"] } });
    // uploads' chain offered as postgres' target: nothing in common
    const noCommon = incrementalPath(chain(prodSynced, "tank/srv/postgres"), { ...target(drSynced, "backup/prod/uploads"), snapshots: chain(drSynced, "backup/prod/uploads").reverse() });
    expect(noCommon).toEqual({ kind: "conflict", conflict: { type: "no-common", targetSnapshots: [`${U1}`, `${U2}`] } });
  });

  it("each conflict says what the target holds and what the operator can do", () => {
    const common = chain(prodSynced, "tank/srv/uploads")[1]!;
    expect(describeConflict({ type: "no-common", targetSnapshots: [] }, "backup/x on dr", "tank/x on prod")).toBe(
      "backup/x on dr exists but shares no snapshot with tank/x on prod (it has no snapshot): backplane never overwrites it; receive into a new dataset, or destroy it yourself");
    expect(describeConflict({ type: "no-common", targetSnapshots: [U1, U2] }, "backup/x on dr", "tank/x on prod")).toBe(
      `backup/x on dr exists but shares no snapshot with tank/x on prod (it has @${U1}, @${U2}): backplane never overwrites it; receive into a new dataset, or destroy it yourself`);
    expect(describeConflict({ type: "modified", common, written: 4096 }, "backup/x on dr", "tank/x on prod")).toBe(
      `backup/x on dr was modified since the common snapshot @${U2} (4096 bytes written): backplane does not roll it back unless the replication sets allow_rollback_target (zfs recv -F discards those writes)`);
    expect(describeConflict({ type: "diverged", common, targetOnly: ["a", "b"] }, "backup/x on dr", "tank/x on prod")).toBe(
      `backup/x on dr diverged from tank/x on prod: the newest common snapshot is @${U2}, and only the target has @a, @b; backplane does not overwrite a diverged target unless the replication sets allow_rollback_target (zfs recv -F destroys them)`);
  });

  it("common means the same GUID: a snapshot re-made under the same name is not common", () => {
    const src = chain(prodSynced, "tank/srv/uploads");
    const dst = chain(drSynced, "backup/prod/uploads").map((s) => ({ ...s, guid: `${s.guid}0` }));
    expect(newestCommon(src, dst)).toBeNull();
  });
});

describe("the replication keys read", () => {
  it("a hand-written authorized_keys line that only mentions the tag is not taken for backplane's", () => {
    const k = replicationKeys.parse("auth\tssh-ed25519 AAAA my own key, not backplane-replication=0123456789abcdef really\nauth\tcommand=\"x\" ssh-ed25519 AAAA backplane-replication=0123456789abcdef\n");
    expect([...k.authorized.keys()]).toEqual(["0123456789abcdef"]);
  });
  it("refuses a line that is not one of its tags; two lines for one replication read as differing", () => {
    expect(() => replicationKeys.parse("token\t0123456789abcdef\tssh-ed25519 AAAA\n")).toThrow();
    // two lines for one replication (a hand edit) read as differing: the next apply rewrites them as one
    expect(replicationKeys.parse("auth\ta backplane-replication=0123456789abcdef\nauth\tb backplane-replication=0123456789abcdef\n").authorized.get("0123456789abcdef")).toBe("(several lines)");
    // a file backplane did not name is not one of its keys
    expect(replicationKeys.parse("key\tid_rsa\tssh-rsa AAAA\n").publicKeys.size).toBe(0);
  });
});

describe("replication layouts and changes refused before anything runs", () => {
  const reps = (g: DesiredGraph) => [...g.resources.values()].filter((r) => r.type === "backplane_replication");
  const messages = (g: DesiredGraph, s: State | null = recorded()) => plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { graph: g, state: s }).errors.map((e) => e.message);

  it.each([
    ["two replications of one source dataset", (g: DesiredGraph) => { reps(g)[1]!.config.source_dataset = reps(g)[0]!.config.source_dataset; }, /is replicated by backplane_replication\..* already: one replication per source dataset/],
    ["two replications into one target", (g: DesiredGraph) => { reps(g)[1]!.config.target_dataset = reps(g)[0]!.config.target_dataset; }, /is the target of backplane_replication\..* already: one replication per target dataset/],
    ["a target the stack also declares as a dataset", (g: DesiredGraph) => {
      const ds = [...g.resources.values()].find((r) => r.type === "backplane_dataset" && r.host === "dr")!;
      g.resources.set("backplane_dataset.clash", { ...ds, address: "backplane_dataset.clash", config: { ...ds.config, name: reps(g)[0]!.config.target_dataset } });
    }, /is also declared as backplane_dataset\.clash: a replication target is created by its first receive/],
  ])("%s", (_, edit, message) => {
    const g = graph();
    edit(g);
    expect(messages(g, null).join("\n")).toMatch(message);
  });

  it("a source or target changed in place is refused: the chain, holds and key belong to the old one", () => {
    const g = graph();
    reps(g)[0]!.config.target_dataset = "backup/prod/elsewhere";
    expect(messages(g).join("\n")).toMatch(/target_dataset cannot change on an existing replication \(was backup\/prod\/\w+\)/);
  });

  it("removing a replication takes its authorisation off the target and its key and holds off the source; the data stays", () => {
    const g = graph();
    const gone = reps(g).find((r) => r.config.source_dataset === "tank/srv/uploads")!;
    g.resources.delete(gone.address);
    g.order = g.order.filter((a) => a !== gone.address);
    const p = plan(host("zfs-2.3-prod-repl-synced", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { graph: g });
    const c = p.changes.find((x) => x.address === gone.address)!;
    expect(c).toMatchObject({ action: "delete", destructive: false, alsoUses: ["dr"] });
    expect(c.reason).toContain("backup/prod/uploads on dr and the snapshots stay");
    expect(c.steps.map((s) => [s.on ?? "prod", s.command.slice(4).map((w) => w.text)])).toEqual([
      ["dr", [replicationId(recorded().lineage, gone.address)]],
      ["prod", [replicationId(recorded().lineage, gone.address), `backplane-repl-${replicationId(recorded().lineage, gone.address)}`, "tank/srv/uploads"]],
    ]);
  });
});

describe("drift of a replication's key", () => {
  it("this replication's own key file gone or replaced on the source is drift; another replication's key does not hide it", () => {
    const prod = host("zfs-2.3-prod-repl-synced", "prod");
    const p0 = plan(prod, host("zfs-2.3-dr-repl-synced", "dr"));
    const c = p0.changes.find((x) => x.type === "backplane_replication" && x.id.startsWith("tank/srv/uploads"))!;
    const state = recorded();
    state.resources[c.address]!.attributes = { ...c.after! };
    const id = c.after!.key_id as string;
    expect(plan(prod, host("zfs-2.3-dr-repl-synced", "dr"), { state }).drift).toEqual([]);
    const other = [...prod.replication!.keys.publicKeys.entries()].find(([k]) => k !== id)!;
    prod.replication!.keys.publicKeys.set(id, other[1]);
    expect(plan(prod, host("zfs-2.3-dr-repl-synced", "dr"), { state }).drift).toEqual([{ address: c.address, host: "prod", id: c.id, property: "replication key", recorded: "present", live: "replaced" }]);
    prod.replication!.keys.publicKeys.delete(id);
    expect(plan(prod, host("zfs-2.3-dr-repl-synced", "dr"), { state }).drift.map((d) => d.live)).toEqual(["missing"]);
  });
});

describe("a volume as the source", () => {
  it("a volume the same apply creates is authorised without canmount (which a volume does not have)", () => {
    const g = graph();
    const ds = [...g.resources.values()].find((r) => r.type === "backplane_dataset" && r.config.name === "tank/srv/uploads")!;
    ds.config = { ...ds.config, type: "volume", name: "tank/srv/vol" };
    for (const r of g.resources.values()) if (r.type === "backplane_replication" && r.config.source_dataset === "tank/srv/uploads") r.config.source_dataset = "tank/srv/vol";
    const p = plan(host("zfs-2.3-prod-repl-none", "prod"), host("zfs-2.3-dr-repl-synced", "dr"), { graph: g, state: null });
    const c = p.changes.find((x) => x.type === "backplane_replication" && x.id.startsWith("tank/srv/vol"))!;
    const authorize = toDisplay(c.steps[0]!.handOver!.command);
    expect(authorize).toContain("zfs recv -s -u -o readonly=on backup/prod/uploads");
    expect(authorize).not.toContain("canmount");
  });
});
