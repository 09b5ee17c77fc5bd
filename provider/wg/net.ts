/**
 * Validation and canonical form of WireGuard and network values: keys (base64 of exactly
 * 32 bytes), addresses and CIDRs (parsed by ipaddr.js, not by hand), ports, host names,
 * interface names, endpoints. Pure; each `…Problem` returns a reason or null.
 *
 * Canonical forms are what the host prints, so desired and live compare as strings and a
 * plan never diffs forever: an interface address as `ip -o addr` shows it (host bits kept,
 * IPv6 in RFC 5952 form), an allowed IP as `wg show` shows it (host bits cleared: the kernel
 * stores the network).
 */
import ipaddr from "ipaddr.js";
import { echo } from "../model/echo.js";

export function wireguardKeyProblem(key: string): string | null {
  // Canonical base64 of 32 bytes is 44 characters ending in one '='.
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key)) {
    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(key) && key.length % 4 === 0 ? Buffer.from(key, "base64").length : -1;
    if (bytes >= 0 && bytes !== 32) return `a WireGuard key is base64 of 32 bytes; this one decodes to ${bytes} bytes`;
    return "a WireGuard key is base64 of exactly 32 bytes (44 characters ending in '=')";
  }
  return null;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** An IPv4 address in four decimal parts, or an IPv6 address without a zone. */
function parseIp(ip: string): Address | string {
  if (ip.includes(":")) {
    if (ip.includes("%")) return `'${echo(ip)}' has a zone index (%…), which WireGuard and ip addr do not take here`;
    if (!/^[0-9A-Fa-f:.]+$/.test(ip) || !ipaddr.IPv6.isValid(ip)) return `'${echo(ip)}' is not an IPv6 address`;
    // ipaddr.js reads every embedded dotted quad as IPv4-mapped (::1.2.3.4 as ::ffff:1.2.3.4):
    // the quad becomes its two hex groups first, so the address keeps its own bytes
    const dot = ip.lastIndexOf(":");
    if (ip.includes(".")) {
      const quad = ip.slice(dot + 1);
      if (!ipaddr.IPv4.isValidFourPartDecimal(quad)) return `'${echo(ip)}' is not an IPv6 address`;
      const [a, b, c, d] = ipaddr.IPv4.parse(quad).octets as [number, number, number, number];
      const hex = `${ip.slice(0, dot + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
      return ipaddr.IPv6.isValid(hex) ? ipaddr.IPv6.parse(hex) : `'${echo(ip)}' is not an IPv6 address`;
    }
    return ipaddr.IPv6.parse(ip);
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) return `'${echo(ip)}' is not an IPv4 address (four decimal parts 0-255, no leading zeros)`;
  return ipaddr.IPv4.parse(ip);
}

/**
 * As `ip` and `wg` print it (glibc's inet_ntop): dotted quad; RFC 5952 IPv6, except that the
 * IPv4-mapped form is ::ffff:a.b.c.d and an address whose first 96 bits are zero and whose
 * seventh group is not (the old IPv4-compatible form) is ::a.b.c.d.
 */
export function show(a: Address): string {
  if (a.kind() === "ipv6") {
    const v6 = a as ipaddr.IPv6;
    const w = v6.parts;
    const dotted = () => `${w[6]! >> 8}.${w[6]! & 255}.${w[7]! >> 8}.${w[7]! & 255}`;
    if (v6.isIPv4MappedAddress()) return `::ffff:${dotted()}`;
    if (w.slice(0, 6).every((x) => x === 0) && w[6] !== 0) return `::${dotted()}`;
    return v6.toRFC5952String();
  }
  return a.toString();
}

export function ipProblem(ip: string): string | null {
  const a = parseIp(ip);
  return typeof a === "string" ? a : null;
}

function parseCidr(cidr: string): [Address, number] | string {
  const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(cidr);
  if (!m) return `'${echo(cidr)}' is not in CIDR form (address/prefix)`;
  const a = parseIp(m[1]!);
  if (typeof a === "string") return a;
  const len = Number(m[2]);
  const max = a.kind() === "ipv6" ? 128 : 32;
  if (len > max) return `prefix length /${len} is larger than ${max} in '${echo(cidr)}'`;
  return [a, len];
}

/** An address with prefix length, e.g. 10.200.0.1/24 or fd00::1/64. */
export function cidrProblem(cidr: string): string | null {
  const c = parseCidr(cidr);
  return typeof c === "string" ? c : null;
}

/** An interface address as `ip -o addr` prints it (10.0.0.1/24, fd00::1/64). Valid input only. */
export function canonicalInterfaceAddress(cidr: string): string {
  const c = parseCidr(cidr);
  return typeof c === "string" ? cidr : `${show(c[0])}/${c[1]}`;
}

/** An allowed IP as `wg show` prints it: the network (10.0.0.1/24 → 10.0.0.0/24). Valid input only. */
export function canonicalAllowedIp(cidr: string): string {
  const c = parseCidr(cidr);
  if (typeof c === "string") return cidr;
  const [a, len] = c;
  const bytes = a.toByteArray();
  for (let bit = len; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${show(ipaddr.fromByteArray(bytes))}/${len}`;
}

export function portProblem(port: number): string | null {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${echo(String(port))} is outside 1..65535`;
  return null;
}

/** RFC 1123 host name or an IP address. */
export function hostProblem(host: string): string | null {
  if (host.includes(":") || /^[0-9.]+$/.test(host)) return ipProblem(host);
  if (host.length > 253) return "host name is longer than 253 characters";
  for (const label of host.split(".")) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) return `'${echo(host)}' is not a valid host name`;
  }
  return null;
}

function parseEndpoint(endpoint: string): { host: string; v6: boolean; port: string } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(endpoint);
  return m ? { host: m[1] ?? m[2]!, v6: m[1] !== undefined, port: m[3]! } : null;
}

/** host:port or [v6]:port, as `wg set … endpoint` takes it. */
export function endpointProblem(endpoint: string): string | null {
  const e = parseEndpoint(endpoint);
  if (!e) return `'${echo(endpoint)}' is not host:port`;
  const hostBad = e.v6 ? (e.host.includes(":") ? ipProblem(e.host) : `'${echo(e.host)}' in brackets is not an IPv6 address`) : hostProblem(e.host);
  return hostBad ?? portProblem(Number(e.port));
}

/** An endpoint with its address as `wg show` prints it ([fd00::2]:51820); names unchanged. Valid input only. */
export function canonicalEndpoint(endpoint: string): string {
  const e = parseEndpoint(endpoint);
  if (!e) return endpoint;
  const a = e.v6 || /^[0-9.]+$/.test(e.host) ? parseIp(e.host) : null;
  if (!a || typeof a === "string") return endpoint;
  const port = String(Number(e.port));
  return a.kind() === "ipv6" ? `[${show(a)}]:${port}` : `${show(a)}:${port}`;
}

/**
 * Linux interface names (dev_valid_name): 1..15 bytes, no '/', ':' or whitespace; wg-quick
 * also forbids most punctuation. A leading '-' would read as an option to `ip` and `wg`.
 */
export function interfaceNameProblem(name: string): string | null {
  if (!/^[a-zA-Z0-9_=+.-]{1,15}$/.test(name)) return `interface name '${echo(name)}' must be 1-15 characters of letters, digits, '_', '=', '+', '.' or '-'`;
  if (name.startsWith("-")) return `interface name '${echo(name)}' may not start with '-' (ip and wg would read it as an option)`;
  if (name === "." || name === "..") return `interface name '${name}' is not allowed`;
  return null;
}
