/** Probe: the construct of a declared health check, and its props. */
import { Construct } from "constructs";
import { Probe as ProbeL1 } from "./gen/probe/index.js";
import { probe as probeKind, type ProbeCheck } from "../provider/schema/kinds/probe.js";
import { validateAtSynth } from "./validation.js";
import type { Host } from "./host.js";

/** The host, the check and its target, and thresholds of that check (each threshold below is marked with its check). */
export interface ProbeProps {
  host: Host;
  check: ProbeCheck;
  /** pool, dataset, WireGuard interface, or a replication's source dataset (by check) */
  target: string;
  /** pool_health (defaults 80 %, 0 errors, scrub age not checked) */
  maxCapacityPercent?: number;
  maxErrors?: number;
  maxScrubAge?: string;
  /** dataset_space (at least one) */
  maxUsedPercent?: number;
  minAvailable?: string;
  /** replication_lag */
  maxLag?: string;
  /** wireguard_handshake (default 3m) */
  maxHandshakeAge?: string;
  /** io_latency (defaults 100 ms, 5 s, top 5) */
  maxP99Ms?: number;
  sampleSeconds?: number;
  top?: number;
  /** snapshot_freshness */
  maxAge?: string;
  snapshotPrefix?: string;
}

/**
 * Probe: a declared health check of the back plane, evaluated by `backplane probe`
 * (docs/probes.md). Thresholds not given take the documented defaults; one that belongs to
 * another check is refused at synth with this construct's path.
 */
export class Probe extends Construct {
  readonly resource: ProbeL1;
  constructor(scope: Construct, id: string, props: ProbeProps) {
    super(scope, id);
    const { host, ...p } = props;
    const config = {
      check: p.check, target: p.target, max_capacity_percent: p.maxCapacityPercent, max_errors: p.maxErrors, max_scrub_age: p.maxScrubAge,
      max_used_percent: p.maxUsedPercent, min_available: p.minAvailable, max_lag: p.maxLag, max_handshake_age: p.maxHandshakeAge,
      max_p99_ms: p.maxP99Ms, sample_seconds: p.sampleSeconds, top: p.top, max_age: p.maxAge, snapshot_prefix: p.snapshotPrefix,
    };
    validateAtSynth(this, probeKind, () => config);
    this.resource = new ProbeL1(this, "resource", { provider: host.provider, ...p });
  }
}
