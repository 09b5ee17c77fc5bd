/**
 * The catalogue of native ZFS dataset properties backplane manages: value domain, unit
 * parsing, create-only, inheritable, dataset kinds, the short name OpenZFS also accepts
 * (its lowercased column name: compress, recsize, rdonly, ...), and what a host must have
 * for a value (an OpenZFS version and/or a pool feature). Plus the read-only properties
 * (refused as read-only, never as "unknown") and the user-property rules of zfs_prop_user.
 * Source: module/zcommon/zfs_prop.c at openzfs/zfs be7657e3. Pure data + pure checks.
 *
 * Normalisation: `normalize(value)` returns the form `zfs get -Hp` prints, so desired and
 * live values compare as strings (sizes in bytes, `none` as 0 where ZFS reports 0).
 */
import { parseSize, formatSize } from "./units.js";
import { echo } from "../model/echo.js";

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
  /** the other spelling OpenZFS accepts (propname_match: the lowercased column name) */
  short?: string;
  kinds: readonly DatasetKind[];
  createOnly: boolean;
  inheritable: boolean;
  /** one line for docs and error messages */
  domain: string;
  description: string;
  check(value: string): Check;
  requires?(normalized: string): Requirement | null;
  /**
   * backplane reads it back in every refresh (zfs/facts.ts) and so can keep it in line.
   * Properties OpenZFS accepts but backplane does not read yet are in the catalogue too,
   * so they are refused as "not managed yet", never as unknown, and never planned forever.
   */
  managed: boolean;
}

const ok = (normalized: string): Check => ({ ok: true, normalized });
const bad = (reason: string): Check => ({ ok: false, reason });

function oneOf(values: readonly string[]) {
  return (value: string): Check =>
    values.includes(value) ? ok(value) : bad(`must be one of ${values.join(", ")}; got '${echo(value)}'`);
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
    if (rule.powerOfTwo && (v & (v - 1n)) !== 0n) return bad(`must be a power of 2; got ${echo(value)} (${v} bytes)`);
    if (rule.min !== undefined && v < rule.min) return bad(`must be at least ${formatSize(rule.min)}; got ${echo(value)}`);
    if (rule.max !== undefined && v > rule.max) return bad(`must be at most ${formatSize(rule.max)}; got ${echo(value)}`);
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

const DEDUP = ["on", "off", "verify", "sha256", "sha256,verify", "sha512", "sha512,verify", "skein", "skein,verify", "edonr,verify", "blake3", "blake3,verify"];

const ENCRYPTION = ["off", "on", "aes-128-ccm", "aes-192-ccm", "aes-256-ccm", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm"];

type SpecInput = Omit<PropertySpec, "kinds" | "inheritable" | "createOnly" | "managed"> & Partial<Pick<PropertySpec, "kinds" | "inheritable" | "createOnly">>;

function spec(s: SpecInput): PropertySpec {
  return { kinds: ["filesystem", "volume"], inheritable: true, createOnly: false, managed: true, ...s };
}

/** A property OpenZFS accepts that backplane does not read back yet. */
function known(s: SpecInput): PropertySpec {
  return { ...spec(s), managed: false };
}

const FS: DatasetKind[] = ["filesystem"];
const VOL: DatasetKind[] = ["volume"];

const UINT64_MAX = (1n << 64n) - 1n;

/** A count (filesystem_limit, snapshot_limit): a decimal number or none. */
function count(value: string): Check {
  if (value === "none") return ok("none");
  if (!/^[0-9]{1,20}$/.test(value) || BigInt(value) >= UINT64_MAX) return bad(`must be a count or 'none'; got '${echo(value)}'`);
  return ok(BigInt(value).toString());
}

/** Free text a host stores and prints on one line (share options, SELinux contexts). */
function oneLine(max = 8191) {
  return (value: string): Check => {
    const c = controlCharacterProblem(value);
    if (c) return bad(c);
    if (new TextEncoder().encode(value).length > max) return bad(`is longer than ${max} bytes`);
    return ok(value);
  };
}

/** Every settable native property OpenZFS has that backplane knows about. */
export const ALL_PROPERTIES: readonly PropertySpec[] = [
  spec({
    name: "recordsize", short: "recsize", kinds: FS, domain: "power of 2 from 512 to 16M",
    description: "Suggested block size for files. Above 128K needs the large_blocks pool feature; above 1M OpenZFS 2.2 (2.1's zfs_max_recordsize is 1M).",
    check: size({ min: 512n, max: 16n * M, powerOfTwo: true }),
    // 2.2 raised the default zfs_max_recordsize from 1M to 16M (measured: 2.1.11 refuses 2M, 2.3.2 takes 16M)
    requires: (v) => (BigInt(v) > 1n * M
      ? { zfs: "2.2", feature: "large_blocks", why: "recordsize above 1M needs OpenZFS 2.2 (2.1 refuses it unless its zfs_max_recordsize module parameter is raised)" }
      : BigInt(v) > 128n * K ? { feature: "large_blocks", why: "recordsize above 128K needs the large_blocks pool feature" } : null),
  }),
  spec({
    name: "compression", short: "compress", domain: COMPRESSION.join(" | "),
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
  spec({ name: "reservation", short: "reserv", inheritable: false, domain: "size | none", description: "Space guaranteed to the dataset and descendants.",
    check: size({ words: { none: "0" }, zeroAllowed: true }) }),
  spec({ name: "refreservation", short: "refreserv", inheritable: false, domain: "size | none | auto (volumes)", description: "Space guaranteed to the dataset itself. 'auto' only on volumes.",
    check: (v) => (v === "auto" ? ok("auto") : size({ words: { none: "0" }, zeroAllowed: true })(v)) }),
  spec({
    name: "mountpoint", kinds: FS, domain: "absolute path | none | legacy", description: "Where the filesystem is mounted.",
    check: (v) => {
      if (v === "none" || v === "legacy") return ok(v);
      if (!v.startsWith("/")) return bad(`must be an absolute path, 'none' or 'legacy'; got '${echo(v)}'`);
      if (/[\x00-\x1f\x7f]/.test(v)) return bad("must not contain control characters");
      if (v.split("/").some((c) => c === "..")) return bad("must not contain '..'");
      if (v.length > 1023) return bad("is longer than MAXPATHLEN");
      // mountpoint_namecheck: no component of 256 bytes or more
      if (v.split("/").some((c) => new TextEncoder().encode(c).length >= 256)) return bad("has a component of 256 bytes or more");
      return ok(v.length > 1 ? v.replace(/\/+$/, "") : v);
    },
  }),
  spec({ name: "canmount", kinds: FS, inheritable: false, domain: "on | off | noauto", description: "Whether the filesystem can be mounted.", check: oneOf(["on", "off", "noauto"]) }),
  spec({ name: "readonly", short: "rdonly", domain: "on | off", description: "Whether the dataset can be modified.", check: oneOf(ONOFF) }),
  spec({ name: "xattr", kinds: FS, domain: "on | off | dir | sa", description: "Extended attribute storage.", check: oneOf(["on", "off", "dir", "sa"]) }),
  spec({ name: "acltype", kinds: FS, domain: "off | noacl | nfsv4 | posix | posixacl", description: "ACL semantics.", check: oneOf(["off", "noacl", "nfsv4", "posix", "posixacl"]) }),
  known({ name: "aclmode", kinds: FS, domain: "discard | groupmask | passthrough | restricted", description: "How chmod changes an ACL.", check: oneOf(["discard", "groupmask", "passthrough", "restricted"]) }),
  known({ name: "aclinherit", kinds: FS, domain: "discard | noallow | restricted | passthrough | passthrough-x", description: "How ACL entries are inherited.", check: oneOf(["discard", "noallow", "restricted", "passthrough", "passthrough-x"]) }),
  spec({
    name: "dnodesize", short: "dnsize", kinds: FS, domain: "legacy | auto | 1k | 2k | 4k | 8k | 16k", description: "Dnode size; other than legacy needs the large_dnode feature.",
    check: oneOf(["legacy", "auto", "1k", "2k", "4k", "8k", "16k"]),
    requires: (v) => (v === "legacy" ? null : { feature: "large_dnode", why: `dnodesize=${v} needs the large_dnode pool feature` }),
  }),
  spec({ name: "primarycache", domain: "all | none | metadata", description: "What the ARC caches.", check: oneOf(["all", "none", "metadata"]) }),
  spec({ name: "secondarycache", domain: "all | none | metadata", description: "What the L2ARC caches.", check: oneOf(["all", "none", "metadata"]) }),
  known({ name: "prefetch", domain: "none | metadata | all", description: "What predictive prefetch reads ahead.", check: oneOf(["none", "metadata", "all"]),
    requires: () => ({ zfs: "2.2", why: "the prefetch property needs OpenZFS 2.2" }) }),
  spec({
    name: "redundant_metadata", short: "redund_md", domain: "all | most | some | none", description: "How many extra metadata copies.",
    check: oneOf(["all", "most", "some", "none"]),
    requires: (v) => (v === "some" || v === "none" ? { zfs: "2.2", why: `redundant_metadata=${v} needs OpenZFS 2.2` } : null),
  }),
  spec({
    name: "special_small_blocks", kinds: FS, domain: "0 or a power of 2 up to 16M (above 1M: OpenZFS 2.3)", description: "Blocks up to this size go to the special vdev.",
    check: size({ zeroAllowed: true, powerOfTwo: true, min: 512n, max: 16n * M }),
    // measured on the lab: 2.3.2 takes 2M, 2.1.11 refuses it (2.2 not tried, so not claimed)
    requires: (v) => (BigInt(v) > 1n * M
      ? { zfs: "2.3", feature: "allocation_classes", why: "special_small_blocks above 1M needs OpenZFS 2.3 (2.1 refuses it)" }
      : { zfs: "0.8", feature: "allocation_classes", why: "special_small_blocks needs the allocation_classes pool feature" }),
  }),
  spec({ name: "checksum", domain: "on | off | fletcher2 | fletcher4 | sha256 | noparity | sha512 | skein | edonr | blake3", description: "Block checksum.",
    check: oneOf(["on", "off", "fletcher2", "fletcher4", "sha256", "noparity", "sha512", "skein", "edonr", "blake3"]),
    requires: (v) => (v === "blake3" ? { zfs: "2.2", feature: "blake3", why: "checksum=blake3 needs OpenZFS 2.2" } : null) }),
  known({ name: "dedup", domain: DEDUP.join(" | "), description: "Deduplication (and the checksum it uses).", check: oneOf(DEDUP),
    requires: (v) => (v.startsWith("blake3") ? { zfs: "2.2", feature: "blake3", why: `dedup=${v} needs OpenZFS 2.2` } : null) }),
  spec({ name: "copies", domain: "1 | 2 | 3", description: "Copies of user data.", check: oneOf(["1", "2", "3"]) }),
  spec({ name: "snapdir", kinds: FS, domain: "hidden | visible", description: "Visibility of .zfs.", check: oneOf(["hidden", "visible"]) }),
  known({ name: "snapdev", domain: "hidden | visible", description: "Visibility of volume snapshot devices.", check: oneOf(["hidden", "visible"]) }),
  known({ name: "volmode", domain: "default | full | geom | dev | none", description: "How volumes are exposed to the OS.", check: oneOf(["default", "full", "geom", "dev", "none"]) }),
  spec({ name: "exec", kinds: FS, domain: "on | off", description: "Allow executing files.", check: oneOf(ONOFF) }),
  spec({ name: "setuid", kinds: FS, domain: "on | off", description: "Honour setuid bits.", check: oneOf(ONOFF) }),
  spec({ name: "devices", kinds: FS, domain: "on | off", description: "Allow device nodes.", check: oneOf(ONOFF) }),
  known({ name: "zoned", kinds: FS, domain: "on | off", description: "Managed from a non-global zone / user namespace.", check: oneOf(ONOFF) }),
  known({ name: "vscan", kinds: FS, domain: "on | off", description: "Virus scanning (unused on Linux).", check: oneOf(ONOFF) }),
  known({ name: "nbmand", kinds: FS, domain: "on | off", description: "Non-blocking mandatory locks.", check: oneOf(ONOFF) }),
  known({ name: "overlay", kinds: FS, domain: "on | off", description: "Allow mounting on a non-empty directory.", check: oneOf(ONOFF) }),
  known({ name: "direct", kinds: FS, domain: "disabled | standard | always", description: "O_DIRECT behaviour.", check: oneOf(["disabled", "standard", "always"]),
    requires: () => ({ zfs: "2.3", why: "the direct property needs OpenZFS 2.3" }) }),
  known({ name: "volthreading", kinds: VOL, inheritable: false, domain: "on | off", description: "Multi-threaded volume I/O.", check: oneOf(ONOFF),
    requires: () => ({ zfs: "2.2", why: "volthreading needs OpenZFS 2.2" }) }),
  known({ name: "sharenfs", kinds: FS, domain: "on | off | NFS share options", description: "NFS sharing.", check: oneLine() }),
  known({ name: "sharesmb", kinds: FS, domain: "on | off | SMB share options", description: "SMB sharing.", check: oneLine() }),
  ...["context", "fscontext", "defcontext", "rootcontext"].map((name) =>
    known({ name, inheritable: false, domain: "none | SELinux context", description: `SELinux ${name} for the mount.`, check: oneLine(1023) })),
  known({ name: "filesystem_limit", short: "fslimit", kinds: FS, inheritable: false, domain: "count | none", description: "Limit on descendant filesystems.", check: count }),
  known({ name: "snapshot_limit", short: "sslimit", inheritable: false, domain: "count | none", description: "Limit on descendant snapshots.", check: count }),
  known({ name: "version", kinds: FS, inheritable: false, domain: "1 | 2 | 3 | 4 | 5 | current", description: "ZPL version.", check: oneOf(["1", "2", "3", "4", "5", "current"]) }),
  spec({
    name: "encryption", createOnly: true, domain: ENCRYPTION.join(" | "), description: "Native encryption (create-only).",
    check: oneOf(ENCRYPTION),
    requires: (v) => (v === "off" ? null : { zfs: "0.8", feature: "encryption", why: "native encryption needs OpenZFS 0.8 and the encryption pool feature" }),
  }),
  spec({ name: "keyformat", createOnly: true, inheritable: false, domain: "raw | hex | passphrase", description: "Encryption key format (create-only).", check: oneOf(["raw", "hex", "passphrase"]) }),
  spec({
    name: "keylocation", createOnly: true, inheritable: false, domain: "prompt | file:///absolute/path", description: "Where the key is loaded from (create-only here).",
    check: (v) => (v === "prompt" || /^file:\/\/\/[^\x00-\x1f\x7f]+$/.test(v) ? ok(v) : bad(`must be 'prompt' or file:///absolute/path; got '${echo(v)}'`)),
  }),
  known({ name: "pbkdf2iters", createOnly: true, inheritable: false, domain: "at least 100000 (passphrase keys)", description: "PBKDF2 iterations for a passphrase key (create-only).",
    check: (v) => (/^[0-9]{1,20}$/.test(v) && BigInt(v) >= 100000n && BigInt(v) <= UINT64_MAX ? ok(BigInt(v).toString()) : bad(`must be a number of at least 100000 (MIN_PBKDF2_ITERATIONS); got '${echo(v)}'`)) }),
  spec({ name: "casesensitivity", short: "case", kinds: FS, createOnly: true, inheritable: false, domain: "sensitive | insensitive | mixed", description: "Name comparison (create-only).", check: oneOf(["sensitive", "insensitive", "mixed"]) }),
  spec({ name: "normalization", kinds: FS, createOnly: true, inheritable: false, domain: "none | formC | formD | formKC | formKD", description: "Unicode normalization (create-only).", check: oneOf(["none", "formC", "formD", "formKC", "formKD"]) }),
  spec({ name: "utf8only", kinds: FS, createOnly: true, inheritable: false, domain: "on | off", description: "Reject names that are not UTF-8 (create-only).", check: oneOf(ONOFF) }),
  spec({ name: "volsize", kinds: VOL, inheritable: false, domain: "size", description: "Logical size of a volume.", check: size({ min: 1n }) }),
  spec({ name: "volblocksize", short: "volblock", kinds: VOL, createOnly: true, inheritable: false, domain: "power of 2 from 512 to 16M", description: "Block size of a volume (create-only). Above 128K needs the large_blocks pool feature.",
    check: size({ min: 512n, max: 16n * M, powerOfTwo: true }),
    // 2.1's limit is 1M as for recordsize (its words, captured: "'volblocksize' must be power of 2 from 512B to 1M")
    requires: (v) => (BigInt(v) > 1n * M
      ? { zfs: "2.2", feature: "large_blocks", why: "volblocksize above 1M needs OpenZFS 2.2 (2.1 refuses it)" }
      : BigInt(v) > 128n * K ? { feature: "large_blocks", why: "volblocksize above 128K needs the large_blocks pool feature" } : null) }),
];

/** The properties backplane manages: read in every refresh, planned, set. */
export const PROPERTIES: readonly PropertySpec[] = ALL_PROPERTIES.filter((p) => p.managed);

const BY_NAME = new Map(ALL_PROPERTIES.flatMap((p) => [[p.name, p] as const, ...(p.short ? [[p.short, p] as const] : [])]));

/** The catalogue entry for a managed native property, by its name or the short name OpenZFS accepts. */
export function propertySpec(name: string): PropertySpec | undefined {
  const p = BY_NAME.get(name);
  return p?.managed ? p : undefined;
}

/**
 * Native properties OpenZFS computes and never lets anyone set (PROP_READONLY in
 * zfs_prop.c), with their short names. Refused as read-only, not as unknown.
 */
const READ_ONLY: Record<string, string[]> = {
  used: [], available: ["avail"], referenced: ["refer"], compressratio: ["ratio"], refcompressratio: ["refratio"],
  usedbysnapshots: ["usedsnap"], usedbydataset: ["usedds"], usedbychildren: ["usedchild"], usedbyrefreservation: ["usedrefreserv"],
  userrefs: [], written: [], logicalused: ["lused"], logicalreferenced: ["lrefer"], filesystem_count: ["fscount"],
  snapshot_count: ["sscount"], guid: [], createtxg: [], objsetid: [], creation: [], snapshots_changed: [], snapshots_changed_nsecs: [],
  origin: [], clones: [], type: [], mounted: [], defer_destroy: [], keystatus: [], receive_resume_token: ["resumetok"],
  encryptionroot: ["encroot"], redact_snaps: ["rsnaps"], name: [], numclones: [], useraccounting: [], unique: [], inconsistent: [],
  ivsetguid: [], prevsnap: [], keyguid: [], redacted: [], remaptxg: [],
};
const READ_ONLY_NAMES = new Map(Object.entries(READ_ONLY).flatMap(([n, shorts]) => [[n, n] as const, ...shorts.map((s) => [s, n] as const)]));
const READ_ONLY_PREFIX = /^(user|group|project)(obj)?used@|^written[@#]/;
const QUOTA_PREFIX = /^((user|group|project)(obj)?quota)@(.*)$/s;

const quotaSpec = (prefix: string): PropertySpec =>
  known({ name: `${prefix}@`, kinds: FS, inheritable: false, domain: "size | none", description: "Per user/group/project quota.", check: size({ words: { none: "none" }, zeroAllowed: false }) });

/** How a property name reads to OpenZFS. `name` is the canonical spelling. */
export type ResolvedProperty =
  | { type: "native"; name: string; spec: PropertySpec }
  | { type: "not-managed"; name: string; spec: PropertySpec }
  | { type: "user"; name: string }
  | { type: "read-only"; name: string }
  | { type: "unknown"; name: string };

export function resolveProperty(name: string): ResolvedProperty {
  const native = BY_NAME.get(name);
  if (native) return { type: native.managed ? "native" : "not-managed", name: native.name, spec: native };
  const ro = READ_ONLY_NAMES.get(name);
  if (ro) return { type: "read-only", name: ro };
  if (READ_ONLY_PREFIX.test(name)) return { type: "read-only", name };
  const q = QUOTA_PREFIX.exec(name);
  if (q) return { type: "not-managed", name, spec: quotaSpec(q[1]!) };
  if (name.includes(":")) return { type: "user", name };
  return { type: "unknown", name };
}

/** A quota's target (userquota@<who>): a name or id, one line, not empty. */
export function quotaTargetProblem(name: string): string | null {
  const q = QUOTA_PREFIX.exec(name);
  if (!q) return null;
  const who = q[4]!;
  if (who === "") return `${q[1]}@ needs a user, group or project after '@'`;
  return controlCharacterProblem(who) ?? (/[\s]/.test(who) ? `${q[1]}@ target '${echo(who)}' contains whitespace` : null);
}

const utf8 = new TextEncoder();

/**
 * User properties exactly as zfs_prop_user: only lowercase letters, digits and `- _ . :`,
 * at least one ':'; a name of at most 255 bytes (ZAP_MAXNAMELEN). One deviation: backplane
 * refuses a leading '-', which `zfs set` would read as an option.
 */
export function userPropertyNameProblem(name: string): string | null {
  if (!name.includes(":")) return `user property '${echo(name)}' must contain ':' (module:name)`;
  const n = utf8.encode(name).length;
  if (n > 255) return `user property name is ${n} bytes; the limit is 255`;
  if (!/^[a-z0-9\-_.:]+$/.test(name)) return `user property '${echo(name)}' may contain only lowercase letters, digits, '-', '_', '.' and ':'`;
  if (name.startsWith("-")) return `user property '${echo(name)}' may not start with '-' (zfs set would read it as an option)`;
  return null;
}

/** The first control character in a value, described, or null. */
export function controlCharacterProblem(value: string): string | null {
  const m = /[\p{Cc}]/u.exec(value);
  if (!m) return null;
  const ch = m[0];
  const named: Record<string, string> = { "\n": "a newline", "\t": "a tab", "\r": "a carriage return", "\0": "a NUL byte" };
  const what = named[ch] ?? "a control character";
  return `contains ${what} (U+${ch.codePointAt(0)!.toString(16).padStart(4, "0").toUpperCase()}) at position ${m.index}; ZFS would store it but it breaks line-oriented output (zfs get -H)`;
}

/** Values at most 8191 bytes (ZFS_MAXPROPLEN - 1), one line, no control characters. */
export function userPropertyValueProblem(value: string): string | null {
  if (utf8.encode(value).length > 8191) return "user property value is longer than 8191 bytes";
  const c = controlCharacterProblem(value);
  return c ? `user property value ${c}` : null;
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
