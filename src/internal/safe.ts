/**
 * Reading values that come from outside (agents' outputs and errors, abort reasons,
 * listeners' throws) without ever throwing: a revoked Proxy throws on every operation,
 * a getter or `toJSON` may throw, a null-prototype object has no `toString`, a BigInt
 * has no JSON. Error records, events and logs are built from such values, and building
 * them must never fail.
 * @internal
 * @module
 */

/** Longest text kept from a foreign value; the rest is counted, not kept. */
export const MAX_TEXT = 4096;

/** `text`, cut at `max` characters with a note of how many were left out. */
export function clip(text: string, max = MAX_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** `value[key]` (`undefined` for `null` and `undefined`), or `undefined` when reading it throws. */
export function safeGet(value: unknown, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key]; // null and undefined throw, and are caught
  } catch {
    // a revoked proxy, a throwing getter or proxy trap: nothing to read
  }
  return undefined;
}

/** Whether `value` is an `Error` (from any realm or copy); false when asking throws. */
export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
  } catch {
    return false; // a revoked proxy, or a proxy whose getPrototypeOf trap throws
  }
}

/** `null`, `array`, or the `typeof` of a value, for messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return 'array';
  } catch {
    return 'revoked proxy'; // Array.isArray throws only for a revoked proxy
  }
  return typeof value;
}

/** A refused value in a message: a number or a string as it is (a string quoted, clipped to 80), else its kind. */
export function briefly(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return kindOf(value);
}

/**
 * A short text for any value, never throwing: a string as it is, an Error's message,
 * anything else as JSON or `String(value)`, and `[unprintable <kind>]` when nothing
 * works. Long texts are clipped to {@link MAX_TEXT}.
 */
export function safeText(value: unknown): string {
  if (typeof value === 'string') return clip(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (isError(value)) {
    const message = safeGet(value, 'message');
    if (typeof message === 'string') return clip(message);
  } else {
    try {
      // JSON, or for what JSON leaves out (undefined, a function, a symbol) String().
      return clip(JSON.stringify(value) ?? String(value));
    } catch {
      // a BigInt inside, a cycle, a throwing getter or toJSON: String() may still work
    }
  }
  try {
    return clip(String(value)); // an Error without a string message: "Name: …"
  } catch {
    return `[unprintable ${kindOf(value)}]`;
  }
}
