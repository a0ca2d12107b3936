/**
 * How Harmony compares outputs: canonical JSON (keys sorted), a loose form of it for what
 * JSON cannot represent, hashes of it, and reads of a record's own properties only.
 * @internal
 * @module
 */
import { createHash } from 'node:crypto';
import { jsonText } from '../../internal/json-text.js';

/**
 * Holds the sorted copy of an object for {@link canonicalJson}. Its chain has no
 * `Object.prototype`, so no `__proto__` setter: assigning a `__proto__` key makes an own
 * property like any other key, and is compared (a plain `{}` would swallow it).
 */
const SORTED_KEYS: object = Object.create(null);

/**
 * Canonical JSON: object keys sorted, so key order never makes two outputs differ. Every
 * own enumerable key counts, `__proto__` included. An object whose keys are already in
 * order is serialised as it is, without a copy.
 */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const keys = Object.keys(v);
      let ordered = true;
      for (let i = 1; i < keys.length && ordered; i++)
        ordered = (keys[i - 1] as string) <= (keys[i] as string);
      if (ordered) return v;
      keys.sort();
      const sorted = Object.create(SORTED_KEYS) as Record<string, unknown>;
      for (const key of keys) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }) ?? 'undefined'
  );
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `record[key]` if it is the record's own property: never a value from its prototype chain. */
export const own = (record: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * Canonical JSON, or canonical JSON-like text for what JSON cannot represent (a BigInt,
 * a cycle, a revoked proxy…; see `jsonText`), for hashes and diffs only. Never throws.
 * That text stops after a megabyte: walking a value JSON cannot represent must not hang.
 */
export function looseJson(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return jsonText(value, { sortKeys: true, max: 1_000_000 });
  }
}

export const hashOf = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 16);
