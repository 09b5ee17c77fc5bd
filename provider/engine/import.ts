/**
 * `backplane import ADDR ID`: adopting an object that exists on a host (a ZFS object or a WireGuard interface). Pure: decides what
 * to record and which marker command makes the object this stack's; the CLI runs it.
 *
 * An object another stack owns (its local backplane:managed marker names another lineage) is
 * refused, naming the owner, unless the operator forces the takeover — which the output
 * then says, since the other stack will see the object as no longer its own.
 */
import { argv, type Argv } from "../model/argv.js";
import type { HostLive } from "../model/live.js";
import { MANAGED_PROPERTY } from "../zfs/properties.js";
import { ENGINE_KINDS, ZFS_KINDS } from "../resources/index.js";
import { markerOf } from "../resources/zfs-common.js";
import { wireguardImportMarker } from "../resources/wireguard.js";

const WG_INTERFACE = "backplane_wireguard_interface";

export class ImportRefusedError extends Error {
  constructor(message: string, readonly owner: string | null = null) {
    super(message);
    this.name = "ImportRefusedError";
  }
}

export interface ImportPlan {
  attributes: Record<string, unknown>;
  /** sets this stack's marker on the object; null when it carries it already */
  marker: Argv | null;
  /** the lineage of the stack the object is taken from (--force-takeover) */
  takesOverFrom: string | null;
}

/** The lineage in the object's own (local) ownership marker, or null. */
export function ownerOf(type: string, id: string, live: HostLive): string | null {
  if (type === "backplane_snapshot") return live.snapshots.get(id)?.marker ?? null;
  if (type === WG_INTERFACE) return live.wg.markers.get(id) ?? null;
  return markerOf(live.datasets.get(id));
}

/**
 * What an import records of the properties set on the object: only those the configuration
 * names. A property set by hand that the code does not name stays as it is — recording it
 * would make the next plan inherit it ("removed from the code").
 */
function onlyDeclared(type: string, attributes: Record<string, unknown>, config: Record<string, unknown>): Record<string, unknown> {
  const keep = (recorded: unknown, declared: string[]) => Object.fromEntries(Object.entries((recorded as Record<string, string> | undefined) ?? {}).filter(([k]) => declared.includes(k)));
  const names = (v: unknown) => Object.keys((v as Record<string, string> | undefined) ?? {});
  if (type === "backplane_dataset") {
    return { ...attributes, properties: keep(attributes.properties, names(config.properties)), user_properties: keep(attributes.user_properties, names(config.user_properties)) };
  }
  if (type === "backplane_pool") {
    return { ...attributes, filesystem_properties: keep(attributes.filesystem_properties, [...names(config.filesystem_properties), ...(config.mountpoint ? ["mountpoint"] : [])]) };
  }
  return attributes;
}

export function planImport(o: { type: string; id: string; host: string; lineage: string; live: HostLive; forceTakeover: boolean; config?: Record<string, unknown> }): ImportPlan {
  const kind = ENGINE_KINDS.get(o.type);
  if (!kind || !(ZFS_KINDS.has(o.type) || o.type === WG_INTERFACE)) throw new ImportRefusedError(`${o.type} cannot be imported (import adopts pools, datasets, snapshots, clones and WireGuard interfaces)`);
  const found = kind.importAttributes(o.id, o.live, o.config);
  if (!found) throw new ImportRefusedError(`${o.id} does not exist on ${o.host}`);
  const attributes = onlyDeclared(o.type, found, o.config ?? {});
  const owner = ownerOf(o.type, o.id, o.live);
  if (owner === o.lineage) return { attributes, marker: null, takesOverFrom: null };
  if (owner && !o.forceTakeover) {
    throw new ImportRefusedError(`${o.id} on ${o.host} belongs to another stack (backplane:managed=${owner}); importing it would take it over and that stack would no longer manage it. If that is what you want, run import again with --force-takeover`, owner);
  }
  const marker = o.type === WG_INTERFACE ? wireguardImportMarker(o.id, o.lineage) : argv("zfs", "set", `${MANAGED_PROPERTY}=${o.lineage}`, o.id);
  return { attributes, marker, takesOverFrom: owner };
}
