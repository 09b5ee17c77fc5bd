/**
 * `backplane version`: this package's version and the node it runs on, as Terraform prints
 * its own. Imports nothing but node's fs: the command's fast path (bin/backplane.mjs) loads
 * this module alone, so `backplane --version` starts as fast as node does.
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package.json of backplane: the nearest one above this module (src: provider/cli/, built: dist/provider/cli/). */
export function packageVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "backplane" && typeof pkg.version === "string") return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of backplane above ${from}`);
  }
}

export interface VersionFacts {
  backplane_version: string;
  node_version: string;
  platform: string;
}

export function versionFacts(): VersionFacts {
  return { backplane_version: packageVersion(), node_version: process.version, platform: `${process.platform}_${process.arch}` };
}

export function versionText(v: VersionFacts): string {
  return `backplane v${v.backplane_version}\non node ${v.node_version} ${v.platform}\n`;
}
