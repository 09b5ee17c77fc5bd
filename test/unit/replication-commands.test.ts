/** Replication's command builders and its transfer report: quoting, the forced command, what the target may run. */
import { describe, it, expect } from "vitest";
import { authorizedLine, authorizedOptions, forcedCommand, knownHostsLine, parseSyncOutput, replicationId, holdTag, ago, bytes } from "../../provider/resources/replication.js";
import { toShell } from "../../provider/model/argv.js";
import { loadStack } from "../../provider/engine/load.js";
import { seedDocs } from "./helpers/seed.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXCr92uAqTwYIq/Ot4D3vMavtRZwXuG4yZD9xbq1+9r backplane-replication=7b61774126228809";

describe("the forced command on the target", () => {
  it.each([
    ["a plain target", { target: "backup/prod/uploads", force: false, receive: {} }, false, "zfs recv -s -u -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb backup/prod/uploads"],
    ["a volume takes no canmount", { target: "backup/vol", force: false, receive: {} }, true, "zfs recv -s -u -o readonly=on backup/vol"],
    ["-F only when the stack allows rolling back", { target: "backup/x", force: true, receive: {} }, false, "zfs recv -s -u -F -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb backup/x"],
    ["receive properties, sorted", { target: "backup/x", force: false, receive: { "org:b": "2", compression: "zstd" } }, false, "zfs recv -s -u -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb -o compression=zstd -o org:b=2 backup/x"],
    ["a name with a space and a quote-like value are quoted", { target: "backup/my data", force: false, receive: { "org:note": "it's; reboot" } }, false, "zfs recv -s -u -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb -o 'org:note=it'\\''s; reboot' 'backup/my data'"],
  ])("%s", (_, cfg, volume, expected) => {
    expect(toShell(forcedCommand(cfg, volume))).toBe(expected);
  });

  it("the authorized_keys line restricts the key to that command and ends in the replication's tag", () => {
    const options = authorizedOptions(forcedCommand({ target: "backup/my data", force: false, receive: {} }, false));
    expect(options).toBe(`restrict,command="zfs recv -s -u -o readonly=on -o canmount=noauto -o exec=off -o setuid=off -o devices=off -x mountpoint -x sharenfs -x sharesmb 'backup/my data'"`);
    expect(authorizedLine(options, KEY, "7b61774126228809")).toBe(`${options} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXCr92uAqTwYIq/Ot4D3vMavtRZwXuG4yZD9xbq1+9r backplane-replication=7b61774126228809`);
  });

  it("a shell-quoted single quote (a backslash inside) survives sshd's unescaping; a double quote is escaped", () => {
    const options = authorizedOptions(forcedCommand({ target: "backup/x", force: false, receive: { "org:a": "it's" } }, true));
    expect(options).toBe(`restrict,command="zfs recv -s -u -o readonly=on -o 'org:a=it'\\''s' backup/x"`);
  });

  it("double quotes and backslashes cannot close the command=\"…\" option", () => {
    const options = authorizedOptions(forcedCommand({ target: "backup/x", force: false, receive: { "org:a": 'x" ,command="sh' } }, false));
    // every quote inside is escaped: ssh reads one option whose command is the whole zfs recv
    expect(options.slice('restrict,command="'.length, -1)).not.toMatch(/(^|[^\\])"/);
  });

  it("anything but an ed25519 public key is not authorised", () => {
    for (const bad of ["", "ssh-rsa AAAAB3NzaC1yc2E x", "ssh-ed25519", "ssh-ed25519 AAAA$(reboot)", "ssh-ed25519 AA AA\nextra"]) expect(authorizedLine("restrict", bad, "0123456789abcdef"), bad).toBeNull();
  });

  it("the known_hosts line names the tunnel address, in ssh's bracket form off port 22", () => {
    expect(knownHostsLine("10.201.0.2", 22, "ssh-ed25519 AAAAkey backplane-lab-dr")).toBe("10.201.0.2 ssh-ed25519 AAAAkey");
    expect(knownHostsLine("fd00::2", 2222, "ssh-ed25519 AAAAkey")).toBe("[fd00::2]:2222 ssh-ed25519 AAAAkey");
  });
});

describe("names replication owns", () => {
  it("the id depends on the stack's lineage and the resource address, and names the hold tag", () => {
    const a = replicationId("3f1c0d9e-0000-4000-8000-000000000001", "backplane_replication.uploads");
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(replicationId("3f1c0d9e-0000-4000-8000-000000000002", "backplane_replication.uploads")).not.toBe(a);
    expect(replicationId("3f1c0d9e-0000-4000-8000-000000000001", "backplane_replication.postgres")).not.toBe(a);
    expect(holdTag(a)).toBe(`backplane-repl-${a}`);
  });
});

describe("the transfer's report", () => {
  it("reads the snapshot, its guid, the stream size, a resume and warnings", () => {
    const r = parseSyncOutput("bytes\t181177160\nresumed\ttank/srv/uploads@backplane-repl-20261126T081801Z\nbytes\t4096\nsnapshot\ttank/srv/uploads@backplane-repl-20261126T081851Z\t166975418041235525\nwarning\tcannot release the hold on tank/srv/uploads@x\n");
    expect(r).toEqual({ snapshot: "tank/srv/uploads@backplane-repl-20261126T081851Z", guid: "166975418041235525", bytes: 181181256, resumed: "tank/srv/uploads@backplane-repl-20261126T081801Z", warnings: ["cannot release the hold on tank/srv/uploads@x"] });
  });

  it.each([
    ["no snapshot reported", "bytes\t12\n"],
    ["a line it does not know", "snapshot\ttank/a@b\t1\nrm -rf /\n"],
    ["a guid that is not a number", "snapshot\ttank/a@b\tabc\n"],
  ])("refuses %s", (_, out) => {
    expect(() => parseSyncOutput(out)).toThrow();
  });

  it("says sizes and ages for people", () => {
    expect([bytes(512), bytes(12_300), bytes(42_000_000), bytes(3.2e9)]).toEqual(["512 B", "12.3 kB", "42.0 MB", "3.2 GB"]);
    expect([ago(45), ago(600), ago(7800), ago(3 * 86400 + 4 * 3600)]).toEqual(["45s", "10m", "2h 10m", "3d 4h"]);
  });
});

describe("validation of a replication at load", () => {
  const withReplication = (extra: Record<string, unknown>) => {
    const doc = structuredClone(seedDocs()["seed-dr"]);
    const [name] = Object.keys(doc.resource.backplane_replication);
    Object.assign(doc.resource.backplane_replication[name!], extra);
    return () => loadStack(doc);
  };
  it.each([
    ["readonly is backplane's on a target", { receive_properties: { readonly: "off" } }, /receive_properties.*readonly.*set by backplane/],
    ["canmount is backplane's on a target", { receive_properties: { canmount: "on" } }, /canmount.*set by backplane/],
    ["a stream cannot be given a mountpoint", { receive_properties: { mountpoint: "/root/.ssh" } }, /mountpoint.*set by backplane/],
    ["nor exec", { receive_properties: { exec: "on" } }, /exec.*set by backplane/],
    ["a quote cannot reach the forced command", { receive_properties: { "org:x": 'a"b' } }, /double quotes or backslashes/],
    ["a port out of range", { target_port: 70000 }, /target_port/],
    ["a retention of zero", { retain_source: 0 }, /retain_source/],
    ["a target name that is not a dataset", { target_dataset: "backup/../etc" }, /target_dataset/],
  ])("%s", (_, extra, message) => {
    expect(withReplication(extra)).toThrow(message);
  });
});

describe("progress of a running transfer", () => {
  it("reads zfs send -v -P's size and per-second lines; everything else on stderr is the command's own", async () => {
    const { sendProgress, isSendChatter } = await import("../../provider/resources/replication.js");
    expect(sendProgress("size\t181177160")).toEqual({ total: 181177160 });
    expect(sendProgress("08:20:33\t2228224\ttank/srv/uploads@backplane-repl-20261126T081851Z")).toEqual({ sent: 2228224 });
    expect(sendProgress("incremental\ttank/srv/uploads@a\ttank/srv/uploads@b\t181177160")).toBeNull();
    expect(isSendChatter("incremental\ttank/srv/uploads@a\ttank/srv/uploads@b\t181177160")).toBe(true);
    expect(isSendChatter("zfs recv on 10.201.0.2 failed (exit 1)")).toBe(false);
    expect(isSendChatter("cannot receive incremental stream: destination backup/prod/uploads has been modified")).toBe(false);
  });
});
