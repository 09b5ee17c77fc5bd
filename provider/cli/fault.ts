/**
 * Test-only fault injection for the crash suites (test/e2e/crash-at-every-step.test.ts).
 *
 *   BACKPLANE_FAULT_INJECT=<point>:<n>   the process kills itself with SIGKILL the n-th time it
 *                                        reaches <point> (nothing is flushed, nothing cleaned up:
 *                                        what a power cut or an OOM kill leaves)
 *   BACKPLANE_FAULT_TRACE=<file>         appends the name of every point reached (to count them)
 *
 * Points: before-batch, after-batch (the host answered, state not yet written),
 * before-state-write, state-write (the new state is on disk in its temporary file, not yet
 * renamed into place). Unset, the hook is absent and production paths are unchanged.
 */
import { appendFileSync } from "node:fs";

export type FaultPoint = "before-batch" | "after-batch" | "before-state-write" | "state-write";

export function faultInjection(env: NodeJS.ProcessEnv = process.env): ((point: FaultPoint) => void) | undefined {
  const spec = env.BACKPLANE_FAULT_INJECT;
  const trace = env.BACKPLANE_FAULT_TRACE;
  if (!spec && !trace) return undefined;
  const m = spec ? /^(before-batch|after-batch|before-state-write|state-write):([1-9]\d*)$/.exec(spec) : null;
  if (spec && !m) throw new Error(`BACKPLANE_FAULT_INJECT=${spec}: expected <point>:<n> with point one of before-batch, after-batch, before-state-write, state-write`);
  let reached = 0;
  return (point) => {
    if (trace) appendFileSync(trace, `${point}\n`);
    if (m && point === m[1] && ++reached === Number(m[2])) process.kill(process.pid, "SIGKILL");
  };
}
