/** WireGuard interface + peer constructs, and WireGuardMesh over a list of hosts. */
import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { WireguardInterface as InterfaceL1 } from "./gen/wireguard-interface/index.js";
import { WireguardPeer as PeerL1 } from "./gen/wireguard-peer/index.js";
import { wireguardInterface as ifaceKind, wireguardPeer as peerKind } from "../provider/schema/kinds/wireguard.js";
import { cidrProblem } from "../provider/wg/net.js";
import { validateAtSynth, ConstructError } from "./validation.js";
import type { Host } from "./host.js";

/** A WireGuard interface: its name, addresses and port; {@link Host.wireguard} gives it its host. */
export interface WireGuardInterfaceProps {
  name: string;
  addresses: string[];
  listenPort?: number;
  mtu?: number;
  fwmark?: number;
  rotate?: string;
}

/**
 * WireGuardInterface: a WireGuard interface on one host, and its peers ({@link addPeer}).
 * The private key is generated on the host and never read back, so {@link publicKey} is
 * known only after apply; change `rotate` to generate a new one.
 */
export class WireGuardInterface extends Construct {
  readonly resource: InterfaceL1;
  readonly host: Host;
  readonly name: string;
  readonly listenPort?: number;

  constructor(scope: Construct, id: string, props: WireGuardInterfaceProps & { host: Host }) {
    super(scope, id);
    this.host = props.host;
    this.name = props.name;
    this.listenPort = props.listenPort;
    validateAtSynth(this, ifaceKind, () => ({
      name: props.name, addresses: props.addresses, listen_port: props.listenPort, mtu: props.mtu, fwmark: props.fwmark, rotate: props.rotate,
    }));
    this.resource = new InterfaceL1(this, "resource", {
      provider: props.host.provider, name: props.name, addresses: props.addresses,
      listenPort: props.listenPort, mtu: props.mtu, fwmark: props.fwmark, rotate: props.rotate,
    });
  }

  /** (known after apply) until the host generated the key */
  get publicKey(): string {
    return this.resource.publicKey;
  }

  addPeer(id: string, props: { publicKey: string; allowedIps: string[]; endpoint?: string; persistentKeepalive?: number; presharedKey?: boolean }): PeerL1 {
    const scope = new Construct(this, id);
    validateAtSynth(scope, peerKind, () => ({
      interface: this.name, public_key: props.publicKey, allowed_ips: props.allowedIps, endpoint: props.endpoint,
      persistent_keepalive: props.persistentKeepalive, preshared_key: props.presharedKey,
    }));
    return new PeerL1(scope, "peer", {
      provider: this.host.provider, interface: this.name, publicKey: props.publicKey, allowedIps: props.allowedIps,
      endpoint: props.endpoint, persistentKeepalive: props.persistentKeepalive, presharedKey: props.presharedKey,
      dependsOn: [this.resource],
    });
  }
}

/** The hosts of a mesh, the network their addresses come from, and its topology. */
export interface WireGuardMeshProps {
  hosts: Host[];
  /** addresses are allocated from this network, e.g. 10.201.0.0/24 */
  cidr: string;
  interfaceName?: string;
  listenPort?: number;
  /** full mesh (default) or hub-and-spoke through one host */
  topology?: "full" | { hub: Host };
  persistentKeepalive?: number;
  /** pin a host's host number inside the CIDR (otherwise derived from its name) */
  fixed?: Record<string, number>;
  /** change a host's value to regenerate its key; its peers follow in the same apply */
  rotate?: Record<string, string>;
  /**
   * a preshared key per pair of hosts (post-quantum hardening): generated on one host and
   * handed to the other between the two SSH sessions, never through state or this machine's disk
   */
  presharedKeys?: boolean;
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((a, p) => a * 256 + Number(p), 0);
}
function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/**
 * Deterministic address allocation: a host's number comes from a hash of its name (linear
 * probing on collision, hosts taken in name order), so adding a host never moves others
 * unless the newcomer's hash collides with a probed slot. Pure; exported for tests.
 */
export function allocateMeshAddresses(cidr: string, names: string[], fixed: Record<string, number> = {}): Map<string, string> {
  const p = cidrProblem(cidr);
  if (p) throw new Error(p);
  const [ip, lenText] = cidr.split("/") as [string, string];
  if (ip.includes(":")) throw new Error("WireGuardMesh allocates from IPv4 networks");
  const len = Number(lenText);
  const size = 2 ** (32 - len);
  if (size < 4) throw new Error(`${cidr} is too small for a mesh`);
  if (names.length > size - 2) throw new Error(`${cidr} has ${size - 2} host addresses; the mesh has ${names.length} hosts`);
  const base = ipv4ToInt(ip) - (ipv4ToInt(ip) % size);
  const used = new Set<number>(Object.values(fixed));
  const out = new Map<string, string>();
  for (const [name, n] of Object.entries(fixed)) {
    if (n < 1 || n > size - 2) throw new Error(`fixed host number ${n} for ${name} is outside 1..${size - 2}`);
    out.set(name, intToIpv4(base + n));
  }
  for (const name of [...names].sort()) {
    if (out.has(name)) continue;
    let n = (createHash("sha256").update(name).digest().readUInt32BE(0) % (size - 2)) + 1;
    while (used.has(n)) n = (n % (size - 2)) + 1;
    used.add(n);
    out.set(name, intToIpv4(base + n));
  }
  return out;
}

/**
 * WireGuardMesh: one interface per host, with addresses from `cidr` ({@link allocateMeshAddresses})
 * and peers between every pair of hosts, or between the hub and each other host. A
 * Replication `via` the mesh sends its stream through these tunnels.
 */
export class WireGuardMesh extends Construct {
  readonly interfaces = new Map<string, WireGuardInterface>();
  readonly addresses: Map<string, string>;

  constructor(scope: Construct, id: string, props: WireGuardMeshProps) {
    super(scope, id);
    const names = props.hosts.map((h) => h.hostName);
    if (new Set(names).size !== names.length) throw new ConstructError(this.node.path, "a host appears twice in the mesh");
    const p = cidrProblem(props.cidr);
    if (p) throw new ConstructError(this.node.path, `cidr: ${p}`);
    try {
      this.addresses = allocateMeshAddresses(props.cidr, names, props.fixed);
    } catch (e) {
      throw new ConstructError(this.node.path, (e as Error).message);
    }
    const port = props.listenPort ?? 51820;
    const ifname = props.interfaceName ?? "wg0";
    const prefix = props.cidr.split("/")[1];
    for (const h of props.hosts) {
      this.interfaces.set(h.hostName, h.wireguard(`${id}-${ifname}`, { name: ifname, addresses: [`${this.addresses.get(h.hostName)}/${prefix}`], listenPort: port, rotate: props.rotate?.[h.hostName] }));
    }
    const hub = typeof props.topology === "object" ? props.topology.hub : undefined;
    if (hub && !names.includes(hub.hostName)) throw new ConstructError(this.node.path, `hub ${hub.hostName} is not in the mesh`);
    for (const a of props.hosts) {
      for (const b of props.hosts) {
        if (a === b) continue;
        if (hub && a !== hub && b !== hub) continue;
        const peerOf = this.interfaces.get(b.hostName)!;
        const allowed = hub && a !== hub ? [props.cidr] : [`${this.addresses.get(b.hostName)}/32`];
        this.interfaces.get(a.hostName)!.addPeer(`peer-${b.hostName}`, {
          publicKey: peerOf.publicKey,
          allowedIps: allowed,
          endpoint: `${b.peerAddress}:${port}`,
          persistentKeepalive: props.persistentKeepalive,
          presharedKey: props.presharedKeys,
        });
      }
    }
  }

  addressOf(host: Host): string {
    const a = this.addresses.get(host.hostName);
    if (!a) throw new ConstructError(this.node.path, `${host.hostName} is not in the mesh`);
    return a;
  }
}
