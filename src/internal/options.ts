/**
 * Checks shared by every public options object: it is a plain object, and it has no
 * key the receiver does not know (a misspelt option must not be silently ignored).
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';

/**
 * Throws `INVALID_OPTIONS` unless `options` is `undefined` or an object whose own keys
 * are all in `known`. The message names `what`, the first unknown key and the known keys:
 * `Unknown option "filename" in SqliteMemory options (known: path, synchronous, busyTimeoutMs)`.
 */
export function checkOptionKeys(what: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  let keys: string[];
  try {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new MacroError('INVALID_OPTIONS', `Expected ${what} to be an object, got ${kindOf(options)}`);
    }
    keys = Object.keys(options);
  } catch (error) {
    if (error instanceof MacroError) throw error;
    // A revoked proxy, or a proxy whose ownKeys trap throws.
    throw new MacroError('INVALID_OPTIONS', `Cannot read the keys of ${what}`, { cause: error });
  }
  for (const key of keys) {
    if (!known.includes(key)) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Unknown option ${JSON.stringify(key)} in ${what} (known: ${known.join(', ')})`,
      );
    }
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
