/**
 * The order in which resources that left the configuration are removed. Pure.
 *
 * A resource is removed only after everything that depends on it: what state recorded when
 * it was last applied (its `dependencies`, across hosts too) and what the objects' names and
 * attributes imply on one host (a child dataset depends on its parent, a snapshot on its
 * dataset, a clone on its origin snapshot, everything on its pool) — so old state without
 * recorded dependencies is ordered right as well.
 *
 * A dataset whose ancestor dataset is also removed is *carried*: the ancestor is kept aside
 * as a whole subtree (one rename), and the carried one only leaves state after that. The
 * ancestor waits for every dependent of its subtree that is not itself carried.
 */
import type { ResourceState } from "../model/state.js";
import { topologicalOrder } from "./load.js";

export interface Gone {
  address: string;
  state: ResourceState;
}

export interface DeletionOrder {
  /** addresses, each after everything it waits for */
  order: string[];
  /** per address: the removals that must complete first */
  waitFor: Map<string, string[]>;
  /** carried dataset → the address of the ancestor whose keep-aside moves it */
  carriedBy: Map<string, string>;
}

const DATASET = "backplane_dataset";

function isUnder(id: string, ancestor: string): boolean {
  return id.startsWith(`${ancestor}/`) || id.startsWith(`${ancestor}@`);
}

/** Does `y` depend on `x` (so `y` goes first)? */
function dependsOn(y: Gone, x: Gone): boolean {
  if (y.state.dependencies?.includes(x.address)) return true;
  if (y.state.host !== x.state.host) return false;
  if (isUnder(y.state.id, x.state.id)) return true;
  return y.state.type === "backplane_clone" && y.state.attributes.origin_snapshot === x.state.id;
}

export function deletionOrder(gone: readonly Gone[]): DeletionOrder {
  const byAddress = new Map(gone.map((g) => [g.address, g]));
  // Carried: a dataset under another removed dataset of the same host; the topmost one moves.
  const carriedBy = new Map<string, string>();
  for (const g of gone) {
    if (g.state.type !== DATASET) continue;
    const top = gone
      .filter((a) => a.state.type === DATASET && a.state.host === g.state.host && isUnder(g.state.id, a.state.id))
      .sort((a, b) => a.state.id.length - b.state.id.length)[0];
    if (top) carriedBy.set(g.address, top.address);
  }
  const dependents = (x: Gone) => gone.filter((y) => y !== x && dependsOn(y, x)).map((y) => y.address);

  const waitFor = new Map<string, string[]>();
  for (const g of gone) {
    const carrier = carriedBy.get(g.address);
    if (carrier) {
      waitFor.set(g.address, [carrier]);
      continue;
    }
    const subtree = [g, ...gone.filter((c) => carriedBy.get(c.address) === g.address)];
    const wait = new Set(subtree.flatMap(dependents));
    for (const s of subtree) wait.delete(s.address);
    waitFor.set(g.address, [...wait].sort());
  }

  // Ties: pools last, then deeper names first (children before parents), then by address.
  const rank = (a: string) => {
    const s = byAddress.get(a)!.state;
    return [s.type === "backplane_pool" ? 1 : 0, -s.id.length] as const;
  };
  const order = topologicalOrder(new Map([...waitFor].map(([a, w]) => [a, new Set(w)])), (a, b) => {
    const [pa, la] = rank(a), [pb, lb] = rank(b);
    return pa - pb || la - lb || a.localeCompare(b);
  });
  return { order, waitFor, carriedBy };
}
