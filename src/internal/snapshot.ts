/**
 * Immutable copies of stage outputs. A finished stage's recorded output must stay the
 * value it produced, whatever later stages, listeners or the caller do with the object
 * they were handed: the engine records a snapshot and passes the original on.
 * @internal
 * @module
 */

/** Deeper than this, a value is copied by `structuredClone` (no freeze) instead. */
const MAX_DEPTH = 256;
/**
 * Arrays longer than this are copied by `structuredClone` (no freeze): it walks only the
 * elements an array has, where a loop over `length` would block the event loop for a
 * sparse array whose length is 2^32−1.
 */
const MAX_LENGTH = 100_000;

/**
 * An immutable copy of `value` as it is now: plain objects (also null-prototype ones,
 * `__proto__` keys kept as own keys) and arrays are copied and frozen, all the way
 * down; `Date`, `Map`, `Set`, `RegExp` and binary data are copied with `structuredClone`
 * (they cannot be frozen), and so is a value with a cycle, nested deeper than 256 levels
 * or holding an array longer than 100,000 elements; primitives and functions are
 * returned as they are. What
 * cannot be copied is kept by reference: instances of other classes (a copy would
 * lose their methods), and values that throw when read (a revoked proxy, a throwing
 * getter). Never throws.
 */
export function snapshot<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value; // most outputs: no call, no try
  try {
    return copy(value) as T;
  } catch {
    ancestors.length = 0; // the copy stopped part way, with its ancestors on the stack
  }
  try {
    return structuredClone(value); // a cycle, or too deep: copied, not frozen
  } catch {
    return value; // unreadable (a revoked proxy, a throwing getter): kept as it is
  }
}

/**
 * The objects around the value being copied: meeting one again is a cycle. One shared
 * stack (snapshots never nest), not an array per snapshot.
 */
const ancestors: object[] = [];

const { hasOwn } = Object;

function copy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return value; // a subclass: kept as it is
    if (value.length > MAX_LENGTH) throw NOT_PLAIN;
    enter(value);
    // Indexed: a hole becomes undefined, as JSON makes it null; an array is not a map.
    const out: unknown[] = value.slice();
    for (let i = 0; i < out.length; i++) out[i] = copy(out[i]);
    ancestors.pop();
    return Object.freeze(out);
  }
  if (proto === Object.prototype || proto === null) {
    enter(value);
    const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
    // for-in over a plain object reads V8's enum cache: no key array per object, as
    // Object.keys makes. `hasOwn` skips keys a polluted Object.prototype would add.
    for (const key in value) {
      if (!hasOwn(value, key)) continue;
      const item = copy((value as Record<string, unknown>)[key]);
      // Assigning `__proto__` would set the prototype instead of adding the key.
      if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true });
      else out[key] = item;
    }
    ancestors.pop();
    return Object.freeze(out);
  }
  if (
    value instanceof Date ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof RegExp ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer
  ) {
    return structuredClone(value);
  }
  return value; // an instance of some class: kept as it is
}

/** Thrown when a value is not plain data to copy: a cycle, or deeper than MAX_DEPTH. */
const NOT_PLAIN = new Error('not plain data');

function enter(value: object): void {
  if (ancestors.length >= MAX_DEPTH || ancestors.includes(value)) throw NOT_PLAIN;
  ancestors.push(value);
}
