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

/** Labels by the path of the scope they apply in (a sub-macro stage, a fallback of one). */
export type LabelScopes = ReadonlyMap<string, Readonly<Record<string, string>>>;

/**
 * The labels of the innermost scope holding `path` (the stage's own path excluded: a
 * sub-macro stage's own events are its caller's), or undefined outside every scope. An
 * element path `id[3]` is looked up as the compiled `id[*]`.
 */
export function scopedLabels(
  scopes: LabelScopes,
  path: string,
): Readonly<Record<string, string>> | undefined {
  const compiled = path.includes('[') ? path.replace(/\[\d+\]/g, '[*]') : path;
  for (let up = parentPath(compiled); up !== undefined; up = parentPath(up)) {
    const labels = scopes.get(up);
    if (labels !== undefined) return labels;
  }
  return undefined;
}
