/**
 * JSON checks and copies for adapters that keep values in process memory.
 * @internal
 * @module
 */
import { types } from 'node:util';
import { isError, kindOf } from './safe.js';

const { isBigIntObject } = types;

/** A deep copy as a durable store would return it: the value's JSON round trip. */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Values nested deeper than this are refused. `JSON.stringify` refuses a value that
 * exhausts its stack (a `RangeError`), at a depth that depends on the stack left where
 * it is called: about 4,100 levels at the top of Node 20's default stack, fewer deeper
 * in a call stack. A fixed, lower bound makes the check independent of the caller's
 * stack, and a value it accepts can always be copied when it is loaded.
 */
export const MAX_JSON_DEPTH = 1_000;

/**
 * Arrays longer than this are refused (a `RangeError`): their JSON would take tens of
 * megabytes at least, and a loop over the `length` of a sparse array (up to 2^32−1, a few
 * bytes of hostile input) would block the event loop for minutes, as `JSON.stringify` does.
 */
const MAX_JSON_ARRAY = 10_000_000;

/** The objects being serialised around the value walked now: meeting one again is a cycle. */
const ancestors: object[] = [];

/** Estimated JSON characters of a number (timestamps take 13, small integers 1–3). */
const NUMBER = 8;
/** `true`, `false`, `null`: 4–5 characters. */
const LITERAL = 5;
/** Quotes, colon and comma around a key. */
const KEY = 4;
/** Brackets (or braces) of an array or object. */
const BRACKETS = 2;
/** Quotes and a comma around a string. */
const STRING = 3;

/**
 * Throws what `JSON.stringify(value)` would throw (a BigInt, a cycle, a throwing `toJSON`
 * or getter, a revoked proxy, nesting deeper than {@link MAX_JSON_DEPTH}), without building
 * the string: a third of the cost, for adapters that store a value by reference and copy
 * it only when it is loaded. Returns an estimate of the length of the JSON text, from the
 * same walk: string and key lengths, a fixed estimate per number, `true`, `false`, `null`,
 * key and bracket pair (a string's length in UTF-16 code units, not UTF-8 bytes).
 *
 * Follows `JSON.stringify`'s walk: `toJSON` first, own enumerable keys, array indices;
 * functions, symbols and `undefined` are skipped, as `JSON.stringify` drops them.
 * Whatever user code throws while walked (a getter, `toJSON`, a proxy trap) propagates
 * as it does from `JSON.stringify`, except a thrown value that is not an `Error`: it is
 * replaced by a `TypeError` saying what kind of value was thrown, so that callers always
 * meet an `Error`. A thrown primitive (a string…) is its `cause`; a thrown object is not
 * kept, since it may be as hostile as the value walked (a revoked proxy, whose
 * `instanceof` or `String()` throws), and error reporting must not trip over it.
 */
export function jsonSize(value: unknown): number {
  // Primitives first: most outputs are, and a walk's try and catch are for objects.
  if (typeof value === 'string') return value.length + STRING;
  if (typeof value === 'number') return NUMBER;
  // A walk's ancestors go on one shared stack, above those of the walks it runs inside (a
  // toJSON or getter may start one): a stack of its own was ~100 B per walked object value.
  const base = ancestors.length;
  try {
    return visit(value, base);
  } catch (error) {
    ancestors.length = base;
    if (isError(error)) throw error;
    const message = `Cannot serialise a value to JSON: a part of it threw a non-Error (${kindOf(error)})`;
    const primitive = error === null || (typeof error !== 'object' && typeof error !== 'function');
    throw primitive ? new TypeError(message, { cause: error }) : new TypeError(message);
  }
}

/** How many objects {@link jsonSize}'s walks hold now: none between walks, even those that threw (for tests). */
export function heldAncestors(): number {
  return ancestors.length;
}

/** Throws what `JSON.stringify(value)` would throw, as {@link jsonSize} does, for callers that need no size. */
export function assertJsonSerialisable(value: unknown): void {
  jsonSize(value);
}

/** @param base where this walk's ancestors start in {@link ancestors}. */
function visit(value: unknown, base: number): number {
  let current = value;
  if ((typeof current === 'object' && current !== null) || typeof current === 'bigint') {
    const toJSON = (current as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') current = toJSON.call(current);
  }
  switch (typeof current) {
    case 'string':
      return current.length + STRING;
    case 'number':
      return NUMBER;
    case 'boolean':
      return LITERAL;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      break;
    default:
      return 0; // undefined, a function or a symbol: dropped
  }
  if (current === null) return LITERAL;
  if (ancestors.includes(current, base)) throw new TypeError('Converting circular structure to JSON');
  if (ancestors.length - base >= MAX_JSON_DEPTH) {
    throw new RangeError(`Cannot serialise a value nested more than ${MAX_JSON_DEPTH} levels deep to JSON`);
  }
  ancestors.push(current);
  let size = BRACKETS;
  // Indexed loops: this walks every value of a result, thousands per run.
  if (Array.isArray(current)) {
    if (current.length > MAX_JSON_ARRAY) {
      throw new RangeError(
        `Cannot serialise an array of ${current.length} elements to JSON (more than ${MAX_JSON_ARRAY})`,
      );
    }
    for (let i = 0; i < current.length; i++) size += visit(current[i], base) + 1;
  } else {
    // JSON.stringify unboxes a boxed BigInt (whatever keys it has), and throws. Its slot is
    // checked, not its prototype chain (`instanceof` would run a prototype proxy's traps).
    if (isBigIntObject(current)) throw new TypeError('Do not know how to serialize a BigInt');
    // Its own keys taken once, before any value is read, as JSON.stringify takes them: a
    // getter or toJSON met on the way may change the object (for…in would see the change).
    const object = current as Record<string, unknown>;
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) size += entry(object, keys[i] as string, base);
  }
  ancestors.pop();
  return size;
}

/** The estimate of `key` and its value in `object`: 0 for a value JSON drops, with its key. */
function entry(object: Record<string, unknown>, key: string, base: number): number {
  const size = visit(object[key], base);
  return size === 0 ? 0 : size + key.length + KEY;
}
