/**
 * The apply's scheduler: which changes may start now. Pure. Removals go first, each after
 * the removals that depend on it (the planner's `dependsOn` of a removal); then the DAG, a
 * change once everything it depends on is done. The changes ready on one host at the same moment form one unit (one round trip);
 * a change that also uses other hosts' sessions (a hand-over) is a unit alone, with all of
 * them reserved. A host runs one unit at a time; at most `parallelism` hosts are busy.
 */
import type { Change } from "../model/plan.js";

export interface Unit {
  /** the first host runs the batch; the others are reserved for its hand-overs */
  hosts: string[];
  batch: Change[];
}

/**
 * A removal waits for the removals that depend on it; anything else for every removal and its
 * dependencies. `removing`: whether any removal is still pending, found once per scheduling
 * round (scanning all pending changes for each change was quadratic: 10,000 changes, 10⁸ steps
 * a round).
 */
export function isReady(c: Change, pending: ReadonlyMap<string, Change>, removing: boolean): boolean {
  const waited = c.dependsOn.every((d) => !pending.has(d));
  if (c.action === "delete") return waited;
  return waited && !removing;
}

/** The units to start now, given the hosts that are busy; `busy` is not modified. */
export function unitsToStart(pending: ReadonlyMap<string, Change>, busy: ReadonlySet<string>, parallelism: number): Unit[] {
  const taken = new Set(busy);
  const free = (c: Change) => [c.host, ...(c.alsoUses ?? [])].every((h) => !taken.has(h));
  const all = [...pending.values()];
  const removing = all.some((p) => p.action === "delete");
  const ready = all.filter((c) => isReady(c, pending, removing) && free(c));
  const candidates: Unit[] = ready.filter((x) => x.alsoUses?.length).map((c) => ({ hosts: [c.host, ...c.alsoUses!], batch: [c] }));
  const byHost = new Map<string, Change[]>();
  for (const c of ready.filter((x) => !x.alsoUses?.length)) {
    const batch = byHost.get(c.host);
    if (batch) batch.push(c);
    else byHost.set(c.host, [c]);
  }
  for (const [host, batch] of byHost) candidates.push({ hosts: [host], batch });
  const start: Unit[] = [];
  for (const u of candidates) {
    if (taken.size >= parallelism) break;
    if (u.hosts.some((h) => taken.has(h))) continue;
    for (const h of u.hosts) taken.add(h);
    start.push(u);
  }
  return start;
}
