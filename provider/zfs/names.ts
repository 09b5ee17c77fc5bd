/**
 * ZFS naming rules, as OpenZFS enforces them (module/zcommon/zfs_namecheck.c).
 *
 * - A name is at most 255 characters (ZFS_MAX_DATASET_NAME_LEN = 256 includes the NUL).
 * - Components are separated by `/`; none may be empty, `.` or `..`.
 * - Component characters: ASCII letters and digits, `_ - : . ` and space. Nothing else:
 *   no unicode (look-alikes included), no `$`, `;`, quotes or control characters.
 * - The first component is the pool: it starts with a letter, is not a reserved word
 *   (`mirror`, `raidz…`, `draid…`, `spare`, `log`) and is not `c[0-9]…`.
 * - A snapshot has exactly one `@`, a bookmark exactly one `#`, after the last `/`.
 *
 * Pure: returns a reason string, or null when the name is valid.
 */

export const MAX_NAME_LENGTH = 255;

const COMPONENT_CHAR = /^[A-Za-z0-9_\-:. ]$/;

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
  if (cp < 0x20 || cp === 0x7f) return `a control character (U+${cp.toString(16).padStart(4, "0").toUpperCase()})`;
  if (cp > 0x7e) return `the non-ASCII character '${ch}' (U+${cp.toString(16).padStart(4, "0").toUpperCase()})`;
  return `the character '${ch}'`;
}

export function poolNameProblem(name: string): string | null {
  if (name.length === 0) return "pool name is empty";
  if (name.length > MAX_NAME_LENGTH) return `pool name is ${name.length} characters; the limit is ${MAX_NAME_LENGTH}`;
  const p = componentProblem(name, "pool name");
  if (p) return p;
  if (!/^[A-Za-z]/.test(name)) return "pool name must begin with a letter";
  // libzfs zpool_name_valid: these prefixes would read as vdev keywords on `zpool create`.
  const reserved = /^(mirror|raidz|draid|spare)/.exec(name) ?? (name === "log" ? ["log"] : null);
  if (reserved) return `pool name may not begin with '${reserved[0]}' (reserved for vdev types)`;
  if (/^c[0-9]/.test(name)) return "pool name may not begin with 'c' followed by a digit (reserved)";
  return null;
}

/** A filesystem or volume name: pool[/component...]. No '@' or '#'. */
export function datasetNameProblem(name: string): string | null {
  if (name.length > MAX_NAME_LENGTH) return `name is ${name.length} characters; the limit is ${MAX_NAME_LENGTH}`;
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
  return null;
}

/** The part after '@' (or '#'): same characters as a component, not empty. */
export function snapshotComponentProblem(snap: string): string | null {
  if (snap.includes("@") || snap.includes("#") || snap.includes("/")) {
    return "a snapshot name may not contain '@', '#' or '/'";
  }
  return componentProblem(snap, "snapshot name");
}

/** dataset@snapshot */
export function snapshotNameProblem(full: string): string | null {
  if (full.length > MAX_NAME_LENGTH) return `name is ${full.length} characters; the limit is ${MAX_NAME_LENGTH}`;
  const at = full.indexOf("@");
  if (at < 0) return "a snapshot name needs exactly one '@'";
  if (full.indexOf("@", at + 1) >= 0) return "a snapshot name has more than one '@'";
  return datasetNameProblem(full.slice(0, at)) ?? snapshotComponentProblem(full.slice(at + 1));
}

export function poolOf(dataset: string): string {
  return dataset.split(/[/@#]/)[0]!;
}
