/**
 * backplane_wireguard_interface and backplane_wireguard_peer. Pure.
 *
 * The private key is generated on the host into /etc/wireguard/<if>.key (mode 0600) by a
 * fixed script; only `wg pubkey`'s output comes back. User values reach the script as its
 * positional arguments (argv), never inside its text. After every change `wg-quick save`
 * writes the running configuration to /etc/wireguard/<if>.conf and the wg-quick unit is
 * enabled, so a reboot brings the interface back as it was.
 */
import { argv, type Argv } from "../model/argv.js";
import { isUnknown } from "../model/desired.js";
import type { AttrChange, Change, Drift, Step } from "../model/plan.js";
import type { HostLive } from "../model/live.js";
import { KNOWN_AFTER_APPLY } from "../model/plan.js";
import { wireguardKeyProblem } from "../wg/net.js";
import { baseChange, noop, alreadyGone, deleteBase, type PlanContext, type Planned, type ResourceKind } from "./kind.js";
import { removePskStep } from "./wireguard-psk.js";
import { PERSIST_LINES } from "../wg/persist.js";

const CREATE_SCRIPT = [
  "set -e",
  'name=$1; lineage=$2; port=$3; mtu=$4; fwmark=$5; shift 5',
  "umask 077",
  // Never mark what is not ours: an interface that appeared since the plan, or another
  // stack's marker, stops the script before anything is written.
  'if ip link show "$name" >/dev/null 2>&1; then echo "interface $name exists already (made since the plan was read): not creating or marking it" >&2; exit 1; fi',
  'if [ -e "/etc/wireguard/$name.backplane" ] && [ "$(cat "/etc/wireguard/$name.backplane")" != "$lineage" ]; then echo "/etc/wireguard/$name.backplane names another stack: not creating $name" >&2; exit 1; fi',
  "mkdir -p /etc/wireguard",
  // the ownership marker exists before the interface does: an apply cut off anywhere after
  // this line leaves an interface the next plan recognises as this stack's and adopts
  'printf "%s\\n" "$lineage" > "/etc/wireguard/$name.backplane"',
  '[ -s "/etc/wireguard/$name.key" ] || wg genkey > "/etc/wireguard/$name.key"',
  // kernel WireGuard where the host has it, wireguard-go where it does not. The daemon
  // must not inherit the session's stdio: ssh would wait for it to close them, forever.
  'if ! ip link add "$name" type wireguard 2>/dev/null; then wireguard-go "$name" </dev/null >/dev/null 2>&1; fi',
  'wg set "$name" private-key "/etc/wireguard/$name.key"',
  '[ "$port" = "-" ] || wg set "$name" listen-port "$port"',
  '[ "$fwmark" = "-" ] || wg set "$name" fwmark "$fwmark"',
  '[ "$mtu" = "-" ] || ip link set "$name" mtu "$mtu"',
  'for a in "$@"; do ip addr add "$a" dev "$name"; done',
  'ip link set "$name" up',
  ...PERSIST_LINES,
  'wg show "$name" public-key',
].join("\n");

const SAVE_SCRIPT = ["set -e", "name=$1", "umask 077", ...PERSIST_LINES].join("\n");

const DELETE_SCRIPT = [
  'name=$1',
  'systemctl disable "wg-quick@$name" >/dev/null 2>&1 || true',
  'ip link del "$name" 2>/dev/null || true',
  'rm -f "/etc/wireguard/$name.conf" "/etc/wireguard/$name.key"',
  // the marker goes last: an interrupted removal leaves an interface still marked ours
  'rm -f "/etc/wireguard/$name.backplane"',
].join("\n");

/** Why an interface is not this stack's, from its marker file (absent, or another lineage). */
function notOursBecause(name: string, marker: string | undefined): string {
  return marker === undefined
    ? `carries no ownership marker (/etc/wireguard/${name}.backplane)`
    : `its marker /etc/wireguard/${name}.backplane names another stack (${marker || "(empty)"})`;
}

/**
 * Peers are configured and removed only on an interface this stack manages: one that does not
 * exist yet (this plan creates it, or the apply fails on it), or one whose marker names this
 * stack. On any other — another stack's, or one made by hand — they are not ours to change.
 * Returns why not, or null.
 */
function peersNotOurs(iface: string, ctx: PlanContext): string | null {
  if (!ctx.live.wg.interfaces.has(iface)) return null;
  const marker = ctx.live.wg.markers.get(iface);
  return marker === ctx.lineage ? null : `interface ${iface} on ${ctx.live.host} is not managed by this stack (${notOursBecause(iface, marker)})`;
}

const script = (text: string, ...args: string[]): Argv => argv("sh", "-c", text, "backplane-wg", ...args);
const save = (name: string): Step => ({ command: script(SAVE_SCRIPT, name), label: "Persisting" });

interface IfaceDesired {
  name: string;
  addresses: string[];
  listen_port?: number;
  mtu?: number;
  fwmark?: number;
  rotate?: string;
}

function ifaceDesired(c: Record<string, unknown>): IfaceDesired {
  return {
    name: c.name as string,
    addresses: [...((c.addresses as string[]) ?? [])].sort(),
    listen_port: c.listen_port as number | undefined,
    mtu: c.mtu as number | undefined,
    fwmark: c.fwmark as number | undefined,
    rotate: c.rotate as string | undefined,
  };
}

export const wireguardInterfaceKind: ResourceKind = {
  type: "backplane_wireguard_interface",
  id: (c) => c.name as string,

  plan(r, state, ctx): Planned {
    const want = ifaceDesired(r.config);
    const base = baseChange(r, want.name);
    const errors: string[] = [];
    const wg = ctx.live.wg;
    if (wg.implementation === "none") errors.push(`${ctx.live.host} has neither kernel WireGuard nor wireguard-go`);
    const live = wg.interfaces.get(want.name);
    const foreignMarker = wg.markers.get(want.name);
    if (!live && foreignMarker !== undefined && foreignMarker !== ctx.lineage) {
      errors.push(`/etc/wireguard/${want.name}.backplane on ${ctx.live.host} names another stack (${foreignMarker || "(empty)"}) although ${want.name} does not exist: backplane does not create an interface another stack claims; remove that file if the claim is stale`);
    }
    if (!live) {
      return {
        errors,
        change: {
          ...base, action: "create", reason: state ? "recorded in state but missing on the host" : "does not exist", destructive: false,
          attrs: [
            { name: "addresses", after: want.addresses.join(", ") },
            ...(want.listen_port ? [{ name: "listen_port", after: String(want.listen_port) }] : []),
            ...(want.mtu ? [{ name: "mtu", after: String(want.mtu) }] : []),
            { name: "public_key", after: KNOWN_AFTER_APPLY },
            { name: "private key", after: "generated on the host, never read" },
          ],
          steps: [{
            command: script(CREATE_SCRIPT, want.name, ctx.lineage, want.listen_port ? String(want.listen_port) : "-", want.mtu ? String(want.mtu) : "-", want.fwmark ? String(want.fwmark) : "-", ...want.addresses),
            label: "Creating", captures: "public_key",
          }],
          after: { ...want },
        },
      };
    }
    // Ours only by the marker file: with no record, one naming this stack means an apply cut
    // off before it could record the interface (adopted, planned like a recorded one); with a
    // record, a missing or foreign marker means the interface was made again since — by hand or
    // by another stack — and the record no longer names what is there.
    const marker = wg.markers.get(want.name);
    if (marker !== ctx.lineage) {
      errors.push(state
        ? `WireGuard interface ${want.name} on ${ctx.live.host} is recorded in state but ${notOursBecause(want.name, marker)}: backplane does not change it. If it was made again by hand, remove the record (backplane state rm ${r.address}); if it is this stack's and only its marker was lost, adopt it again: backplane state rm ${r.address}, then backplane import ${r.address} ${want.name}`
        : marker
          ? `WireGuard interface ${want.name} on ${ctx.live.host} belongs to another stack (its marker /etc/wireguard/${want.name}.backplane says ${marker || "(empty)"})`
          : `WireGuard interface ${want.name} already exists on ${ctx.live.host} and is not managed by this stack`);
      return { errors, change: noop(base, "not managed") };
    }
    const steps: Step[] = [];
    const attrs: AttrChange[] = [];
    if (want.listen_port !== undefined && live.listenPort !== want.listen_port) {
      steps.push({ command: argv("wg", "set", want.name, "listen-port", String(want.listen_port)), label: "Modifying" });
      attrs.push({ name: "listen_port", before: String(live.listenPort), after: String(want.listen_port) });
    }
    if (want.fwmark !== undefined && live.fwmark !== want.fwmark) {
      steps.push({ command: argv("wg", "set", want.name, "fwmark", String(want.fwmark)), label: "Modifying" });
      attrs.push({ name: "fwmark", before: String(live.fwmark), after: String(want.fwmark) });
    }
    const have = [...(wg.addresses.get(want.name) ?? [])].filter((a) => !a.startsWith("fe80:")).sort();
    for (const a of want.addresses.filter((x) => !have.includes(x))) {
      steps.push({ command: argv("ip", "addr", "add", a, "dev", want.name), label: "Adding address" });
      attrs.push({ name: "address", after: a });
    }
    for (const a of have.filter((x) => !want.addresses.includes(x))) {
      steps.push({ command: argv("ip", "addr", "del", a, "dev", want.name), label: "Removing address" });
      attrs.push({ name: "address", before: a });
    }
    const link = wg.links.get(want.name);
    if (want.mtu !== undefined && link && link.mtu !== want.mtu) {
      steps.push({ command: argv("ip", "link", "set", want.name, "mtu", String(want.mtu)), label: "Modifying" });
      attrs.push({ name: "mtu", before: String(link.mtu), after: String(want.mtu) });
    }
    let rotated = false;
    if (((state ? state.attributes.rotate : want.rotate) as string | undefined) !== want.rotate || ctx.replaceRequested) {
      rotated = true;
      steps.push({
        command: script('set -e; umask 077; wg genkey > "/etc/wireguard/$1.key.new"; wg set "$1" private-key "/etc/wireguard/$1.key.new"; mv "/etc/wireguard/$1.key.new" "/etc/wireguard/$1.key"; wg show "$1" public-key', want.name),
        label: "Rotating key", captures: "public_key",
      });
      attrs.push({ name: "public_key", before: live.publicKey, after: KNOWN_AFTER_APPLY, ...(ctx.replaceRequested ? { forcesReplacement: true } : {}) });
    }
    if (steps.length > 0 || !wg.persisted.has(want.name)) steps.push(save(want.name));
    if (!wg.persisted.has(want.name) && attrs.length === 0) attrs.push({ name: "persisted", before: "no", after: "yes" });
    return {
      errors,
      change: {
        // --replace is shown as what it is, a replacement (the interface keeps its name, not its key)
        ...base, action: steps.length ? (ctx.replaceRequested ? "replace" : "update") : "noop", reason: steps.length ? (rotated ? (ctx.replaceRequested ? "replacement requested (--replace): a new key" : "key rotation requested") : "differs from the configuration") : "up to date",
        attrs, destructive: false, steps, after: { ...want, public_key: rotated ? undefined : live.publicKey },
      },
    };
  },

  planDelete(address, state, ctx): Planned {
    const base = deleteBase(address, state);
    if (!ctx.live.wg.interfaces.has(state.id)) return { errors: [], change: alreadyGone(base) };
    const marker = ctx.live.wg.markers.get(state.id);
    if (marker !== ctx.lineage) {
      return { errors: [`WireGuard interface ${state.id} on ${state.host} is no longer in the configuration but ${notOursBecause(state.id, marker)}; backplane does not destroy it (remove it from state with: backplane state rm ${address})`], change: noop(base, "not owned") };
    }
    return { errors: [], change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: true, steps: [{ command: script(DELETE_SCRIPT, state.id), label: "Destroying" }], after: null } };
  },

  drift(address, state, live): Drift[] {
    const name = state.id;
    const i = live.wg.interfaces.get(name);
    const d = (property: string, recorded: string | null, l: string | null): Drift => ({ address, host: state.host, id: name, property, recorded, live: l });
    if (!i) return [d("(existence)", "exists", "missing")];
    const out: Drift[] = [];
    const a = state.attributes;
    if (a.listen_port !== undefined && i.listenPort !== a.listen_port) out.push(d("listen_port", String(a.listen_port), String(i.listenPort)));
    if (a.public_key !== undefined && i.publicKey !== a.public_key) out.push(d("public_key", a.public_key as string, i.publicKey));
    const have = [...(live.wg.addresses.get(name) ?? [])].filter((x) => !x.startsWith("fe80:")).sort();
    if (JSON.stringify(have) !== JSON.stringify(a.addresses)) out.push(d("addresses", (a.addresses as string[]).join(","), have.join(",")));
    if (!live.wg.persisted.has(name)) out.push(d("persisted", "yes", "no"));
    return out;
  },

  /**
   * An existing interface as state records one this stack made (the code's rotate value: an
   * import is not a rotation); import writes the marker (importMarker).
   */
  importAttributes(id, live, config) {
    const i = live.wg.interfaces.get(id);
    if (!i) return null;
    const link = live.wg.links.get(id);
    return {
      name: id,
      addresses: [...(live.wg.addresses.get(id) ?? [])].filter((a) => !a.startsWith("fe80:")).sort(),
      listen_port: i.listenPort,
      ...(link ? { mtu: link.mtu } : {}),
      fwmark: i.fwmark,
      ...(config?.rotate !== undefined ? { rotate: config.rotate } : {}),
      public_key: i.publicKey,
    };
  },
};

/** The command import runs to make an interface this stack's: its marker file, written whole. */
export function wireguardImportMarker(name: string, lineage: string): Argv {
  return script('set -e; umask 077; printf "%s\\n" "$2" > "/etc/wireguard/$1.backplane.new"; mv "/etc/wireguard/$1.backplane.new" "/etc/wireguard/$1.backplane"', name, lineage);
}

/**
 * Peers on a managed interface that no configuration asks for (added by hand) are drift,
 * and the interface's change removes them. Only when every desired peer's key is known:
 * otherwise a stray peer can't be told from a peer being re-keyed in this apply.
 */
export function removeStrayPeers(iface: Change, peers: readonly Change[], live: HostLive): Drift[] {
  // a refused interface (not this stack's: its change has no desired value) keeps its peers
  if (iface.after === null) return [];
  const mine = peers.filter((p) => (p.after?.interface ?? p.id.split(" ")[0]) === iface.id);
  if (mine.some((p) => p.deferred)) return [];
  const wanted = new Set(mine.map((p) => p.after?.public_key as string | undefined).filter((k): k is string => !!k));
  const stray = [...(live.wg.interfaces.get(iface.id)?.peers.keys() ?? [])].filter((k) => !wanted.has(k));
  if (stray.length === 0) return [];
  const saveStep = iface.steps.find((s) => s.label === "Persisting");
  const steps = iface.steps.filter((s) => s !== saveStep);
  for (const k of stray) {
    steps.push({ command: argv("wg", "set", iface.id, "peer", k, "remove"), label: "Removing unmanaged peer" });
    iface.attrs.push({ name: "peer", before: k, after: undefined });
  }
  steps.push(saveStep ?? save(iface.id));
  iface.steps = steps;
  if (iface.action === "noop") {
    iface.action = "update";
    iface.reason = "peers not in the configuration";
  }
  return stray.map((k) => ({ address: iface.address, host: iface.host, id: iface.id, property: "peer", recorded: null, live: k }));
}

interface PeerDesired {
  interface: string;
  public_key: string;
  allowed_ips: string[];
  endpoint?: string;
  persistent_keepalive?: number;
  /** the key itself is never here: see wireguard-psk.ts */
  preshared_key: boolean;
}

function peerId(iface: string, key: string | null): string {
  return `${iface} peer ${key ?? KNOWN_AFTER_APPLY}`;
}

function peerSteps(p: PeerDesired): Step[] {
  return [
    {
      command: argv("wg", "set", p.interface, "peer", p.public_key, "allowed-ips", p.allowed_ips.join(","),
        ...(p.endpoint ? ["endpoint", p.endpoint] : []),
        "persistent-keepalive", String(p.persistent_keepalive ?? 0)),
      label: "Configuring peer",
    },
    save(p.interface),
  ];
}

export const wireguardPeerKind: ResourceKind = {
  type: "backplane_wireguard_peer",
  id: (c) => peerId(c.interface as string, typeof c.public_key === "string" ? c.public_key : null),

  plan(r, state, ctx): Planned {
    const c = r.config;
    const iface = c.interface as string;
    const notOurs = peersNotOurs(iface, ctx);
    if (notOurs) return { errors: [`${notOurs}: backplane does not configure peers on it`], change: noop(baseChange(r, peerId(iface, typeof c.public_key === "string" ? c.public_key : null)), "not managed") };
    if (isUnknown(c.public_key)) {
      return {
        errors: [],
        change: {
          ...baseChange(r, peerId(iface, null)), action: state ? "update" : "create", reason: "the peer's public key is generated during this apply", destructive: false,
          // an existing peer that follows a new key is an update of its key: shown as such, not as new lines
          attrs: state
            ? [{ name: "public_key", before: state.attributes.public_key as string, after: KNOWN_AFTER_APPLY }]
            : [{ name: "public_key", after: KNOWN_AFTER_APPLY }, { name: "allowed_ips", after: (c.allowed_ips as string[]).join(", ") }, ...(c.endpoint ? [{ name: "endpoint", after: c.endpoint as string }] : [])],
          steps: [], after: null, deferred: true,
        },
      };
    }
    const want: PeerDesired = {
      interface: iface, public_key: c.public_key as string, allowed_ips: [...(c.allowed_ips as string[])].sort(),
      endpoint: c.endpoint as string | undefined, persistent_keepalive: c.persistent_keepalive as number | undefined,
      preshared_key: c.preshared_key === true,
    };
    const base = baseChange(r, peerId(iface, want.public_key));
    const problem = wireguardKeyProblem(want.public_key);
    if (problem) return { errors: [`public_key: ${problem}`], change: noop(base, "invalid") };
    const steps: Step[] = [];
    const attrs: AttrChange[] = [];
    const oldKey = state?.attributes.public_key as string | undefined;
    if (oldKey && oldKey !== want.public_key && ctx.live.wg.interfaces.get(iface)?.peers.has(oldKey)) {
      steps.push({ command: argv("wg", "set", iface, "peer", oldKey, "remove"), label: "Removing old key" });
      attrs.push({ name: "public_key", before: oldKey, after: want.public_key });
    }
    const live = ctx.live.wg.interfaces.get(iface)?.peers.get(want.public_key);
    if (!live) {
      steps.push(...peerSteps(want));
      return {
        errors: [],
        change: {
          ...base, action: state ? "update" : "create", reason: state ? "missing on the host" : "does not exist", destructive: false,
          attrs: [...attrs, ...(oldKey && oldKey !== want.public_key ? [] : [{ name: "public_key", after: want.public_key }]), { name: "allowed_ips", after: want.allowed_ips.join(", ") }, ...(want.endpoint ? [{ name: "endpoint", after: want.endpoint }] : [])],
          steps, after: { ...want },
        },
      };
    }
    if (JSON.stringify(live.allowedIps) !== JSON.stringify(want.allowed_ips)) attrs.push({ name: "allowed_ips", before: live.allowedIps.join(", "), after: want.allowed_ips.join(", ") });
    if (want.endpoint && live.endpoint !== want.endpoint) attrs.push({ name: "endpoint", before: live.endpoint ?? "(none)", after: want.endpoint });
    if ((want.persistent_keepalive ?? 0) !== live.keepalive) attrs.push({ name: "persistent_keepalive", before: String(live.keepalive), after: String(want.persistent_keepalive ?? 0) });
    if (attrs.length > 0) steps.push(...peerSteps(want));
    if (!want.preshared_key && live.hasPresharedKey) {
      // turned off (or set by hand): the pair's other end drops its half in its own change
      attrs.push({ name: "preshared_key", before: "(set)", after: undefined });
      steps.push(removePskStep(iface, want.public_key), save(iface));
    }
    return {
      errors: [],
      change: { ...base, action: steps.length ? "update" : "noop", reason: steps.length ? "differs from the configuration" : "up to date", attrs, destructive: false, steps, after: { ...want } },
    };
  },

  planDelete(address, state, ctx): Planned {
    const a = state.attributes as unknown as PeerDesired;
    const base = deleteBase(address, state);
    if (!ctx.live.wg.interfaces.get(a.interface)?.peers.has(a.public_key)) return { errors: [], change: alreadyGone(base) };
    const notOurs = peersNotOurs(a.interface, ctx);
    if (notOurs) return { errors: [`${state.id} on ${state.host} is no longer in the configuration, but ${notOurs}; backplane does not remove its peers (remove the record with: backplane state rm ${address})`], change: noop(base, "not owned") };
    return { errors: [], change: { ...base, action: "delete", reason: "no longer in the configuration", attrs: [], destructive: false, steps: [{ command: argv("wg", "set", a.interface, "peer", a.public_key, "remove"), label: "Removing" }, save(a.interface)], after: null } };
  },

  drift(address, state, live): Drift[] {
    const a = state.attributes as unknown as PeerDesired;
    const p = live.wg.interfaces.get(a.interface)?.peers.get(a.public_key);
    const d = (property: string, recorded: string | null, l: string | null): Drift => ({ address, host: state.host, id: state.id, property, recorded, live: l });
    if (!p) return [d("(existence)", "exists", "missing")];
    const out: Drift[] = [];
    if (JSON.stringify(p.allowedIps) !== JSON.stringify(a.allowed_ips)) out.push(d("allowed_ips", a.allowed_ips.join(","), p.allowedIps.join(",")));
    // presence only: the key's value is never read
    if (a.preshared_key === true && !p.hasPresharedKey) out.push(d("preshared_key", "(set)", "(none)"));
    if (a.preshared_key !== true && p.hasPresharedKey) out.push(d("preshared_key", "(none)", "(set)"));
    return out;
  },

  importAttributes() {
    return null;
  },
};
