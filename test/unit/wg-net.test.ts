import { describe, it, expect } from "vitest";
import { cidrProblem, endpointProblem, hostProblem, interfaceNameProblem, portProblem, wireguardKeyProblem } from "../../provider/wg/net.js";

// A real public key, printed by `wg genkey | wg pubkey` (wireguard-tools) for this test.
const KEY = "KHWDMlK1varaUtJE5K6XqvUibuDQ7Fz7NErynUN4ZBc=";

describe("network values are validated before they reach a host", () => {
  it("accepts a 32-byte base64 key and refuses others", () => {
    expect(wireguardKeyProblem(KEY)).toBeNull();
    expect(wireguardKeyProblem(Buffer.alloc(31, 1).toString("base64"))).toContain("31 bytes");
    expect(wireguardKeyProblem("not a key")).toContain("32 bytes");
  });
  it.each([["10.0.0.0/33", "larger than 32"], ["10.0.0/24", "not an IPv4"], ["10.0.0.256/24", "not an IPv4"], ["fd00::1/129", "larger than 128"], ["10.0.0.1", "CIDR"]])(
    "refuses CIDR %s", (c, why) => expect(cidrProblem(c)).toContain(why),
  );
  it("accepts CIDRs", () => {
    expect(cidrProblem("10.201.0.1/24")).toBeNull();
    expect(cidrProblem("fd00::1/64")).toBeNull();
  });
  it("ports, hosts, endpoints, interface names", () => {
    expect(portProblem(70000)).toContain("1..65535");
    expect(portProblem(0)).toContain("1..65535");
    expect(hostProblem("host;rm")).toContain("not a valid host name");
    expect(endpointProblem("10.200.0.2:51820")).toBeNull();
    expect(endpointProblem("[fd00::2]:51820")).toBeNull();
    expect(endpointProblem("10.200.0.2")).toContain("host:port");
    expect(interfaceNameProblem("wg0")).toBeNull();
    expect(interfaceNameProblem("averyveryverylongname")).toContain("1-15");
  });
});

describe("IPv6 forms as the host prints them (glibc's inet_ntop, which ip and wg use)", () => {
  it("canonical forms agree with glibc for the embedded-IPv4 ranges and the rest", async () => {
    const { execFileSync } = await import("node:child_process");
    const { canonicalAllowedIp, cidrProblem } = await import("../../provider/wg/net.js");
    const cases = ["::102:304/128", "::1:0/112", "::ffff:1.2.3.4/128", "::ffff:102:304/128", "::1/128", "::/0", "fd00::1/128", "2001:db8::/32", "::2:0:0/96"];
    // glibc's own rendering of each network address, read through Python's socket.inet_ntop
    const glibc = execFileSync("python3", ["-c", "import socket,ipaddress,sys\nfor c in sys.argv[1:]:\n n=ipaddress.ip_network(c,strict=False)\n print(socket.inet_ntop(socket.AF_INET6,n.network_address.packed)+'/'+str(n.prefixlen))", ...cases]).toString().trim().split("\n");
    expect(cases.map((c) => canonicalAllowedIp(c))).toEqual(glibc);
    // a dotted quad inside IPv6 keeps its own bytes (ipaddr.js alone reads ::1.2.3.4 as ::ffff:1.2.3.4)
    const dotted = ["::1.2.3.4/128", "::ffff:1.2.3.4/128", "64:ff9b::192.0.2.33/128", "::0:0:0:0:0:0.0.0.0/0"];
    const glibcDotted = execFileSync("python3", ["-c", "import socket,ipaddress,sys\nfor c in sys.argv[1:]:\n n=ipaddress.ip_network(c,strict=False)\n print(socket.inet_ntop(socket.AF_INET6,n.network_address.packed)+'/'+str(n.prefixlen))", ...dotted]).toString().trim().split("\n");
    expect(dotted.map((c) => canonicalAllowedIp(c))).toEqual(glibcDotted);
    expect(cidrProblem("::1.2.3.999/128")).not.toBeNull();
  });
});
