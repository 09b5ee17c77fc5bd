/**
 * WireGuard facts: `wg show all dump` parsed strictly, with the private key and preshared
 * keys dropped AT THE PARSER BOUNDARY — nothing downstream can leak what it never holds.
 * Plus interface addresses and MTU from `ip -o`, and which wg-quick configs persist.
 */
import { argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { WgInterface, WgPeer } from "../model/live.js";

function lines(s: string): string[] {
  const l = s.split("\n");
  if (l[l.length - 1] === "") l.pop();
  return l;
}

/**
 * The keys are replaced ON THE HOST before the output leaves it, so no private or preshared
 * key ever crosses the SSH connection: the private key by "(hidden)", a preshared key by a
 * fingerprint (16 hex digits of sha256 over a fixed prefix and the key) so a plan can tell
 * whether both ends of a pair hold the same key without either key leaving its host. The
 * keys pass only through shell variables and builtins (printf) and a pipe into sha256sum —
 * never an argv. The parser refuses a line whose key columns are not in that form.
 * A `wg` that fails fails the read (its output is taken first: in a pipe its exit status
 * would be lost and a failing wg would read as "no interfaces"); a host without wg has none.
 */
const WG_DUMP_SCRIPT = [
  "tab=$(printf '\\t')",
  // no wg: no interfaces — unless the kernel shows WireGuard links, which then cannot be read
  'if ! command -v wg >/dev/null 2>&1; then if [ -n "$(ip -o link show type wireguard 2>/dev/null)" ]; then echo "WireGuard interfaces exist but wg (wireguard-tools) is missing: they cannot be read" >&2; exit 1; fi; exit 0; fi',
  "dump=$(wg show all dump) || exit $?",
  '[ -n "$dump" ] || exit 0',
  'printf "%s\\n" "$dump" | while IFS="$tab" read -r a b c d e f g h i; do',
  '  if [ -z "$f" ]; then printf "%s\\t(hidden)\\t%s\\t%s\\t%s\\n" "$a" "$c" "$d" "$e"',
  '  elif [ "$c" = "(none)" ]; then printf "%s\\t%s\\t(none)\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$a" "$b" "$d" "$e" "$f" "$g" "$h" "$i"',
  '  else printf "%s\\t%s\\tfp:%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$a" "$b" "$(printf "backplane-psk:%s" "$c" | sha256sum | cut -c1-16)" "$d" "$e" "$f" "$g" "$h" "$i"; fi',
  "done",
].join("\n");

export const wgDump: Fact<Map<string, WgInterface>> = {
  name: "wg show all dump",
  command: argv("sh", "-c", WG_DUMP_SCRIPT),
  parse(stdout) {
    const out = new Map<string, WgInterface>();
    lines(stdout).forEach((line, i) => {
      const c = line.split("\t");
      if (c.length === 5) {
        // interface: name, PRIVATE KEY (dropped here), public key, listen port, fwmark
        const [name, hidden, publicKey, port, fwmark] = c as [string, string, string, string, string];
        // never echo the line: if the host did not blank it, it holds a private key
        if (hidden !== "(hidden)") throw new ParseError("wg show all dump", i + 1, "the private key column was not blanked on the host");
        if (out.has(name)) throw new ParseError("wg show all dump", i + 1, `interface ${name} listed twice`);
        out.set(name, { name, publicKey, listenPort: Number(port), fwmark: fwmark === "off" ? 0 : Number(fwmark), peers: new Map() });
      } else if (c.length === 9) {
        // peer: interface, public key, PRESHARED KEY (dropped here), endpoint, allowed ips, handshake, rx, tx, keepalive
        const [name, publicKey, psk, endpoint, allowed, handshake, rx, tx, keepalive] = c as [string, string, string, string, string, string, string, string, string];
        const iface = out.get(name);
        if (!iface) throw new ParseError("wg show all dump", i + 1, `peer line before its interface ${name}`);
        if (psk !== "(none)" && !/^fp:[0-9a-f]{16}$/.test(psk)) throw new ParseError("wg show all dump", i + 1, "the preshared key column was not replaced by its fingerprint on the host");
        if (!/^\d+$/.test(handshake) || !/^\d+$/.test(rx) || !/^\d+$/.test(tx)) throw new ParseError("wg show all dump", i + 1, "handshake/rx/tx are not numbers");
        iface.peers.set(publicKey, {
          publicKey,
          hasPresharedKey: psk !== "(none)",
          presharedKeyFingerprint: psk === "(none)" ? null : psk.slice(3),
          endpoint: endpoint === "(none)" ? null : endpoint,
          allowedIps: allowed === "(none)" ? [] : allowed.split(",").sort(),
          latestHandshake: Number(handshake),
          rx: BigInt(rx),
          tx: BigInt(tx),
          keepalive: keepalive === "off" ? 0 : Number(keepalive),
        });
      } else {
        throw new ParseError("wg show all dump", i + 1, `expected 5 (interface) or 9 (peer) columns, got ${c.length}`);
      }
    });
    return out;
  },
};

/** `ip -o addr show` + `ip -o link show`: addresses and MTU per interface. */
export const ipAddr: Fact<Map<string, string[]>> = {
  name: "ip -o addr show",
  command: argv("ip", "-o", "addr", "show"),
  parse(stdout) {
    const out = new Map<string, string[]>();
    lines(stdout).forEach((line, i) => {
      const m = /^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)/.exec(line);
      if (!m) throw new ParseError("ip -o addr show", i + 1, `unexpected line ${JSON.stringify(line)}`);
      const list = out.get(m[1]!) ?? [];
      list.push(m[3]!);
      out.set(m[1]!, list);
    });
    return out;
  },
};

export const ipLink: Fact<Map<string, { mtu: number; up: boolean }>> = {
  name: "ip -o link show",
  command: argv("ip", "-o", "link", "show"),
  parse(stdout) {
    const out = new Map<string, { mtu: number; up: boolean }>();
    lines(stdout).forEach((line, i) => {
      const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>.*\smtu\s+(\d+)/.exec(line);
      if (!m) throw new ParseError("ip -o link show", i + 1, `unexpected line ${JSON.stringify(line)}`);
      out.set(m[1]!, { mtu: Number(m[3]), up: m[2]!.split(",").includes("UP") });
    });
    return out;
  },
};

/**
 * Which interfaces have a wg-quick config (persist across reboots), which carry backplane's
 * ownership marker (/etc/wireguard/<if>.backplane, written before the interface exists: the
 * stack's lineage), and the implementation.
 */
export const wgHost: Fact<{ implementation: "kernel" | "wireguard-go" | "none"; persisted: Set<string>; markers: Map<string, string> }> = {
  name: "wireguard host",
  command: argv("sh", "-c",
    'if [ -d /sys/module/wireguard ] || modinfo wireguard >/dev/null 2>&1; then echo impl kernel; elif command -v wireguard-go >/dev/null; then echo impl wireguard-go; else echo impl none; fi; ' +
    'ifname() { case "$1" in ""|*[!A-Za-z0-9_=+.-]*) return 1;; esac; [ ${#1} -le 15 ]; }; ' +
    // only files named as an interface can be: a file name holding a newline cannot forge a line
    'for f in /etc/wireguard/*.conf; do n=$(basename "$f" .conf); [ -f "$f" ] && ifname "$n" && echo "conf $n"; done; ' +
    'for f in /etc/wireguard/*.backplane; do n=$(basename "$f" .backplane); [ -f "$f" ] && ifname "$n" && printf "marker %s %s\\n" "$n" "$(head -c 64 "$f" | tr -dc "0-9a-zA-Z-")"; done; true'),
  parse(stdout) {
    let implementation: "kernel" | "wireguard-go" | "none" = "none";
    const persisted = new Set<string>();
    const markers = new Map<string, string>();
    const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;
    lines(stdout).forEach((line, i) => {
      const [k, v] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
      if (k === "impl" && (v === "kernel" || v === "wireguard-go" || v === "none")) implementation = v;
      else if (k === "conf" && IFNAME.test(v) && !persisted.has(v)) persisted.add(v);
      else if (k === "marker" && /^[A-Za-z0-9_=+.-]{1,15} [0-9a-zA-Z-]*$/.test(v) && !markers.has(v.slice(0, v.indexOf(" ")))) markers.set(v.slice(0, v.indexOf(" ")), v.slice(v.indexOf(" ") + 1));
      else throw new ParseError("wireguard host", i + 1, `unexpected or repeated line ${JSON.stringify(line)}`);
    });
    return { implementation, persisted, markers };
  },
};
