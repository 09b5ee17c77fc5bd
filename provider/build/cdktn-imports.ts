/**
 * The one rewrite between the cdktf and the cdktn builds of the constructs: the module
 * specifier `cdktf` (exactly; not `@cdktf/…`, not a path) in static imports, re-exports and
 * dynamic imports becomes `cdktn`. Pure.
 */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])cdktf\2/g;

export function toCdktn(source: string): string {
  return source.replace(SPECIFIER, (_m, lead: string, q: string) => `${lead}${q}cdktn${q}`);
}
