/** backplane_probe: a declared health check evaluated by `backplane probe`. */
import { z } from "zod";
import { type KindSpec, str, num } from "../attr.js";

export const PROBE_CHECKS = ["pool_health", "capacity", "quota_use", "replication_lag", "wg_handshake_age", "scrub_age", "io_latency"] as const;

export const probe: KindSpec = {
  type: "backplane_probe",
  kind: "resource",
  engineSupport: "later",
  description: "A health check: pool health, capacity, quota use, replication lag, WireGuard handshake age, scrub age or I/O latency per dataset (eBPF where the host has bpftrace).",
  attributes: {
    check: str(`What to check: ${PROBE_CHECKS.join(", ")}.`, z.enum(PROBE_CHECKS), { required: true, example: "capacity" }),
    target: str("Pool, dataset, interface or replication the check looks at.", z.string().min(1).max(1023, { message: "must be at most 1023 characters" }).regex(/^[^\x00-\x1f\x7f]+$/, { message: "must not contain control characters" }), { required: true, example: "tank" }),
    warn: num("Warning threshold (percent, seconds or milliseconds, by check).", z.number().min(0)),
    critical: num("Critical threshold.", z.number().min(0)),
  },
};
