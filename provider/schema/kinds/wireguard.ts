/** WireGuard interface and peer. The private key is generated on the host and never leaves it. */
import { z } from "zod";
import { type KindSpec, str, num, strList, bool, computed, checked } from "../attr.js";
import { canonicalAllowedIp, canonicalEndpoint, canonicalInterfaceAddress, cidrProblem, endpointProblem, interfaceNameProblem, portProblem, wireguardKeyProblem } from "../../wg/net.js";

/** A list's strings in canonical form; values not known yet stay as they are. */
function canonicalList(v: Record<string, unknown>, attribute: string, f: (s: string) => string): Record<string, unknown> {
  const list = v[attribute];
  return Array.isArray(list) ? { ...v, [attribute]: list.map((x) => (typeof x === "string" ? f(x) : x)) } : v;
}

/** Two entries that are the same once canonical (10.0.0.1/24 and 10.0.0.2/24 as allowed IPs) would never converge. */
function duplicatesAfter(v: Record<string, unknown>, attribute: string, f: (s: string) => string, report: (path: string, message: string) => void): void {
  const list = v[attribute];
  if (!Array.isArray(list)) return;
  const seen = new Map<string, number>();
  list.forEach((x, i) => {
    if (typeof x !== "string" || cidrProblem(x)) return;
    const c = f(x);
    if (seen.has(c)) report(`${attribute}.${i}`, `${attribute}[${i}] is ${c}, like ${attribute}[${seen.get(c)}]; give each once`);
    else seen.set(c, i);
  });
}

const port = z.number().superRefine((v, c) => { const p = portProblem(v); if (p) c.addIssue({ code: "custom", message: p }); });

export const wireguardInterface: KindSpec = {
  type: "backplane_wireguard_interface",
  kind: "resource",
  engineSupport: "full",
  description: "A WireGuard interface. Its private key is generated on the host (`wg genkey`, mode 0600) and never read back; `public_key` is computed and known after apply. Configuration persists across reboots.",
  attributes: {
    name: str("Interface name.", checked(interfaceNameProblem), { required: true, createOnly: true, example: "wg0" }),
    addresses: strList("Addresses of the interface (CIDR).", checked(cidrProblem), { required: true, example: '["10.201.0.1/24"]' }),
    listen_port: num("UDP listen port.", port, { example: "51820" }),
    mtu: num("MTU.", z.number().int().min(576).max(9000)),
    fwmark: num("Firewall mark for outgoing packets.", z.number().int().min(0).max(0xffffffff)),
    rotate: str("Change this value to regenerate the private key.", z.string().max(255, { message: "must be at most 255 characters" }).regex(/^[^\p{Cc}]*$/u, { message: "must not contain control characters" })),
    public_key: computed("Public key derived on the host."),
  },
  refine: (v, report) => duplicatesAfter(v, "addresses", canonicalInterfaceAddress, report),
  // as `ip -o addr` prints them: the plan compares strings
  canonical: (v) => canonicalList(v, "addresses", canonicalInterfaceAddress),
};

export const wireguardPeer: KindSpec = {
  type: "backplane_wireguard_peer",
  kind: "resource",
  engineSupport: "full",
  description: "A peer on a WireGuard interface. Changes apply with `wg set` without tearing the interface down.",
  attributes: {
    interface: str("Interface name on this host.", checked(interfaceNameProblem), { required: true, createOnly: true, example: "wg0" }),
    public_key: str("The peer's public key (usually another interface's public_key).", checked(wireguardKeyProblem), { required: true, example: "${backplane_wireguard_interface.dr_wg0.public_key}" }),
    allowed_ips: strList("Allowed IPs (CIDR).", checked(cidrProblem), { required: true, example: '["10.201.0.2/32"]' }),
    endpoint: str("host:port of the peer.", checked(endpointProblem), { example: "10.200.0.2:51820" }),
    persistent_keepalive: num("Keepalive interval in seconds (0 = off).", z.number().int().min(0).max(65535)),
    preshared_key: bool("Use a preshared key generated on one host and streamed to the other (never through state).", { default: false }),
  },
  refine: (v, report) => duplicatesAfter(v, "allowed_ips", canonicalAllowedIp, report),
  // as `wg show` prints them: allowed IPs as networks, endpoint addresses in RFC 5952 form
  canonical: (v) => {
    const out = canonicalList(v, "allowed_ips", canonicalAllowedIp);
    return typeof out.endpoint === "string" ? { ...out, endpoint: canonicalEndpoint(out.endpoint) } : out;
  },
};
