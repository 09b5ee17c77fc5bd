/**
 * The apply walk's scheduling, run for real on this machine through LocalTransport (the
 * commands are `sleep`/`true`; what is under test is ordering, batching and state writes).
 */
import { describe, it, expect } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply } from "../../provider/engine/apply.js";
import { LocalTransport } from "../../provider/transport/local.js";
import { LocalStateBackend } from "../../state/local.js";
import { argv } from "../../provider/model/argv.js";
import type { Change, Plan } from "../../provider/model/plan.js";

function change(host: string, name: string, seconds: string, dependsOn: string[] = []): Change {
  return {
    address: `backplane_dataset.${name}`, type: "backplane_dataset", host, id: `tank/${name}`, path: `stack/${name}`,
    action: "create", reason: "does not exist", attrs: [], destructive: false,
    steps: [{ command: argv("sleep", seconds), label: "Creating" }], after: { name: `tank/${name}` }, dependsOn,
  };
}

function plan(changes: Change[]): Plan {
  return { stack: "t", lineage: "l", stateSerial: null, liveFingerprints: {}, changes, drift: [], errors: [], notManaged: [], refreshOnly: false };
}

describe("apply scheduling", () => {
  it("records every change when hosts finish at the same moment (state writes never race)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-apply-"));
    const backend = new LocalStateBackend(join(dir, "terraform.tfstate"));
    const hosts = ["a", "b", "c", "d"];
    const transports = new Map(hosts.map((h) => [h, new LocalTransport(h)]));
    const changes = hosts.flatMap((h) => [change(h, `${h}1`, "0.3"), change(h, `${h}2`, "0.3")]);
    const r = await apply({ plan: plan(changes), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8, log: () => {} });
    expect(Object.keys(r.state.resources).sort()).toEqual(changes.map((c) => c.address).sort());
    const stored = await backend.read();
    expect(stored?.serial).toBe(r.state.serial);
    expect(Object.keys(stored!.resources)).toHaveLength(8);
    // one round trip per host: both of a host's changes were ready together
    expect(r.roundTrips).toBe(4);
  });

  it("runs a change only after what it depends on, on another host", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-apply-"));
    const backend = new LocalStateBackend(join(dir, "terraform.tfstate"));
    const transports = new Map(["a", "b"].map((h) => [h, new LocalTransport(h)]));
    const order: string[] = [];
    const first = change("a", "first", "0.2");
    const second = change("b", "second", "0", [first.address]);
    await apply({
      plan: plan([second, first]), state: null, backend, transports, allowDestroy: false, preventDestroy: new Set(), parallelism: 8,
      log: (l) => { if (l.includes("complete")) order.push(l.split(" ")[0]!); },
    });
    expect(order).toEqual(["tank/first", "tank/second"]);
  });
});
