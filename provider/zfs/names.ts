/**
 * ZFS naming rules, as OpenZFS enforces them (module/zcommon/zfs_namecheck.c and libzfs's
 * zfs_validate_name / zpool_name_valid, read at openzfs/zfs be7657e3).
 *
 * - A dataset, snapshot or bookmark name is at most 255 bytes *in full* (entity_namecheck:
 *   strlen >= ZFS_MAX_DATASET_NAME_LEN (256) is too long) — a snapshot's dataset part counts.
 * - A pool name is at most 239 bytes: pool_namecheck keeps room for
 *   "<pool>/$ORIGIN@$ORIGIN" (256 - 2 - 2 * strlen("$ORIGIN")).
 * - At most 49 '/' (dataset_nestcheck: depth < zfs_max_dataset_nesting = 50).
 * - Components are separated by `/`; none may be empty, `.` or `..`.
 * - Component characters: ASCII letters and digits, `_ - : . ` and space (valid_char).
 *   `%` is ZFS's own (temporary receive names): `zfs create` refuses it.
 * - The pool starts with a letter and (at create, zpool_name_valid) does not begin with
 *   `mirror`, `raidz`, `draid`, `spare` and is not `log`. backplane also refuses `c<digit>…`
 *   (Solaris disk names; an old OpenZFS rule): a deliberate, documented deviation.
 * - A snapshot has exactly one `@`, a bookmark exactly one `#`, after the last `/`.
 *
 * Pure: returns a reason string, or null when the name is valid.
 */
import { echo } from "../model/echo.js";

export const MAX_NAME_LENGTH = 255;
export const MAX_POOL_NAME_LENGTH = 256 - 2 - 2 * "$ORIGIN".length; // 240: a name must be shorter
export const MAX_NESTING = 50;

const COMPONENT_CHAR = /^[A-Za-z0-9_\-:. ]$/;
const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

function componentProblem(component: string, what: string): string | null {
  if (component.length === 0) return `${what} has an empty component`;
  if (component === "." || component === "..") return `${what} has a '${component}' component`;
  for (const ch of component) {
    if (!COMPONENT_CHAR.test(ch)) {
      return `${what} contains ${describeChar(ch)}; allowed are letters, digits, '_', '-', ':', '.' and space`;
    }
  }
  return null;
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const u = `U+${cp.toString(16).padStart(4, "0").toUpperCase()}`;
  if (cp < 0x20 || cp === 0x7f) return `a control character (${u})`;
  if (cp > 0x7e) return `the non-ASCII character '${echo(ch)}' (${u})`;
  return `the character '${ch}'`;
}

function tooLong(what: string, name: string, limit: number): string | null {
  const n = bytes(name);
  return n > limit ? `${what} is ${n} bytes; the limit is ${limit}` : null;
}

export function poolNameProblem(name: string): string | null {
  if (name.length === 0) return "pool name is empty";
  const long = tooLong("pool name", name, MAX_POOL_NAME_LENGTH - 1);
  if (long) return `${long} (OpenZFS keeps room for '<pool>/$ORIGIN@$ORIGIN')`;
  const p = componentProblem(name, "pool name");
  if (p) return p;
  if (!/^[A-Za-z]/.test(name)) return "pool name must begin with a letter";
  // libzfs zpool_name_valid (create and import): these would read as vdev keywords.
  const reserved = /^(mirror|raidz|draid|spare)/.exec(name) ?? (name === "log" ? ["log"] : null);
  if (reserved) return `pool name may not begin with '${reserved[0]}' (reserved for vdev types)`;
  if (/^c[0-9]/.test(name)) return "pool name may not begin with 'c' followed by a digit (reserved)";
  return null;
}

function nestingProblem(name: string): string | null {
  const depth = (name.split(/[@#]/)[0]!.match(/\//g) ?? []).length;
  return depth >= MAX_NESTING ? `name is nested ${depth} levels deep; OpenZFS allows fewer than ${MAX_NESTING} (zfs_max_dataset_nesting)` : null;
}

/** A filesystem or volume name: pool[/component...]. No '@' or '#'. */
export function datasetNameProblem(name: string): string | null {
  const long = tooLong("name", name, MAX_NAME_LENGTH);
  if (long) return long;
  if (name.includes("@")) return "a dataset name may not contain '@' (that marks a snapshot)";
  if (name.includes("#")) return "a dataset name may not contain '#' (that marks a bookmark)";
  if (name.includes("%")) return "the character '%' is reserved for ZFS internal names";
  if (name.startsWith("/")) return "a dataset name starts with the pool, not '/'";
  if (name.endsWith("/")) return "a dataset name may not end with '/'";
  const parts = name.split("/");
  const poolProblem = poolNameProblem(parts[0]!);
  if (poolProblem) return poolProblem;
  for (const part of parts.slice(1)) {
    const p = componentProblem(part, "dataset name");
    if (p) return p;
  }
  return nestingProblem(name);
}

/** The part after '@' (or '#'): same characters as a component, not empty. */
export function snapshotComponentProblem(snap: string): string | null {
  const long = tooLong("snapshot name", snap, MAX_NAME_LENGTH);
  if (long) return long;
  if (snap.includes("@") || snap.includes("#") || snap.includes("/")) {
    return "a snapshot name may not contain '@', '#' or '/'";
  }
  if (snap.includes("%")) return "the character '%' is reserved for ZFS internal names";
  return componentProblem(snap, "snapshot name");
}

/** dataset@snapshot; the full name counts against the 255-byte limit. */
export function snapshotNameProblem(full: string): string | null {
  const long = tooLong("full snapshot name (dataset@snapshot)", full, MAX_NAME_LENGTH);
  if (long) return long;
  const at = full.indexOf("@");
  if (at < 0) return "a snapshot name needs exactly one '@'";
  if (full.indexOf("@", at + 1) >= 0) return "a snapshot name has more than one '@'";
  return datasetNameProblem(full.slice(0, at)) ?? snapshotComponentProblem(full.slice(at + 1));
}

export function poolOf(dataset: string): string {
  return dataset.split(/[/@#]/)[0]!;
}
