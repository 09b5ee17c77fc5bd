/**
 * One unreachable host does not hide the others: refresh reads every host it can and says
 * which it could not; the plan holds the changes of the hosts read and, per host not read,
 * its error and what was not planned; every rendering shows both; apply refuses such a plan.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PARALLELISM, refreshAll } from "../../provider/engine/project.js";
import { makePlan } from "../../provider/engine/plan.js";
import { renderHuman, renderJson, renderMarkdown } from "../../provider/engine/render.js";
import { PlanRefusedError, type Plan } from "../../provider/model/plan.js";
import { ConnectError, type RunResult, type Transport } from "../../provider/transport/transport.js";
import type { Argv } from "../../provider/model/argv.js";
import { ROOT, liveFrom, seedGraph } from "./helpers/seed.js";

/** Answers the refresh script with a captured refresh (its nonce swapped for the script's). */
class FixtureTransport implements Transport {
  roundTrips = 0;
  readonly log: string[] = [];
  constructor(readonly host: string, private readonly label: string) {}
  async script(text: string): Promise<RunResult> {
    this.roundTrips++;
    const dir = join(ROOT, "test", "fixtures", "refresh");
    const nonce = readFileSync(join(dir, `${this.label}.nonce`), "utf8").trim();
    const asked = /@@bp-([a-z0-9]+)/.exec(text)![1]!;
    return { stdout: readFileSync(join(dir, `${this.label}.txt`), "utf8").replaceAll(`@@bp-${nonce}`, `@@bp-${asked}`), stderr: "", exitCode: 0, durationMs: 1 };
  }
  async run(_cmd: Argv): Promise<RunResult> {
    throw new Error("refresh runs one script");
  }
  prepare(): { file: string; args: string[] } {
    throw new Error("not used");
  }
  async close() {}
}

/** A host ssh cannot reach. */
class UnreachableTransport extends FixtureTransport {
  constructor(host: string, private readonly afterMs = 0) {
    super(host, "");
  }
  override async script(): Promise<RunResult> {
    this.roundTrips++;
    await new Promise((r) => setTimeout(r, this.afterMs));
    throw new ConnectError(this.host, "ssh: connect to host 192.0.2.11 port 22: Connection refused");
  }
}

const LINEAGE = "00000000-0000-4000-8000-000000000000";
// probes have nothing to plan: a host not read leaves none of them "not planned"
const DR_ADDRESSES = () => [...seedGraph().resources.values()].filter((r) => r.host === "dr" && r.type !== "backplane_probe").map((r) => r.address).sort();

function partialPlan(): Plan {
  return makePlan({
    stack: "seed", graph: seedGraph(), state: null, newLineage: LINEAGE,
    live: new Map([["prod", liveFrom("zfs-2.3-prod-empty", "prod")]]),
    unread: [{ host: "dr", message: "dr: cannot connect over ssh: ssh: connect to host 192.0.2.11 port 22: Connection refused" }],
  });
}

describe("refreshing hosts when one cannot be reached", () => {
  it("reads every host it can and names the one it could not, with its error", async () => {
    const transports = new Map<string, Transport>([["prod", new FixtureTransport("prod", "zfs-2.3-prod-empty")], ["dr", new UnreachableTransport("dr")]]);
    const r = await refreshAll(seedGraph(), transports);
    expect([...r.live.keys()]).toEqual(["prod"]);
    expect(r.live.get("prod")!.pools.size).toBe(0);
    expect(r.failed).toEqual([{ host: "dr", message: "dr: cannot connect over ssh: ssh: connect to host 192.0.2.11 port 22: Connection refused" }]);
  });

  it("a host failing first does not stop the others from being read (one round trip each)", async () => {
    const hosts = ["a", "b", "c", "d"];
    const transports = new Map<string, Transport>(hosts.map((h, i) => [h, i === 0 ? new UnreachableTransport(h) : new FixtureTransport(h, "zfs-2.3-prod-seed")]));
    const r = await refreshAll(seedGraph(), transports, 2);
    expect([...r.live.keys()].sort()).toEqual(["b", "c", "d"]);
    expect(r.failed.map((f) => f.host)).toEqual(["a"]);
    for (const t of transports.values()) expect(t.roundTrips).toBe(1);
  });

  it("lists the failures in host order whatever order they failed in", async () => {
    const transports = new Map<string, Transport>([["a", new UnreachableTransport("a", 50)], ["b", new UnreachableTransport("b", 0)]]);
    const r = await refreshAll(seedGraph(), transports);
    expect(r.failed.map((f) => f.host)).toEqual(["a", "b"]);
  });
});

describe("a plan with a host that could not be read", () => {
  it("plans the hosts that were read and names, for the other, its error and what was not planned", () => {
    const p = partialPlan();
    expect(p.changes.length).toBeGreaterThan(0);
    expect(p.changes.every((c) => c.host === "prod")).toBe(true);
    expect(p.changes.map((c) => c.id)).toContain("tank/srv/uploads");
    // no error per resource of the host: one error for the host, listing them
    expect(p.errors).toEqual([]);
    expect(p.hostErrors).toEqual([{ host: "dr", message: expect.stringContaining("dr: cannot connect over ssh"), notPlanned: DR_ADDRESSES() }]);
    expect(Object.keys(p.liveFingerprints)).toEqual(["prod"]);
  });

  it("is refused by apply: the host error is one of the plan's problems", () => {
    const p = partialPlan();
    const e = new PlanRefusedError(p.errors, p.hostErrors);
    expect(e.message).toContain("dr: could not be read: dr: cannot connect over ssh");
  });

  it("renders, as text, the plan for the hosts read and a section for the host not read", () => {
    const text = renderHuman(partialPlan(), { color: false });
    expect(text).toContain('+ pool "tank"');
    expect(text).not.toContain('+ pool "backup"');
    expect(text).toContain("Error: host dr could not be read: dr: cannot connect over ssh");
    expect(text).toContain(`Not planned on dr: ${DR_ADDRESSES().join(", ")}`);
    expect(text).toMatch(/This plan is incomplete: dr could not be read/);
  });

  it("renders, as JSON, the changes of the hosts read and host_errors", () => {
    const doc = JSON.parse(renderJson(partialPlan()));
    expect(doc.changes.length).toBeGreaterThan(0);
    expect(doc.host_errors).toEqual([{ host: "dr", message: expect.stringContaining("cannot connect"), not_planned: DR_ADDRESSES() }]);
    expect(doc.errors).toEqual([]);
  });

  it("renders, as Markdown, a section for the host not read", () => {
    const md = renderMarkdown(partialPlan());
    expect(md).toContain("**Hosts not read**");
    expect(md).toContain("- :x: `dr`: dr: cannot connect over ssh");
  });
});

describe("hosts read at once (-parallelism)", () => {
  /** counts the reads in flight; each takes a little while, as a round trip does */
  class Slow extends FixtureTransport {
    static inFlight = 0;
    static most = 0;
    override async script(text: string): Promise<RunResult> {
      Slow.most = Math.max(Slow.most, ++Slow.inFlight);
      await new Promise((r) => setTimeout(r, 20));
      Slow.inFlight--;
      return super.script(text);
    }
  }
  const fleet = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`h${i}`, new Slow(`h${i}`, "zfs-2.3-prod-empty")] as const));
  const mostAtOnce = async (n: number, parallelism?: number) => {
    Slow.most = 0;
    const r = await refreshAll(seedGraph(), fleet(n), parallelism);
    expect(r.live.size).toBe(n);
    return Slow.most;
  };

  it("reads up to 10 hosts at once by default (below a bastion's MaxStartups)", async () => {
    expect(DEFAULT_PARALLELISM).toBe(10);
    expect(await mostAtOnce(40)).toBe(10);
    expect(await mostAtOnce(7)).toBe(7);
  });

  it("reads as many at once as -parallelism says", async () => {
    expect(await mostAtOnce(40, 5)).toBe(5);
    expect(await mostAtOnce(40, 25)).toBe(25);
    expect(await mostAtOnce(3, 1)).toBe(1);
  });
});
