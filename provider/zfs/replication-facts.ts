/**
 * What replication needs to know of a host beyond the refresh's usual facts, read in the
 * same round trip (only when the stack declares a replication): snapshot creation times and
 * hold counts, each dataset's `written` (modified since its newest snapshot) and resume
 * token, and the replication keys and authorisations backplane installed. Commands plus
 * strict pure parsers: exact columns, numbers checked, duplicates refused.
 */
import { argv } from "../model/argv.js";
import { ParseError, type Fact } from "../model/fact.js";
import type { ReplicationDatasetRow, ReplicationKeys, ReplicationSnapshotRow } from "../model/live.js";
import { columns, lines } from "./facts.js";

const number = (fact: string, line: number, what: string, v: string): number => {
  if (!/^\d+$/.test(v)) throw new ParseError(fact, line, `${what} '${v}' is not a number`);
  return Number(v);
};

/** creation (epoch seconds) and userrefs (holds) of every snapshot; names hold no tab. */
const SNAPS = "zfs list -t snapshot creation,userrefs";
export const replicationSnapshots: Fact<Map<string, ReplicationSnapshotRow>> = {
  name: SNAPS,
  command: argv("zfs", "list", "-Hp", "-t", "snapshot", "-o", "name,creation,userrefs"),
  parse(stdout) {
    const out = new Map<string, ReplicationSnapshotRow>();
    columns(SNAPS, stdout, 3).forEach(([name, creation, userrefs], i) => {
      if (!name!.includes("@")) throw new ParseError(SNAPS, i + 1, `'${name}' is not a snapshot name`);
      if (out.has(name!)) throw new ParseError(SNAPS, i + 1, `${name} listed twice`);
      out.set(name!, { creation: number(SNAPS, i + 1, "creation", creation!), userrefs: number(SNAPS, i + 1, "userrefs", userrefs!) });
    });
    return out;
  },
};

/**
 * written (bytes changed since the newest snapshot: a replication target must show 0),
 * receive_resume_token ('-' when none) and keystatus ('-' when not encrypted) of every
 * filesystem and volume — a partly received dataset included.
 */
const DATASETS = "zfs list written,receive_resume_token,keystatus";
export const replicationDatasets: Fact<Map<string, ReplicationDatasetRow>> = {
  name: DATASETS,
  command: argv("zfs", "list", "-Hp", "-t", "filesystem,volume", "-o", "name,written,receive_resume_token,keystatus"),
  parse(stdout) {
    const out = new Map<string, ReplicationDatasetRow>();
    columns(DATASETS, stdout, 4).forEach(([name, written, token, keystatus], i) => {
      if (out.has(name!)) throw new ParseError(DATASETS, i + 1, `${name} listed twice`);
      // a resume token is printed as ZFS encodes it: version, checksum, length, hex payload
      if (token !== "-" && !/^\d+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/.test(token!)) throw new ParseError(DATASETS, i + 1, `${name}: receive_resume_token '${token}' is not a resume token`);
      if (!["-", "available", "unavailable"].includes(keystatus!)) throw new ParseError(DATASETS, i + 1, `${name}: keystatus '${keystatus}' is not known`);
      out.set(name!, { written: number(DATASETS, i + 1, "written", written!), resumeToken: token === "-" ? null : token!, keystatus: keystatus === "-" ? null : (keystatus as "available" | "unavailable") });
    });
    return out;
  },
};

/** What a replication's authorisation reads as when its tag is on several lines. */
export const SEVERAL_LINES = "(several lines)";

/** Where a source host keeps replication keys (one private key per replication, never leaving the host). */
export const REPLICATION_KEY_DIR = "/etc/backplane/replication";
/** The comment that marks an authorized_keys line (and a key) as a replication's: `<tag>=<id>`. */
export const REPLICATION_KEY_TAG = "backplane-replication";

/**
 * The replication keys (public halves), their known_hosts files and the authorized_keys
 * lines backplane installed, one tagged line each. Ids are backplane's own (hex), so a file
 * name cannot hold a tab; a line that does not fit the tags fails the read.
 */
const KEYS = "replication keys";
export const replicationKeys: Fact<ReplicationKeys> = {
  name: KEYS,
  command: argv("sh", "-c", [
    `d=${REPLICATION_KEY_DIR}`,
    'if [ -d "$d" ]; then',
    '  for f in "$d"/*.pub; do [ -f "$f" ] || continue; id=${f##*/}; id=${id%.pub}; sed "s/^/key\t$id\t/" "$f"; done',
    '  for f in "$d"/*.known_hosts; do [ -f "$f" ] || continue; id=${f##*/}; id=${id%.known_hosts}; sed "s/^/known\t$id\t/" "$f"; done',
    "fi",
    'a="$HOME/.ssh/authorized_keys"',
    `if [ -f "$a" ]; then grep -e ' ${REPLICATION_KEY_TAG}=' "$a" | sed "s/^/auth\t/"; fi`,
    "exit 0",
  ].join("\n")),
  parse(stdout) {
    const keys: ReplicationKeys = { publicKeys: new Map(), knownHosts: new Map(), authorized: new Map() };
    lines(stdout).forEach((l, i) => {
      const tab = l.indexOf("\t");
      const tag = l.slice(0, tab);
      const rest = l.slice(tab + 1);
      if (tag === "auth") {
        const m = new RegExp(` ${REPLICATION_KEY_TAG}=([0-9a-f]{16})$`).exec(rest);
        // a hand-written line that merely mentions the tag is not ours: left alone
        if (!m) return;
        // two lines for one replication (a hand edit): read as differing, so the next apply rewrites them as one
        keys.authorized.set(m[1]!, keys.authorized.has(m[1]!) ? SEVERAL_LINES : rest);
        return;
      }
      const [id, value] = [rest.slice(0, rest.indexOf("\t")), rest.slice(rest.indexOf("\t") + 1)];
      if ((tag !== "key" && tag !== "known") || rest.indexOf("\t") < 0) throw new ParseError(KEYS, i + 1, `not a key line: ${JSON.stringify(l)}`);
      // a file backplane did not name (its ids are 16 hex digits) is not a replication key: left alone
      if (!/^[0-9a-f]{16}$/.test(id)) return;
      const into = tag === "key" ? keys.publicKeys : keys.knownHosts;
      if (into.has(id)) throw new ParseError(KEYS, i + 1, `${tag} ${id} has more than one line`);
      into.set(id, value);
    });
    return keys;
  },
};
