/**
 * JSON checks and copies for adapters that keep values in process memory.
 * @internal
 * @module
 */

/** A deep copy as a durable store would return it: the value's JSON round trip. */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Throws the `TypeError` that `JSON.stringify(value)` would throw (a BigInt, a cycle,
 * a throwing `toJSON` or getter), without building the string: a third of the cost,
 * for adapters that store a value by reference and copy it only when it is loaded.
 * Follows `JSON.stringify`'s walk: `toJSON` first, own enumerable keys, array indices;
 * functions, symbols and `undefined` are skipped, as `JSON.stringify` drops them.
 */
export function assertJsonSerialisable(value: unknown): void {
  visit(value, []);
}

/** @param ancestors the objects being serialised around `value`: meeting one again is a cycle. */
function visit(value: unknown, ancestors: object[]): void {
  let current = value;
  if ((typeof current === 'object' && current !== null) || typeof current === 'bigint') {
    const toJSON = (current as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') current = toJSON.call(current);
  }
  if (typeof current === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
  if (typeof current !== 'object' || current === null) return;
  if (ancestors.includes(current)) throw new TypeError('Converting circular structure to JSON');
  ancestors.push(current);
  // Indexed loops: this walks every value of a result, thousands per run.
  if (Array.isArray(current)) {
    for (let i = 0; i < current.length; i++) visit(current[i], ancestors);
  } else {
    const object = current as Record<string, unknown>;
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) visit(object[keys[i] as string], ancestors);
  }
  ancestors.pop();
}
