/**
 * The catalogue of native ZFS dataset properties backplane manages: value domain, unit
 * parsing, create-only, inheritable, dataset kinds, and what a host must have for a value
 * (an OpenZFS version and/or a pool feature). Pure data + pure checks.
 *
 * Normalisation: `normalize(value)` returns the form `zfs get -Hp` prints, so desired and
 * live values compare as strings (sizes in bytes, `none` as 0 where ZFS reports 0).
 */
import { parseSize, formatSize } from "./units.js";

export type DatasetKind = "filesystem" | "volume";

/** What a value needs from a host. `zfs` is the first OpenZFS release; `feature` a pool feature. */
export interface Requirement {
  zfs?: string;
  feature?: string;
  why: string;
}

export type Check = { ok: true; normalized: string } | { ok: false; reason: string };

export interface PropertySpec {
  name: string;
  kinds: readonly DatasetKind[];
  createOnly: boolean;
  inheritable: boolean;
  /** one line for docs and error messages */
  domain: string;
  description: string;
  check(value: string): Check;
  requires?(normalized: string): Requirement | null;
}

const ok = (normalized: string): Check => ({ ok: true, normalized });
const bad = (reason: string): Check => ({ ok: false, reason });

function oneOf(values: readonly string[]) {
  return (value: string): Check =>
    values.includes(value) ? ok(value) : bad(`must be one of ${values.join(", ")}; got '${value}'`);
}

const ONOFF = ["on", "off"] as const;

interface SizeRule {
  min?: bigint;
  max?: bigint;
  powerOfTwo?: boolean;
  /** the word ZFS accepts instead of a number ("none", "auto") and the value -Hp prints for it */
  words?: Record<string, string>;
  zeroAllowed?: boolean;
}

function size(rule: SizeRule) {
  return (value: string): Check => {
    if (rule.words && value in rule.words) return ok(rule.words[value]!);
    const r = parseSize(value);
    if (!r.ok) return bad(r.reason);
    const v = r.value;
    if (v === 0n && rule.zeroAllowed) return ok("0");
    if (v === 0n && rule.zeroAllowed === false) {
      return bad(`use 'none' instead of 0`);
    }
    if (rule.powerOfTwo && (v & (v - 1n)) !== 0n) return bad(`must be a power of 2; got ${value} (${v} bytes)`);
    if (rule.min !== undefined && v < rule.min) return bad(`must be at least ${formatSize(rule.min)}; got ${value}`);
    if (rule.max !== undefined && v > rule.max) return bad(`must be at most ${formatSize(rule.max)}; got ${value}`);
    return ok(v.toString());
  };
}

const K = 1024n;
const M = K * K;

const COMPRESSION: string[] = [
  "on", "off", "lzjb", "gzip", ...Array.from({ length: 9 }, (_, i) => `gzip-${i + 1}`), "zle", "lz4",
  "zstd", ...Array.from({ length: 19 }, (_, i) => `zstd-${i + 1}`),
  "zstd-fast", ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 500, 1000].map((n) => `zstd-fast-${n}`),
];

const ENCRYPTION = ["off", "on", "aes-128-ccm", "aes-192-ccm", "aes-256-ccm", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm"];

function spec(s: Omit<PropertySpec, "kinds" | "inheritable" | "createOnly"> & Partial<Pick<PropertySpec, "kinds" | "inheritable" | "createOnly">>): PropertySpec {
  return { kinds: ["filesystem", "volume"], inheritable: true, createOnly: false, ...s };
}

const FS: DatasetKind[] = ["filesystem"];
const VOL: DatasetKind[] = ["volume"];

export const PROPERTIES: readonly PropertySpec[] = [
  spec({
    name: "recordsize", kinds: FS, domain: "power of 2 from 512 to 16M",
    description: "Suggested block size for files. Above 128K needs the large_blocks pool feature.",
    check: size({ min: 512n, max: 16n * M, powerOfTwo: true }),
    requires: (v) => (BigInt(v) > 128n * K ? { feature: "large_blocks", why: "recordsize above 128K needs the large_blocks pool feature" } : null),
  }),
  spec({
    name: "compression", domain: COMPRESSION.join(" | "),
    description: "Compression algorithm (zstd and zstd-N need OpenZFS 2.0 and the zstd_compress feature).",
    check: oneOf(COMPRESSION),
    requires: (v) =>
      v.startsWith("zstd")
        ? { zfs: "2.0", feature: "zstd_compress", why: `compression=${v} needs OpenZFS 2.0 and the zstd_compress pool feature` }
        : v === "lz4"
          ? { feature: "lz4_compress", why: "compression=lz4 needs the lz4_compress pool feature" }
          : null,
  }),
  spec({ name: "atime", kinds: FS, domain: "on | off", description: "Update access time on read.", check: oneOf(ONOFF) }),
  spec({ name: "relatime", kinds: FS, domain: "on | off", description: "Update access time only when older than modify/change time.", check: oneOf(ONOFF),
    requires: () => ({ zfs: "0.7", why: "relatime needs OpenZFS 0.7" }) }),
  spec({
    name: "sync", domain: "standard | always | disabled",
    description: "Synchronous write semantics. 'disabled' is accepted only on datasets marked ephemeral.",
    check: oneOf(["standard", "always", "disabled"]),
    requires: () => ({ zfs: "0.6", why: "the sync property needs OpenZFS (zfs-fuse pool v23 has none)" }),
  }),
  spec({ name: "logbias", domain: "latency | throughput", description: "How synchronous writes use the intent log.", check: oneOf(["latency", "throughput"]) }),
  spec({ name: "quota", kinds: FS, inheritable: false, domain: "size | none", description: "Limit on space used by the dataset and its descendants.",
    check: size({ words: { none: "0" }, zeroAllowed: false }) }),
  spec({ name: "refquota", kinds: FS, inheritable: false, domain: "size | none", description: "Limit on space referenced by the dataset itself.",
    check: size({ words: { none: "0" }, zeroAllowed: false }) }),
  spec({ name: "reservation", inheritable: false, domain: "size | none", description: "Space guaranteed to the dataset and descendants.",
    check: size({ words: { none: "0" }, zeroAllowed: true }) }),
  spec({ name: "refreservation", inheritable: false, domain: "size | none | auto", description: "Space guaranteed to the dataset itself.",
    check: (v) => (v === "auto" ? ok("auto") : size({ words: { none: "0" }, zeroAllowed: true })(v)) }),
  spec({
    name: "mountpoint", kinds: FS, domain: "absolute path | none | legacy", description: "Where the filesystem is mounted.",
    check: (v) => {
      if (v === "none" || v === "legacy") return ok(v);
      if (!v.startsWith("/")) return bad(`must be an absolute path, 'none' or 'legacy'; got '${v}'`);
      if (/[\x00-\x1f\x7f]/.test(v)) return bad("must not contain control characters");
      if (v.split("/").some((c) => c === "..")) return bad("must not contain '..'");
      if (v.length > 1023) return bad("is longer than MAXPATHLEN");
      return ok(v.length > 1 ? v.replace(/\/+$/, "") : v);
    },
  }),
  spec({ name: "canmount", kinds: FS, inheritable: false, domain: "on | off | noauto", description: "Whether the filesystem can be mounted.", check: oneOf(["on", "off", "noauto"]) }),
  spec({ name: "readonly", domain: "on | off", description: "Whether the dataset can be modified.", check: oneOf(ONOFF) }),
  spec({ name: "xattr", kinds: FS, domain: "on | off | dir | sa", description: "Extended attribute storage.", check: oneOf(["on", "off", "dir", "sa"]) }),
  spec({ name: "acltype", kinds: FS, domain: "off | noacl | nfsv4 | posix | posixacl", description: "ACL semantics.", check: oneOf(["off", "noacl", "nfsv4", "posix", "posixacl"]) }),
  spec({
    name: "dnodesize", kinds: FS, domain: "legacy | auto | 1k | 2k | 4k | 8k | 16k", description: "Dnode size; other than legacy needs the large_dnode feature.",
    check: oneOf(["legacy", "auto", "1k", "2k", "4k", "8k", "16k"]),
    requires: (v) => (v === "legacy" ? null : { feature: "large_dnode", why: `dnodesize=${v} needs the large_dnode pool feature` }),
  }),
  spec({ name: "primarycache", domain: "all | none | metadata", description: "What the ARC caches.", check: oneOf(["all", "none", "metadata"]) }),
  spec({ name: "secondarycache", domain: "all | none | metadata", description: "What the L2ARC caches.", check: oneOf(["all", "none", "metadata"]) }),
  spec({
    name: "redundant_metadata", domain: "all | most | some | none", description: "How many extra metadata copies.",
    check: oneOf(["all", "most", "some", "none"]),
    requires: (v) => (v === "some" || v === "none" ? { zfs: "2.2", why: `redundant_metadata=${v} needs OpenZFS 2.2` } : null),
  }),
  spec({
    name: "special_small_blocks", kinds: FS, domain: "0 or a power of 2 up to 1M", description: "Blocks up to this size go to the special vdev.",
    check: size({ zeroAllowed: true, powerOfTwo: true, min: 512n, max: 1n * M }),
    requires: () => ({ zfs: "0.8", feature: "allocation_classes", why: "special_small_blocks needs the allocation_classes pool feature" }),
  }),
  spec({ name: "checksum", domain: "on | off | fletcher2 | fletcher4 | sha256 | noparity | sha512 | skein | edonr | blake3", description: "Block checksum.",
    check: oneOf(["on", "off", "fletcher2", "fletcher4", "sha256", "noparity", "sha512", "skein", "edonr", "blake3"]),
    requires: (v) => (v === "blake3" ? { zfs: "2.2", feature: "blake3", why: "checksum=blake3 needs OpenZFS 2.2" } : null) }),
  spec({ name: "copies", domain: "1 | 2 | 3", description: "Copies of user data.", check: oneOf(["1", "2", "3"]) }),
  spec({ name: "snapdir", kinds: FS, domain: "hidden | visible", description: "Visibility of .zfs.", check: oneOf(["hidden", "visible"]) }),
  spec({ name: "exec", kinds: FS, domain: "on | off", description: "Allow executing files.", check: oneOf(ONOFF) }),
  spec({ name: "setuid", kinds: FS, domain: "on | off", description: "Honour setuid bits.", check: oneOf(ONOFF) }),
  spec({ name: "devices", kinds: FS, domain: "on | off", description: "Allow device nodes.", check: oneOf(ONOFF) }),
  spec({
    name: "encryption", createOnly: true, domain: ENCRYPTION.join(" | "), description: "Native encryption (create-only).",
    check: oneOf(ENCRYPTION),
    requires: (v) => (v === "off" ? null : { zfs: "0.8", feature: "encryption", why: "native encryption needs OpenZFS 0.8 and the encryption pool feature" }),
  }),
  spec({ name: "keyformat", createOnly: true, inheritable: false, domain: "raw | hex | passphrase", description: "Encryption key format (create-only).", check: oneOf(["raw", "hex", "passphrase"]) }),
  spec({
    name: "keylocation", createOnly: true, inheritable: false, domain: "prompt | file:///absolute/path", description: "Where the key is loaded from (create-only here).",
    check: (v) => (v === "prompt" || /^file:\/\/\/[^\x00-\x1f\x7f]+$/.test(v) ? ok(v) : bad(`must be 'prompt' or file:///absolute/path; got '${v}'`)),
  }),
  spec({ name: "casesensitivity", kinds: FS, createOnly: true, inheritable: false, domain: "sensitive | insensitive | mixed", description: "Name comparison (create-only).", check: oneOf(["sensitive", "insensitive", "mixed"]) }),
  spec({ name: "normalization", kinds: FS, createOnly: true, inheritable: false, domain: "none | formC | formD | formKC | formKD", description: "Unicode normalization (create-only).", check: oneOf(["none", "formC", "formD", "formKC", "formKD"]) }),
  spec({ name: "utf8only", kinds: FS, createOnly: true, inheritable: false, domain: "on | off", description: "Reject names that are not UTF-8 (create-only).", check: oneOf(ONOFF) }),
  spec({ name: "volsize", kinds: VOL, inheritable: false, domain: "size", description: "Logical size of a volume.", check: size({ min: 1n }) }),
  spec({ name: "volblocksize", kinds: VOL, createOnly: true, inheritable: false, domain: "power of 2 from 512 to 128K", description: "Block size of a volume (create-only).",
    check: size({ min: 512n, max: 128n * K, powerOfTwo: true }) }),
];

const BY_NAME = new Map(PROPERTIES.map((p) => [p.name, p]));

export function propertySpec(name: string): PropertySpec | undefined {
  return BY_NAME.get(name);
}

/**
 * User properties: `module:name`, lowercase letters, digits and `- _ . :`, at most 255
 * characters, containing a ':' (zfs_prop_user). Values at most 8191 bytes.
 */
export function userPropertyNameProblem(name: string): string | null {
  if (!name.includes(":")) return `user property '${name}' must contain ':' (module:name)`;
  if (name.length > 255) return `user property name is ${name.length} characters; the limit is 255`;
  if (!/^[a-z0-9\-_.:]+$/.test(name)) return `user property '${name}' may contain only lowercase letters, digits, '-', '_', '.' and ':'`;
  if (name.startsWith(":") || name.startsWith("-")) return `user property '${name}' must start with a letter, digit, '_' or '.'`;
  return null;
}

export function userPropertyValueProblem(value: string): string | null {
  if (Buffer.byteLength(value, "utf8") > 8191) return "user property value is longer than 8191 bytes";
  if (value.includes("\0")) return "user property value contains a NUL byte";
  return null;
}

/** The ownership marker every object backplane creates carries. */
export const MANAGED_PROPERTY = "backplane:managed";

/** Compare OpenZFS versions like "2.3.2" ≥ "2.0". A non-OpenZFS host (zfs-fuse) has version null. */
export function versionAtLeast(have: string | null, need: string): boolean {
  if (have === null) return false;
  const a = have.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const b = need.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
