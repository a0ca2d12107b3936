/**
 * The check of `prune()`'s options, shared by the SQL adapters: a time that is no finite
 * number would compare as "before" every run in SQL (NaN in PostgreSQL, a string in SQLite)
 * and delete every finished run.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { checkOptionKeys, kindOf } from '../internal/options.js';

/**
 * `options.endedBefore`, read once, when it is a finite number (epoch ms).
 * @throws {MacroError} `INVALID_OPTIONS` naming `what`'s prune options otherwise, or when they cannot be read.
 */
export function endedBefore(what: string, options: unknown): number {
  const where = `${what}.prune options`;
  if (options === undefined)
    throw new MacroError('INVALID_OPTIONS', `Expected ${where} to be an object, got undefined`);
  checkOptionKeys(where, options, ['endedBefore']);
  let value: unknown;
  try {
    value = (options as { endedBefore?: unknown }).endedBefore;
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read ${where}`, { cause: error });
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid option "endedBefore" in ${where}: expected a finite number (epoch ms), got ${typeof value === 'number' ? String(value) : kindOf(value)}`,
    );
  }
  return value;
}
