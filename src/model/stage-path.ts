/**
 * Stage paths: `macro/stage/child`, and `macro/each[3]` for element 3 of a forEach (ids
 * never hold `/` or `[`, so both separate steps).
 * @module
 */

/** The path of the group that `path` runs in (`m/each[3]/a` → `m/each[3]` → `m/each` → `m`), or undefined at the top. */
export function parentPath(path: string): string | undefined {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('['));
  return cut > 0 ? path.slice(0, cut) : undefined;
}
