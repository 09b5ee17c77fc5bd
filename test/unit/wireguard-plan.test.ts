/**
 * WireGuard planning on a real 3-host mesh with preshared keys: cdk.tf.json, state and the
 * refresh of each host captured from the vm-tier lab (test/fixtures/wg-mesh, refresh/*wg-psk*).
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadStack, type DesiredGraph } from "../../provider/engine/load.js";
import { loadRefusal } from "./helpers/load.js";
import { makePlan, replanDeferred } from "../../provider/engine/plan.js";
import { renderHuman, renderJson } from "../../provider/engine/render.js";
import { toDisplay } from "../../provider/model/argv.js";
import { pskPairs } from "../../provider/resources/wireguard-psk.js";
import { planImport } from "../../provider/engine/import.js";
import type { HostLive } from "../../provider/model/live.js";
import { wgDump } from "../../provider/wg/facts.js";
import { ParseError } from "../../provider/model/fact.js";
import type { State } from "../../provider/model/state.js";
import { ROOT, liveFrom } from "./helpers/seed.js";

const fixture = (name: string) => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "wg-mesh", name), "utf8"));
const doc = () => fixture("psk-mesh.cdk.tf.json");
const graph = (): DesiredGraph => loadStack(doc());
const state = (): State => fixture("psk-mesh.state.json");
const HOSTS = ["prod", "dr", "h3"];
const lives = (over: Record<string, string> = {}): Map<string, HostLive> =>
  new Map(HOSTS.map((h) => [h, liveFrom(over[h] ?? `zfs-2.3-${h}-wg-psk-mesh`, h)]));
/** The captured mesh with prod's wg0 marker file saying `marker` (null: no marker file). */
const relabel = (marker: string | null): Map<string, HostLive> => {
  const l = lives();
  const prod = l.get("prod")!;
  const markers = new Map(prod.wg.markers);
  if (marker === null) markers.delete("wg0");
  else markers.set("wg0", marker);
  l.set("prod", { ...prod, wg: { ...prod.wg, markers } });
  return l;
};
const peerAddr = (host: string, other: string) => Object.keys(doc().resource.backplane_wireguard_peer).map((k) => `backplane_wireguard_peer.${k}`).find((a) => a.includes(`.${host}_mesh-wg0_peer-${other}_`))!;

describe("reading WireGuard from a real refresh", () => {
  it("keeps public keys, endpoints and whether a preshared key is set — never a key's value", () => {
    const wg = liveFrom("zfs-2.3-prod-wg-psk-mesh", "prod").wg;
    expect(wg.implementation).toBe("kernel");
    const wg0 = wg.interfaces.get("wg0")!;
    expect(wg0.listenPort).toBe(51820);
    expect(wg0.peers.size).toBe(2);
    for (const p of wg0.peers.values()) {
      expect(p.hasPresharedKey).toBe(true);
      expect(p.endpoint).toMatch(/^10\.200\.0\.1[23]:51820$/);
    }
    // the host sent fingerprints, never keys; both ends of a pair agree
    const fps = [...wg0.peers.values()].map((p) => p.presharedKeyFingerprint);
    for (const fp of fps) expect(fp).toMatch(/^[0-9a-f]{16}$/);
    const prodKey = wg0.publicKey;
    const drPeerOfProd = liveFrom("zfs-2.3-dr-wg-psk-mesh", "dr").wg.interfaces.get("wg0")!.peers.get(prodKey)!;
    const drKey = liveFrom("zfs-2.3-dr-wg-psk-mesh", "dr").wg.interfaces.get("wg0")!.publicKey;
    expect(wg0.peers.get(drKey)!.presharedKeyFingerprint).toBe(drPeerOfProd.presharedKeyFingerprint);
    const missing = liveFrom("zfs-2.3-prod-wg-psk-missing", "prod").wg.interfaces.get("wg0")!;
    expect([...missing.peers.values()].map((p) => p.hasPresharedKey).sort()).toEqual([false, true]);
  });
});

describe("the WireGuard reader refuses output whose keys were not replaced on the host", () => {
  const dump = (text: string) => () => wgDump.parse(text);
  const key = "O1QFon4l/ngGbBBBBdQse+jTvcY0SA0AP99dLkXDhxs="; // a public key from the fixtures, standing in for a secret
  it.each([
    ["a private key in the interface line", `wg0\t${key}\t${key}\t51820\toff\n`, "the private key column was not blanked on the host"],
    ["a preshared key in a peer line", `wg0\t(hidden)\t${key}\t51820\toff\nwg0\t${key}\t${key}\t(none)\t10.201.0.2/32\t0\t0\t0\toff\n`, "the preshared key column was not replaced by its fingerprint on the host"],
  ])("%s, without echoing it", (_n, text, message) => {
    expect(dump(text)).toThrow(ParseError);
    expect(dump(text)).toThrow(message);
    try {
      dump(text)();
    } catch (e) {
      expect((e as Error).message).not.toContain(key);
    }
  });
});

describe("planning preshared keys", () => {
  it("pairs both ends of every link from the references, the lower address leading", () => {
    const { pairs, problems } = pskPairs(graph().resources);
    expect(problems).toEqual([]);
    expect(pairs.map((p) => `${p.leader.host}->${p.follower.host}`).sort()).toEqual(["dr->h3", "dr->prod", "h3->prod"]);
    for (const p of pairs) expect(p.leader.ifname).toBe("wg0");
  });

  it("after apply: no changes and no drift", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: lives(), newLineage: "x" });
    expect(p.errors).toEqual([]);
    expect(p.drift).toEqual([]);
    expect(p.changes.filter((c) => c.action !== "noop")).toEqual([]);
  });

  it("a key removed by hand on one end: drift there, and the pair's leader hands a new key over (to that host)", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: lives({ prod: "zfs-2.3-prod-wg-psk-missing" }), newLineage: "x" });
    expect(p.errors).toEqual([]);
    expect(p.drift).toEqual([expect.objectContaining({ host: "prod", address: peerAddr("prod", "dr"), property: "preshared_key", recorded: "(set)", live: "(none)" })]);
    const work = p.changes.filter((c) => c.action !== "noop");
    expect(work.map((c) => c.address)).toEqual([peerAddr("dr", "prod")]);
    const leader = work[0]!;
    expect(leader.host).toBe("dr");
    expect(leader.alsoUses).toEqual(["prod"]);
    expect(leader.steps).toHaveLength(1);
    const step = leader.steps[0]!;
    expect(step.handOver?.host).toBe("prod");
    const prodKey = state().resources[Object.keys(state().resources).find((a) => a.startsWith("backplane_wireguard_interface.prod_"))!]!.attributes.public_key as string;
    const drKey = state().resources[Object.keys(state().resources).find((a) => a.startsWith("backplane_wireguard_interface.dr_"))!]!.attributes.public_key as string;
    // the sender (dr) sets the key for prod's public key, the receiver (prod) for dr's
    expect(toDisplay(step.command)).toMatch(new RegExp(`backplane-wg-psk wg0 ${prodKey.replace(/[+/]/g, "\\$&")} [0-9a-f]{16}$`));
    expect(toDisplay(step.handOver!.command)).toMatch(new RegExp(`backplane-wg-psk wg0 ${drKey.replace(/[+/]/g, "\\$&")}$`));
    expect(renderHuman(p, { color: false })).toContain('preshared_key = "(generated on dr, handed to prod over SSH)"');
    const json = JSON.parse(renderJson(p));
    expect(json.changes[0].hand_overs).toEqual([{ step: 0, host: "prod", command: toDisplay(step.handOver!.command) }]);
    expect(json.changes[0].also_uses_hosts).toEqual(["prod"]);
  });

  it("the two ends holding different keys: drift on the pair, and the leader hands a new key over", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: lives({ prod: "zfs-2.3-prod-wg-psk-different" }), newLineage: "x" });
    expect(p.errors).toEqual([]);
    expect(p.drift).toEqual([expect.objectContaining({ address: peerAddr("dr", "prod"), host: "dr", property: "preshared_key", live: "differs from prod's" })]);
    const work = p.changes.filter((c) => c.action !== "noop");
    expect(work.map((c) => c.address)).toEqual([peerAddr("dr", "prod")]);
    expect(work[0]!.reason).toBe("the two ends hold different preshared keys");
    expect(work[0]!.steps.map((s) => s.handOver?.host)).toEqual(["prod"]);
  });

  it("from nothing: each leader waits for both interfaces and the other end, and reserves both hosts", () => {
    const empty = Object.fromEntries(HOSTS.map((h) => [h, "zfs-2.3-prod-empty"]));
    const g = graph();
    const p = makePlan({ stack: "mesh", graph: g, state: null, live: lives(empty), newLineage: "x" });
    expect(p.errors).toEqual([]);
    for (const pair of pskPairs(g.resources).pairs) {
      const leader = p.changes.find((c) => c.address === pair.leader.peer)!;
      expect(leader.deferred).toBe(true);
      expect(leader.alsoUses).toEqual([pair.follower.host]);
      expect(leader.dependsOn).toEqual(expect.arrayContaining([pair.follower.peer, pair.leader.iface, pair.follower.iface]));
      expect(p.changes.find((c) => c.address === pair.follower.peer)!.alsoUses).toBeUndefined();
    }
  });

  it("during apply, once the keys are in state: the leader configures its peer, then hands the key over (no separate save)", () => {
    const g = graph();
    const st = state();
    const leader = peerAddr("dr", "h3");
    const empty = new Map(HOSTS.map((h) => [h, liveFrom("zfs-2.3-prod-empty", h)]));
    const { change, errors } = replanDeferred(g, leader, { ...st, resources: Object.fromEntries(Object.entries(st.resources).filter(([a]) => a !== leader)) }, empty, 9);
    expect(errors).toEqual([]);
    expect(change.steps.map((s) => s.label)).toEqual(["Configuring peer", "Sharing preshared key"]);
    expect(change.steps[1]!.handOver?.host).toBe("h3");
    expect(change.after?.preshared_key).toBe(true);
  });
});

describe("--replace", () => {
  const ifaceAddr = (host: string) => Object.keys(state().resources).find((a) => a.startsWith(`backplane_wireguard_interface.${host}_`))!;

  it("of an interface: a new key on that host; exactly the peers naming it, and its pairs' keys, follow", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: lives(), newLineage: "x", replace: [ifaceAddr("dr")] });
    expect(p.errors).toEqual([]);
    const work = p.changes.filter((c) => c.action !== "noop");
    const dr = work.find((c) => c.address === ifaceAddr("dr"))!;
    expect(dr.reason).toBe("replacement requested (--replace): a new key");
    expect(dr.destructive).toBe(false);
    expect(dr.steps[0]!.label).toBe("Rotating key");
    expect(dr.steps[0]!.captures).toBe("public_key");
    // the peers on prod and h3 that hold dr's key, and the two pairs' leaders (dr's own peers)
    expect(work.filter((c) => c.type === "backplane_wireguard_peer").map((c) => c.address).sort()).toEqual(
      [peerAddr("prod", "dr"), peerAddr("h3", "dr"), peerAddr("dr", "prod"), peerAddr("dr", "h3")].sort());
    for (const c of work.filter((x) => x.type === "backplane_wireguard_peer")) expect(c.deferred).toBe(true);
    // shown as what it is: a replacement (the key is new), with the peers' keys updated in place
    expect(dr.action).toBe("replace");
    const text = renderHuman(p, { color: false });
    expect(text).toMatch(/must be replaced \(replacement requested \(--replace\): a new key\)/);
    expect(text).toMatch(/Plan: 1 to add, 4 to change, 1 to destroy\./);
    expect(text).toMatch(/~ public_key = ".+" -> "\(known after apply\)"/);
    expect(text).not.toMatch(/^\s+\+ allowed_ips/m);
  });

  it.each([
    ["a resource it cannot replace", () => peerAddr("prod", "dr"), "--replace is not supported for backplane_wireguard_peer"],
    ["an address that is not in the stack", () => "backplane_wireguard_interface.nope", "--replace names no resource of this stack"],
  ])("refuses %s", (_n, addr, message) => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: lives(), newLineage: "x", replace: [addr()] });
    expect(p.errors.map((e) => e.message).join("\n")).toContain(message);
  });
});

describe("preshared keys are refused at load unless both ends are in the stack", () => {
  const peers = (d: Record<string, any>) => d.resource.backplane_wireguard_peer as Record<string, any>;
  const key = (d: Record<string, any>, host: string, other: string) => Object.keys(peers(d)).find((k) => k.startsWith(`${host}_mesh-wg0_peer-${other}_`))!;
  const refused = (mutate: (d: Record<string, any>) => void): string => {
    const d = doc();
    mutate(d);
    return loadRefusal(d);
  };

  it.each([
    ["set on one end only", (d: Record<string, any>) => { peers(d)[key(d, "prod", "dr")].preshared_key = false; }, ["mesh/dr/mesh-wg0/peer-prod/peer", "set on one end only", "must set preshared_key = true too"]],
    ["a literal public key (the other end is not managed here)", (d: Record<string, any>) => { peers(d)[key(d, "prod", "dr")].public_key = "8TaKGU1XL8hJRWZFq9Z9BPO5kxe7z9pIPFCJZ3dkQBc="; }, ["mesh/prod/mesh-wg0/peer-dr/peer", "must refer to a backplane_wireguard_interface"]],
    ["the other end missing", (d: Record<string, any>) => { delete peers(d)[key(d, "dr", "prod")]; }, ["mesh/prod/mesh-wg0/peer-dr/peer", "the other end is missing"]],
  ] as const)("%s", (_name, mutate, fragments) => {
    const message = refused(mutate);
    for (const f of fragments) expect(message).toContain(f);
  });
});

describe("an interface made by an apply that could not record it", () => {
  // The mesh as captured, with prod's interface missing from state (its creation's batch lost
  // the connection before the host reported): its marker file says which stack made it.
  const ifaceOf = (host: string) => Object.entries(state().resources).find(([, r]) => r.type === "backplane_wireguard_interface" && r.host === host)![0];
  const withoutProdInterface = (): State => {
    const s = state();
    delete s.resources[ifaceOf("prod")];
    return s;
  };
  const errorsOf = (live: Map<string, HostLive>) => makePlan({ stack: "mesh", graph: graph(), state: withoutProdInterface(), live, newLineage: "x" }).errors.map((e) => e.message);

  it("reads the marker file's lineage from the host", () => {
    expect(liveFrom("zfs-2.3-prod-wg-psk-mesh", "prod").wg.markers.get("wg0")).toBe(state().lineage);
  });

  it("is adopted by its marker: recorded, not re-created, no error", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: withoutProdInterface(), live: lives(), newLineage: "x" });
    expect(p.errors).toEqual([]);
    const c = p.changes.find((x) => x.address === ifaceOf("prod"))!;
    expect(c.action).toBe("noop");
    expect(c.after?.public_key).toBe(liveFrom("zfs-2.3-prod-wg-psk-mesh", "prod").wg.interfaces.get("wg0")!.publicKey);
  });

  it("is refused when the marker names another stack, or when there is none", () => {
    expect(errorsOf(relabel("00000000-0000-4000-8000-0000000000aa"))).toContainEqual(expect.stringContaining("WireGuard interface wg0 on prod belongs to another stack (its marker /etc/wireguard/wg0.backplane says 00000000-0000-4000-8000-0000000000aa)"));
    expect(errorsOf(relabel(null))).toContainEqual(expect.stringContaining("WireGuard interface wg0 already exists on prod and is not managed by this stack"));
  });

  it("the creating script writes the marker before the interface exists, and removal deletes it last", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: null, live: lives({ prod: "zfs-2.3-prod-empty", dr: "zfs-2.3-prod-empty", h3: "zfs-2.3-prod-empty" }), newLineage: "fresh-lineage" });
    const create = p.changes.find((c) => c.type === "backplane_wireguard_interface" && c.host === "prod")!;
    const [, , script, , name, lineage] = create.steps[0]!.command.map((w) => w.text);
    expect([name, lineage]).toEqual(["wg0", "fresh-lineage"]);
    expect(script!.indexOf('> "/etc/wireguard/$name.backplane"')).toBeGreaterThan(-1);
    expect(script!.indexOf('> "/etc/wireguard/$name.backplane"')).toBeLessThan(script!.indexOf("ip link add"));
  });
});

describe("an interface's ownership marker is never written over what is not ours", () => {
  const createOf = (lineage: string) => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: null, live: lives({ prod: "zfs-2.3-prod-empty", dr: "zfs-2.3-prod-empty", h3: "zfs-2.3-prod-empty" }), newLineage: lineage });
    return p.changes.find((c) => c.type === "backplane_wireguard_interface" && c.host === "prod")!.steps[0]!.command.map((w) => w.text)[2]!;
  };
  it("the creating script checks that neither the interface nor another stack's marker exists before it writes its marker", () => {
    const script = createOf("L");
    const marker = script.indexOf('> "/etc/wireguard/$name.backplane"');
    expect(script.indexOf('if ip link show "$name"')).toBeGreaterThan(-1);
    expect(script.indexOf('if ip link show "$name"')).toBeLessThan(marker);
    expect(script.indexOf("names another stack: not creating")).toBeLessThan(marker);
  });
  it("the creating script stops, writing nothing, when the interface appeared since the plan (run for real)", async () => {
    const { execa } = await import("execa");
    const { mkdtemp, writeFile, chmod, symlink } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const bin = await mkdtemp(join(tmpdir(), "bp-wg-create-"));
    await symlink((await execa("sh", ["-c", "command -v sh"])).stdout.trim(), join(bin, "sh"));
    await writeFile(join(bin, "ip"), "#!/bin/sh\n[ \"$1 $2\" = \"link show\" ] && exit 0\necho \"ip $*\" >> \"$(dirname \"$0\")/ran\"\n");
    await chmod(join(bin, "ip"), 0o755);
    const r = await execa("sh", ["-c", createOf("L"), "backplane-wg", "bptestwg9", "L", "-", "-", "-"], { reject: false, env: { PATH: bin }, extendEnv: false });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain("interface bptestwg9 exists already");
    expect(readFileSync(join(bin, "ip"), "utf8")).toBeTruthy();
    expect(() => readFileSync(join(bin, "ran"))).toThrow();
  });
  it("a plan refuses to create an interface whose name another stack's marker claims", () => {
    const l = lives({ prod: "zfs-2.3-prod-empty", dr: "zfs-2.3-prod-empty", h3: "zfs-2.3-prod-empty" });
    const prod = l.get("prod")!;
    l.set("prod", { ...prod, wg: { ...prod.wg, markers: new Map([["wg0", "00000000-0000-4000-8000-0000000000aa"]]) } });
    const p = makePlan({ stack: "mesh", graph: graph(), state: null, live: l, newLineage: "x" });
    expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringContaining("/etc/wireguard/wg0.backplane on prod names another stack (00000000-0000-4000-8000-0000000000aa) although wg0 does not exist"));
  });
  it("the removing script deletes the marker last", () => {
    const s = state();
    const p = makePlan({ stack: "mesh", graph: loadStack({ ...doc(), resource: {} }), state: s, live: lives(), newLineage: "x" });
    const del = p.changes.find((c) => c.type === "backplane_wireguard_interface" && c.host === "prod" && c.action === "delete")!;
    const script = del.steps[0]!.command.map((w) => w.text)[2]!;
    expect(script.indexOf('rm -f "/etc/wireguard/$name.backplane"')).toBeGreaterThan(script.indexOf('ip link del "$name"'));
    expect(script.indexOf('rm -f "/etc/wireguard/$name.backplane"')).toBeGreaterThan(script.indexOf('"/etc/wireguard/$name.key"'));
  });
});

describe("a recorded interface is ours only while its marker names this stack", () => {
  // The captured mesh, recorded in state; prod's wg0 marker then says something else (made
  // again by hand after ours was deleted, or taken by another stack).
  const OTHER = "00000000-0000-4000-8000-0000000000aa";
  const ifaceAddress = (host: string) => Object.entries(state().resources).find(([, r]) => r.type === "backplane_wireguard_interface" && r.host === host)![0];
  const prodPeers = () => Object.entries(state().resources).filter(([, r]) => r.type === "backplane_wireguard_peer" && r.host === "prod").map(([a]) => a);
  const planWith = (live: Map<string, HostLive>, d = doc()) => makePlan({ stack: "mesh", graph: loadStack(d), state: state(), live, newLineage: "x" });
  const prodChanges = (p: ReturnType<typeof makePlan>) => p.changes.filter((c) => c.host === "prod" && c.type.startsWith("backplane_wireguard_"));

  it("the captured mesh as recorded plans nothing on prod (the marker names this stack)", () => {
    const p = planWith(lives());
    expect(p.errors).toEqual([]);
    expect(prodChanges(p).every((c) => c.action === "noop")).toBe(true);
  });

  it("a recorded interface whose marker is gone or names another stack is refused, not changed", () => {
    for (const [marker, why] of [[null, "carries no ownership marker (/etc/wireguard/wg0.backplane)"], [OTHER, `its marker /etc/wireguard/wg0.backplane names another stack (${OTHER})`]] as const) {
      const p = planWith(relabel(marker));
      expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringContaining(`WireGuard interface wg0 on prod is recorded in state but ${why}: backplane does not change it. If it was made again by hand, remove the record (backplane state rm ${ifaceAddress("prod")}); if it is this stack's and only its marker was lost, adopt it again: backplane state rm ${ifaceAddress("prod")}, then backplane import ${ifaceAddress("prod")} wg0`));
      expect(p.changes.find((c) => c.address === ifaceAddress("prod"))!.steps).toEqual([]);
    }
  });

  it("removing a recorded interface whose marker is gone or names another stack is refused, with no step", () => {
    const noInterfaces = { ...doc(), resource: {} };
    for (const marker of [null, OTHER]) {
      const p = planWith(relabel(marker), noInterfaces);
      expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(new RegExp(`^.*WireGuard interface wg0 on prod is no longer in the configuration but .*; backplane does not destroy it \\(remove it from state with: backplane state rm ${ifaceAddress("prod").replace(/[.[\]]/g, "\\$&")}\\)`)));
      const del = p.changes.find((c) => c.address === ifaceAddress("prod"))!;
      expect([del.action, del.steps]).toEqual(["noop", []]);
    }
    // the other hosts' interfaces, still marked by this stack, are removed as before
    const p = planWith(relabel(OTHER), noInterfaces);
    expect(p.changes.find((c) => c.address === ifaceAddress("dr"))!.action).toBe("delete");
  });

  it("peers on an interface another stack marks, or nobody marks, are neither configured nor removed", () => {
    for (const [marker, why] of [[OTHER, `its marker /etc/wireguard/wg0.backplane names another stack (${OTHER})`], [null, "carries no ownership marker (/etc/wireguard/wg0.backplane)"]] as const) {
      const p = planWith(relabel(marker));
      for (const a of prodPeers()) {
        expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringContaining(`interface wg0 on prod is not managed by this stack (${why}): backplane does not configure peers on it`));
        expect(p.changes.find((c) => c.address === a)!.steps).toEqual([]);
      }
      const gone = planWith(relabel(marker), { ...doc(), resource: { ...doc().resource, backplane_wireguard_peer: {} } });
      for (const a of prodPeers()) {
        expect(gone.errors.map((e) => e.message)).toContainEqual(expect.stringContaining(`on prod is no longer in the configuration, but interface wg0 on prod is not managed by this stack (${why}); backplane does not remove its peers (remove the record with: backplane state rm ${a})`));
        expect(gone.changes.find((c) => c.address === a)!.steps).toEqual([]);
      }
    }
  });

  it("with this stack's interfaces gone from state and code (state rm, then removed), peers on the unmarked one are not removed", () => {
    // the reviewer's path: the recorded interface refused, its record removed, the WireGuard code dropped
    const s = state();
    delete s.resources[ifaceAddress("prod")];
    const noWg = { ...doc(), resource: Object.fromEntries(Object.entries(doc().resource).filter(([t]) => !t.startsWith("backplane_wireguard"))) };
    const p = makePlan({ stack: "mesh", graph: loadStack(noWg), state: s, live: relabel(null), newLineage: "x" });
    expect(p.errors.length).toBeGreaterThan(0);
    const prodSteps = p.changes.filter((c) => c.host === "prod" && c.type === "backplane_wireguard_peer").flatMap((c) => c.steps);
    expect(prodSteps).toEqual([]);
  });

  it("a peer whose key another host generates in this apply is refused at plan on an interface not ours, not only at apply", () => {
    const p = makePlan({ stack: "mesh", graph: graph(), state: state(), live: relabel(OTHER), newLineage: "x", replace: [ifaceAddress("dr")] });
    expect(p.errors.map((e) => e.message)).toContainEqual(expect.stringContaining("interface wg0 on prod is not managed by this stack"));
  });

  it("a recorded interface whose marker was lost can be adopted again: import writes the marker and records what is there", () => {
    const live = relabel(null).get("prod")!;
    const i = planImport({ type: "backplane_wireguard_interface", id: "wg0", host: "prod", lineage: state().lineage, live, forceTakeover: false, config: doc().resource.backplane_wireguard_interface[ifaceAddress("prod").split(".")[1]!] });
    const recorded = state().resources[ifaceAddress("prod")]!.attributes;
    expect(i.attributes).toMatchObject({ name: "wg0", addresses: recorded.addresses, listen_port: recorded.listen_port, public_key: recorded.public_key });
    expect(i.takesOverFrom).toBeNull();
    const [sh, c, script, , name, lineage] = i.marker!.map((w) => w.text);
    expect([sh, c, name, lineage]).toEqual(["sh", "-c", "wg0", state().lineage]);
    expect(script).toContain('> "/etc/wireguard/$1.backplane.new"; mv "/etc/wireguard/$1.backplane.new" "/etc/wireguard/$1.backplane"');
    // once marked and recorded as import records it, the plan is clean and changes nothing
    const s = state();
    s.resources[ifaceAddress("prod")] = { ...s.resources[ifaceAddress("prod")]!, attributes: i.attributes };
    const p = makePlan({ stack: "mesh", graph: graph(), state: s, live: lives(), newLineage: "x" });
    expect(p.errors).toEqual([]);
    expect(p.changes.filter((c) => c.host === "prod" && c.type.startsWith("backplane_wireguard_")).every((c) => c.action === "noop")).toBe(true);
  });

  it("import refuses an interface another stack marks unless forced, and one that does not exist", () => {
    const live = relabel(OTHER).get("prod")!;
    const imp = (forceTakeover: boolean) => planImport({ type: "backplane_wireguard_interface", id: "wg0", host: "prod", lineage: state().lineage, live, forceTakeover });
    expect(() => imp(false)).toThrow(`wg0 on prod belongs to another stack (backplane:managed=${OTHER})`);
    expect(imp(true).takesOverFrom).toBe(OTHER);
    expect(() => planImport({ type: "backplane_wireguard_interface", id: "wg9", host: "prod", lineage: "L", live, forceTakeover: false })).toThrow("wg9 does not exist on prod");
  });
});
