/**
 * Checks shared by every public options object: it is a plain object, and it has no
 * key the receiver does not know (a misspelt option must not be silently ignored).
 * @internal
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { briefly, kindOf } from './safe.js';

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

/**
 * The `known` options of `what`, each read once (after {@link checkOptionKeys}), in a
 * plain object that leaves out those that are `undefined`: the copy to check and to use,
 * so that a getter cannot answer the check one way and the use another.
 * @throws {MacroError} `INVALID_OPTIONS`, also when reading one throws (a getter, a
 * proxy): its error is the cause.
 */
export function readOptions<T extends object = Record<string, unknown>>(
  what: string,
  options: unknown,
  known: readonly (keyof T & string)[],
): Partial<T> {
  checkOptionKeys(what, options, known);
  const read: Partial<T> = {};
  if (options === undefined) return read;
  try {
    for (const key of known) {
      const value = (options as T)[key];
      if (value !== undefined) read[key] = value;
    }
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read ${what}: ${describe(error)}`, { cause: error });
  }
  return read;
}

/**
 * `value` when it is a non-empty string (a run id, an agent id).
 * @throws {MacroError} `INVALID_OPTIONS` otherwise: `Invalid <what>: expected a non-empty string, got <value>`.
 */
export function nonEmptyString(what: string, value: unknown): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new MacroError(
    'INVALID_OPTIONS',
    `Invalid ${what}: expected a non-empty string, got ${briefly(value)}`,
  );
}
