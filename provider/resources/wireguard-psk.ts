/**
 * WireGuard preshared keys. Pure.
 *
 * A preshared key belongs to a *pair* of peers: P on host A (holding B's public key) and Q
 * on host B (holding A's). Both say `preshared_key = true`. The pair's "leader" (the peer
 * whose address sorts first) carries one hand-over step: its host generates the key
 * (`wg genpsk`, into a 0600 file under /etc/wireguard), the key travels to the other host
 * through a pipe between the two SSH sessions (see transport/handover.ts), the other host
 * sets it and answers "ok", and only then does the first host set its own. The key is in
 * no argv, no state, no plan and no log; the wg-quick configs (0600) on the two hosts are
 * the only places it is written.
 *
 * Pairing is read from the references in the configuration (P.public_key refers to B's
 * interface and Q.public_key to A's), so it is known before any key exists.
 */
import { createHash } from "node:crypto";
import { argv, type Argv } from "../model/argv.js";
import type { DesiredResource } from "../model/desired.js";
import type { HostLive } from "../model/live.js";
import { KNOWN_AFTER_APPLY, type Change, type Drift, type Step } from "../model/plan.js";
import type { State } from "../model/state.js";
import { PERSIST_LINES } from "../wg/persist.js";

const IFACE = "backplane_wireguard_interface";
const PEER = "backplane_wireguard_peer";

/** One end of a pair: the peer resource, its host, and the interface it sits on. */
export interface PskEnd {
  peer: string;
  host: string;
  /** address of the interface resource the peer sits on */
  iface: string;
  ifname: string;
}

export interface PskPair {
  leader: PskEnd;
  follower: PskEnd;
}

function refTarget(v: unknown): string | null {
  if (typeof v !== "object" || v === null) return null;
  const u = (v as { unknown?: unknown }).unknown;
  if (typeof u !== "string" || !u.startsWith(`${IFACE}.`) || !u.endsWith(".public_key")) return null;
  return u.slice(0, -".public_key".length);
}

/** The interface resource named `ifname` on `host`. */
function ifaceOn(resources: ReadonlyMap<string, DesiredResource>, host: string, ifname: unknown): DesiredResource | undefined {
  return [...resources.values()].find((r) => r.type === IFACE && r.host === host && r.config.name === ifname);
}

/** Pairs the peers that ask for a preshared key; problems name the peer and what is missing. */
export function pskPairs(resources: ReadonlyMap<string, DesiredResource>): { pairs: PskPair[]; problems: { address: string; message: string }[] } {
  const pairs: PskPair[] = [];
  const problems: { address: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const p of resources.values()) {
    if (p.type !== PEER || p.config.preshared_key !== true || seen.has(p.address)) continue;
    const fail = (message: string) => problems.push({ address: p.address, message: `preshared_key: ${message}` });
    const otherIface = refTarget(p.config.public_key);
    const x = otherIface ? resources.get(otherIface) : undefined;
    if (!x) {
      fail("public_key must refer to a backplane_wireguard_interface of this stack (${backplane_wireguard_interface.<name>.public_key}): the key is generated on one host and streamed to the other, so both ends must be managed here");
      continue;
    }
    const y = ifaceOn(resources, p.host, p.config.interface);
    if (!y) {
      fail(`interface ${String(p.config.interface)} on ${p.host} is not declared in this stack`);
      continue;
    }
    if (x.host === p.host) {
      fail(`the peer's interface ${x.address} is on the same host (${p.host})`);
      continue;
    }
    const q = [...resources.values()].find((r) => r.type === PEER && r.host === x.host && r.config.interface === x.config.name && refTarget(r.config.public_key) === y.address);
    if (!q) {
      fail(`the other end is missing: a backplane_wireguard_peer on ${x.host} (interface ${String(x.config.name)}) whose public_key is \${${y.address}.public_key} with preshared_key = true`);
      continue;
    }
    if (q.config.preshared_key !== true) {
      fail(`set on one end only: ${q.address} (the peer on ${q.host}) must set preshared_key = true too`);
      continue;
    }
    seen.add(p.address).add(q.address);
    const end = (r: DesiredResource, i: DesiredResource): PskEnd => ({ peer: r.address, host: r.host, iface: i.address, ifname: i.config.name as string });
    const [a, b] = [end(p, y), end(q, x)].sort((m, n) => (m.peer < n.peer ? -1 : 1)) as [PskEnd, PskEnd];
    pairs.push({ leader: a, follower: b });
  }
  return { pairs, problems };
}

/**
 * Runs on the leader's host. Its stdout carries the key to the other host and nothing
 * else may be written there; it sets its own half only after the other host said "ok".
 */
const SEND_SCRIPT = [
  "set -e",
  'name=$1; peer=$2; f="/etc/wireguard/.psk-$3"',
  "umask 077",
  // the temporary key file goes whatever happens, a dropped session included
  'trap \'rm -f "$f"\' EXIT',
  'trap \'rm -f "$f"; exit 1\' HUP INT TERM PIPE',
  'wg genpsk > "$f"',
  'cat "$f"',
  'IFS= read -r ack || ack=""',
  '[ "$ack" = ok ] || { echo "the other host did not take the preshared key; nothing was changed here" >&2; exit 1; }',
  'wg set "$name" peer "$peer" preshared-key "$f"',
  ...PERSIST_LINES,
].join("\n");

/** Runs on the other host: reads one line (the key), sets it, answers "ok". */
const RECEIVE_SCRIPT = [
  "set -e",
  "name=$1; peer=$2",
  "umask 077",
  'f=$(mktemp /etc/wireguard/.psk-in.XXXXXX)',
  // the temporary key file goes whatever happens, a dropped session included
  'trap \'rm -f "$f"\' EXIT',
  'trap \'rm -f "$f"; exit 1\' HUP INT TERM PIPE',
  'head -n 1 > "$f"',
  '[ -s "$f" ] || { echo "no preshared key arrived" >&2; exit 1; }',
  'wg set "$name" peer "$peer" preshared-key "$f"',
  ...PERSIST_LINES,
  "echo ok",
].join("\n");

const sh = (text: string, ...args: string[]): Argv => argv("sh", "-c", text, "backplane-wg-psk", ...args);

/** The hand-over step for a pair whose interface keys are both known. */
export function handOverStep(pair: PskPair, leaderHolds: string, followerHolds: string): Step {
  // a fixed file name per pair (hex, no user text), so two pairs never share a temp file
  const token = createHash("sha256").update(pair.leader.peer).digest("hex").slice(0, 16);
  return {
    command: sh(SEND_SCRIPT, pair.leader.ifname, leaderHolds, token),
    label: "Sharing preshared key",
    handOver: { host: pair.follower.host, command: sh(RECEIVE_SCRIPT, pair.follower.ifname, followerHolds) },
  };
}

/** The hand-over's sender persists the interface last: an earlier save would be redone. */
function withoutPersist(steps: readonly Step[]): Step[] {
  return steps.filter((s) => s.label !== "Persisting");
}

/** A step removing a peer's preshared key (`preshared_key` turned off). */
export function removePskStep(ifname: string, peerKey: string): Step {
  return { command: argv("wg", "set", ifname, "peer", peerKey, "preshared-key", "/dev/null"), label: "Removing preshared key" };
}

/** An interface's public key if this plan does not change it (undefined: known after apply). */
function stableKey(iface: string, changes: readonly Change[], state: State | null): string | undefined {
  const c = changes.find((x) => x.address === iface);
  if (c && (c.action === "create" || c.action === "replace" || c.attrs.some((a) => a.name === "public_key" && a.after === KNOWN_AFTER_APPLY))) return undefined;
  return (c?.after?.public_key as string | undefined) ?? (state?.resources[iface]?.attributes.public_key as string | undefined);
}

/** The fingerprint of the preshared key a host holds for a peer (null: none, or no such peer). */
function pskFingerprint(live: HostLive | undefined, ifname: string, peerKey: string | undefined): string | null {
  if (!peerKey) return null;
  return live?.wg.interfaces.get(ifname)?.peers.get(peerKey)?.presharedKeyFingerprint ?? null;
}

/** How the plan shows a pair's new key: where it is made and where it goes, never what it is. */
function pskAttr(pair: PskPair) {
  return { name: "preshared_key", after: `(generated on ${pair.leader.host}, handed to ${pair.follower.host} over SSH)` };
}

function rekeyed(c: Change | undefined): boolean {
  return !c || c.deferred === true || c.action === "create" || c.action === "replace" || c.attrs.some((a) => a.name === "public_key");
}

/**
 * Adds the hand-over to the leader's change when the pair needs a (new) key: a peer is new
 * or re-keyed, either host lacks the key, or the two ends hold different keys (drift: a
 * hand edit, or a hand-over whose sender failed after the receiver took the key). When an
 * interface key is not known yet the leader waits (deferred) until both interfaces and
 * the other end are applied.
 */
export function planPsk(pair: PskPair, changes: Change[], state: State | null, live: ReadonlyMap<string, HostLive>): Drift[] {
  const li = changes.findIndex((c) => c.address === pair.leader.peer);
  const leader = changes[li];
  const follower = changes.find((c) => c.address === pair.follower.peer);
  if (!leader || !follower) return [];
  const leaderHolds = stableKey(pair.follower.iface, changes, state); // B's key, held by A's peer
  const followerHolds = stableKey(pair.leader.iface, changes, state);
  const atLeader = pskFingerprint(live.get(pair.leader.host), pair.leader.ifname, leaderHolds);
  const atFollower = pskFingerprint(live.get(pair.follower.host), pair.follower.ifname, followerHolds);
  const differ = atLeader !== null && atFollower !== null && atLeader !== atFollower;
  const drift: Drift[] = differ
    ? [{ address: pair.leader.peer, host: pair.leader.host, id: leader.id, property: "preshared_key", recorded: `same as on ${pair.follower.host}`, live: `differs from ${pair.follower.host}'s` }]
    : [];
  const needed = rekeyed(leader) || rekeyed(follower) || !leaderHolds || !followerHolds || atLeader === null || atFollower === null || differ;
  if (!needed) return drift;
  const waits = leader.deferred || follower.deferred || !leaderHolds || !followerHolds;
  const next = withHandOver(leader, pair, waits ? null : handOverStep(pair, leaderHolds!, followerHolds!));
  next.dependsOn = [...new Set([...leader.dependsOn, pair.follower.peer, pair.leader.iface, pair.follower.iface])];
  if (waits) next.deferred = true;
  if (differ) next.reason = "the two ends hold different preshared keys";
  else if (leader.action === "noop") next.reason = "the preshared key is missing on one end";
  changes[li] = next;
  return drift;
}

/**
 * The leader's change carrying the pair's hand-over: shown in the plan, both hosts reserved,
 * and (once the keys are known) the step last, replacing the leader's own save.
 * `step` null: the leader waits for the keys and has no steps yet.
 */
function withHandOver(change: Change, pair: PskPair, step: Step | null): Change {
  return {
    ...change,
    action: change.action === "noop" ? "update" : change.action,
    attrs: [...change.attrs.filter((a) => a.name !== "preshared_key"), pskAttr(pair)],
    alsoUses: [pair.follower.host],
    steps: step ? [...withoutPersist(change.steps), step] : [],
  };
}

/** During apply, once the pair's dependencies are done: the hand-over with the keys the state now has. */
export function replanPsk(pair: PskPair, change: Change, state: State): { change: Change; errors: string[] } {
  const leaderHolds = state.resources[pair.follower.iface]?.attributes.public_key as string | undefined;
  const followerHolds = state.resources[pair.leader.iface]?.attributes.public_key as string | undefined;
  if (!leaderHolds || !followerHolds) return { change, errors: [`${pair.leader.peer}: an interface key of the pair is still unknown after its interfaces were applied`] };
  return { change: withHandOver(change, pair, handOverStep(pair, leaderHolds, followerHolds)), errors: [] };
}
