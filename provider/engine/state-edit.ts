/**
 * Editing state by hand, decided purely: `state mv` (a construct tree refactored: CDKTF
 * addresses carry hash suffixes, so a move must not mean destroy-and-create) and `state push`
 * (a state file put in place of the stored one). The CLI does the I/O and holds the lock.
 */
import { STATE_VERSION, type State } from "../model/state.js";
import { echo } from "../model/echo.js";

const ADDRESS = /^backplane_[a-z_]+\.[A-Za-z0-9_-]+$/;

/**
 * The state with `from` renamed `to` (and every record that depended on it pointing at the new
 * name), serial + 1. `declaredHost`: the host the stack's code declares `to` on, when it does —
 * a record moves within its host only (on another host it would name another object).
 */
export function moveInState(s: State, from: string, to: string, declaredHost?: string): State {
  if (!ADDRESS.test(to)) throw new Error(`'${echo(to)}' is not a resource address (type.name, e.g. backplane_dataset.prod_srv_resource_75A68541)`);
  const r = s.resources[from];
  if (!r) throw new Error(`${echo(from)} is not in state (see backplane state list)`);
  if (s.resources[to]) throw new Error(`${echo(to)} is already in state: moving onto it would lose one of the two records`);
  const type = to.slice(0, to.indexOf("."));
  if (type !== r.type) throw new Error(`${echo(from)} is a ${r.type}; it cannot become a ${type}`);
  if (declaredHost !== undefined && declaredHost !== r.host) throw new Error(`${echo(to)} is declared on host ${echo(declaredHost)}, but ${echo(from)} is ${echo(r.id)} on ${echo(r.host)}: a record moves within its host`);
  const resources: State["resources"] = {};
  for (const [a, x] of Object.entries(s.resources)) {
    const deps = x.dependencies?.map((d) => (d === from ? to : d));
    resources[a === from ? to : a] = deps ? { ...x, dependencies: deps.sort() } : x;
  }
  return { ...s, serial: s.serial + 1, resources };
}

/** What is wrong with a state file as a state (before anything is written). */
export function stateDocumentProblems(doc: unknown): string[] {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return ["is not a JSON object"];
  const d = doc as Record<string, unknown>;
  const p: string[] = [];
  if (d.version !== STATE_VERSION) p.push(`version ${echo(String(d.version))} is not ${STATE_VERSION}`);
  if (typeof d.lineage !== "string" || !d.lineage) p.push("has no lineage");
  if (!Number.isSafeInteger(d.serial) || (d.serial as number) < 0) p.push("has no serial (a whole number)");
  if (!d.resources || typeof d.resources !== "object" || Array.isArray(d.resources)) p.push("has no resources object");
  else for (const [a, r] of Object.entries(d.resources as Record<string, unknown>)) {
    const x = r as Record<string, unknown> | null;
    const plain = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v);
    if (!ADDRESS.test(a) || !plain(x) || typeof x!.type !== "string" || typeof x!.host !== "string" || typeof x!.id !== "string" || !plain(x!.attributes)) {
      p.push(`resource ${echo(a)} is not a resource record (type, host, id, attributes)`);
      continue;
    }
    // the planner trusts these: a record is of the kind its address names, its dependencies are addresses
    if (a.slice(0, a.indexOf(".")) !== x!.type) p.push(`resource ${echo(a)} says it is a ${echo(String(x!.type))}`);
    if (x!.dependencies !== undefined && (!Array.isArray(x!.dependencies) || !x!.dependencies.every((dep) => typeof dep === "string" && ADDRESS.test(dep)))) p.push(`resource ${echo(a)}: dependencies must be a list of resource addresses`);
  }
  return p;
}

/**
 * Whether `incoming` may replace `stored` (Terraform's push rules): the same lineage and a
 * higher serial, unless forced. Returns the refusal, or null.
 */
export function pushRefusal(stored: State | null, incoming: State, force: boolean): string | null {
  if (!stored || force) return null;
  if (stored.lineage !== incoming.lineage) return `the file's lineage ${echo(incoming.lineage)} is not the stored state's ${echo(stored.lineage)} (another stack's state?); push --force replaces it`;
  if (incoming.serial <= stored.serial) return `the file's serial ${incoming.serial} is not higher than the stored serial ${stored.serial} (an older copy?); push --force replaces it`;
  return null;
}
