/**
 * How each row of the differential table is tried on a real host (shared by the e2e test on
 * the 2.3 lab and test/lab/capture-differential.mts, which records another version's verdicts).
 */
import { argv, type Argv } from "../../provider/model/argv.js";
import type { Row } from "../unit/helpers/differential.js";

/**
 * Rows not run on a host, and why: a key location the host would fetch over the network
 * (the lab sends traffic only to loopback and lab hosts).
 */
export const NOT_RUN = (r: Row) => Object.values({ ...r.with, [r.property]: r.value }).some((v) => /^https?:/.test(v));

// A passphrase fed on stdin, for rows that create encrypted datasets (keylocation=prompt).
const RUN = 'n=$1; shift; printf "bp-differential-passphrase\\n" | "$@"';
/** The command that tries the row on the host; exit 0 = the host accepts it. Each cleans up after itself. */
export function commandFor(r: Row, i: number, pool: string, file: string): Argv {
  const opts = (flag: string, props: Record<string, string>) => Object.entries(props).flatMap(([k, v]) => [flag, `${k}=${v}`]);
  const all = { ...r.with, [r.property]: r.value };
  switch (r.where) {
    case "filesystem":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/f${i}`, "zfs", "create", ...opts("-o", all), `${pool}/f${i}`);
    case "volume": {
      const { volsize, ...rest } = all;
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/v${i}`, "zfs", "create", "-V", volsize ?? "64M", ...opts("-o", rest), `${pool}/v${i}`);
    }
    case "clone":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy "$n"`, "sh", `${pool}/c${i}`, "zfs", "clone", ...opts("-o", all), `${pool}/origin@s`, `${pool}/c${i}`);
    case "pool-root":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", `dp${i}`, "zpool", "create", ...opts("-O", all), `dp${i}`, file);
    case "pool-create":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", `dp${i}`, "zpool", "create", ...opts("-o", all), `dp${i}`, file);
    case "pool-adopt":
      return argv("sh", "-c", RUN, "sh", "", "zpool", "set", `${r.property}=${r.value}`, pool);
    case "user-name":
      return argv("sh", "-c", `${RUN} || exit 1; zfs inherit "$n" ${pool}/u`, "sh", r.value, "zfs", "set", `${r.value}=x`, `${pool}/u`);
    case "user-value":
      return argv("sh", "-c", `${RUN} || exit 1; zfs inherit acme:v ${pool}/u`, "sh", "", "zfs", "set", `acme:v=${r.value}`, `${pool}/u`);
    case "pool-name":
      return argv("sh", "-c", `${RUN} || exit 1; zpool destroy "$n"`, "sh", r.value, "zpool", "create", r.value, file);
    // the rows name datasets in a pool called tank: the scratch pool
    case "dataset-name":
      return argv("sh", "-c", `${RUN} || exit 1; zfs destroy -r "$n"`, "sh", r.value, "zfs", "create", "-p", r.value);
    case "snapshot-name": {
      const name = r.value;
      const at = name.indexOf("@");
      return argv("sh", "-c", `zfs create -p "$1" 2>/dev/null; shift; ${RUN} || exit 1; zfs destroy "$n"`, "sh", at > 0 ? name.slice(0, at) : name, name, "zfs", "snapshot", name);
    }
  }
  throw new Error(`unknown 'where' ${r.where}`);
}
