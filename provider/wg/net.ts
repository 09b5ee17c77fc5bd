/**
 * Validation of WireGuard and network values: keys (base64 of exactly 32 bytes), CIDRs,
 * ports, hostnames, interface names, endpoints. Pure; each returns a reason or null.
 */

export function wireguardKeyProblem(key: string): string | null {
  // Canonical base64 of 32 bytes is 44 characters ending in one '='.
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key)) {
    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(key) ? Buffer.from(key, "base64").length : -1;
    if (bytes >= 0 && bytes !== 32) return `a WireGuard key is base64 of 32 bytes; this one decodes to ${bytes} bytes`;
    return "a WireGuard key is base64 of 32 bytes (44 characters ending in '=')";
  }
  return null;
}

function ipv4Problem(ip: string): string | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return `'${ip}' is not an IPv4 address`;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return `'${ip}' is not an IPv4 address`;
  }
  return null;
}

function ipv6Problem(ip: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !ip.includes(":")) return `'${ip}' is not an IPv6 address`;
  const dbl = ip.split("::");
  if (dbl.length > 2) return `'${ip}' is not an IPv6 address ('::' twice)`;
  const groups = ip.split(":").filter((g) => g !== "");
  let count = groups.length;
  const last = groups[groups.length - 1];
  if (last && last.includes(".")) {
    if (ipv4Problem(last)) return `'${ip}' is not an IPv6 address`;
    count += 1;
  }
  if (groups.some((g) => !g.includes(".") && !/^[0-9a-fA-F]{1,4}$/.test(g))) return `'${ip}' is not an IPv6 address`;
  if (dbl.length === 1 ? count !== 8 : count > 7) return `'${ip}' is not an IPv6 address`;
  return null;
}

export function ipProblem(ip: string): string | null {
  return ip.includes(":") ? ipv6Problem(ip) : ipv4Problem(ip);
}

/** An address with prefix length, e.g. 10.200.0.1/24 or fd00::1/64. */
export function cidrProblem(cidr: string): string | null {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(cidr);
  if (!m) return `'${cidr}' is not in CIDR form (address/prefix)`;
  const [, ip, len] = m as unknown as [string, string, string];
  const v6 = ip.includes(":");
  const p = ipProblem(ip);
  if (p) return p;
  const max = v6 ? 128 : 32;
  if (Number(len) > max) return `prefix length /${len} is larger than ${max} in '${cidr}'`;
  return null;
}

export function portProblem(port: number): string | null {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${port} is outside 1..65535`;
  return null;
}

/** RFC 1123 host name or an IP address. */
export function hostProblem(host: string): string | null {
  if (host.includes(":") || /^[0-9.]+$/.test(host)) return ipProblem(host);
  if (host.length > 253) return "host name is longer than 253 characters";
  for (const label of host.split(".")) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) return `'${host}' is not a valid host name`;
  }
  return null;
}

/** host:port or [v6]:port, as `wg set … endpoint` takes it. */
export function endpointProblem(endpoint: string): string | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(endpoint);
  if (!m) return `'${endpoint}' is not host:port`;
  const host = m[1] ?? m[2]!;
  return (m[1] ? ipv6Problem(host) : hostProblem(host)) ?? portProblem(Number(m[3]));
}

/** Linux interface names: 1..15 bytes, no '/', whitespace or ':' (wg-quick also forbids most punctuation). */
export function interfaceNameProblem(name: string): string | null {
  if (!/^[a-zA-Z0-9_=+.-]{1,15}$/.test(name)) return `interface name '${name}' must be 1-15 characters of letters, digits, '_', '=', '+', '.' or '-'`;
  if (name === "." || name === "..") return `interface name '${name}' is not allowed`;
  return null;
}
