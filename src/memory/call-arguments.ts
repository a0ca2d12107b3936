/**
 * The checks of what callers pass to the memory adapters (their constructors' options, and
 * `listRuns`, `claimStale`, `prune`, and the run id of `loadRun`, `deleteRun`…), shared by every
 * built-in adapter so that they refuse the same input with the same error, before any
 * query. Each options object is read once, in a `try`: a revoked proxy or a throwing
 * getter is `INVALID_OPTIONS` with its error as `cause`. Not on the per-stage write path.
 *
 * Unchecked, such values did harm in SQL: a time that is no finite number compares as
 * "before" every run (NaN in PostgreSQL, a string in SQLite: `prune` deleted every finished
 * run), a negative `LIMIT` is no limit in SQLite, a `limit` of NaN claimed every stale run,
 * and a run id that is an array binds as its elements (`deleteRun(['r1'])` deleted `r1`).
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { nonEmptyString, readOptions } from '../internal/options.js';
import { briefly } from '../internal/safe.js';
import type { ListRunsOptions, RunState } from './memory-adapter.js';

/** Every {@link RunState}: the statuses `listRuns` may filter by (a record, so a new one must be added). */
const RUN_STATES: Readonly<Record<RunState, true>> = {
  running: true,
  succeeded: true,
  partial: true,
  failed: true,
  cancelled: true,
  suspended: true,
};

/** `listRuns`' options, checked, with the default limit. */
export interface ListRunsFilter {
  readonly macro: string | undefined;
  readonly status: RunState | undefined;
  readonly limit: number;
}

/** `claimStale`'s options, checked and copied (`macros` is a copy of the caller's array). */
export interface ClaimStaleFilter {
  readonly limit: number;
  readonly macros: readonly string[];
  readonly updatedBefore: number | undefined;
}

/**
 * `options` of `<adapter>.listRuns` as a {@link ListRunsFilter}: `macro` a string, `status` a
 * {@link RunState}, `limit` an integer from 0 to 2^53 - 1 (default 100); `undefined` for any.
 * @throws {MacroError} `INVALID_OPTIONS` naming the option and `<adapter>.listRuns`.
 */
export function listRunsOptions(adapter: string, options: unknown): ListRunsFilter {
  const where = `${adapter}.listRuns options`;
  const { macro, status, limit } = readOptions<ListRunsOptions>(where, options, ['macro', 'status', 'limit']);
  if (macro !== undefined && typeof macro !== 'string') throw invalid(where, 'macro', 'a string', macro);
  if (status !== undefined && (typeof status !== 'string' || !Object.hasOwn(RUN_STATES, status))) {
    throw invalid(where, 'status', `one of ${Object.keys(RUN_STATES).join(', ')}`, status);
  }
  return {
    macro,
    status: status as RunState | undefined,
    limit: limit === undefined ? 100 : count(where, 'limit', limit),
  };
}

/**
 * `options` of `<adapter>.claimStale` as a {@link ClaimStaleFilter}: `limit` an integer from 0
 * to 2^53 - 1, `macros` an array of strings, `updatedBefore` a finite number or `undefined`.
 * @throws {MacroError} `INVALID_OPTIONS` naming the option and `<adapter>.claimStale`.
 */
export function claimStaleOptions(adapter: string, options: unknown): ClaimStaleFilter {
  const where = `${adapter}.claimStale options`;
  const { limit, macros, updatedBefore } = required(where, options, ['limit', 'macros', 'updatedBefore']);
  return {
    limit: count(where, 'limit', limit),
    macros: strings(where, 'macros', macros),
    updatedBefore: updatedBefore === undefined ? undefined : time(where, 'updatedBefore', updatedBefore),
  };
}

/**
 * `options.endedBefore` of `<adapter>.prune`, when it is a finite number (epoch ms).
 * @throws {MacroError} `INVALID_OPTIONS` naming `<adapter>.prune` otherwise, or when the options cannot be read.
 */
export function endedBefore(adapter: string, options: unknown): number {
  const where = `${adapter}.prune options`;
  return time(where, 'endedBefore', required(where, options, ['endedBefore']).endedBefore);
}

/**
 * `runId`, the run id given to `<adapter>.<method>`, when it is a non-empty string.
 * @throws {MacroError} `INVALID_OPTIONS` naming `<adapter>.<method>` otherwise.
 */
export function runIdOf(adapter: string, method: string, runId: unknown): string {
  return nonEmptyString(`run id given to ${adapter}.${method}`, runId);
}

/** The `keys` of required options `options`, each read once. */
function required<K extends string>(where: string, options: unknown, keys: readonly K[]): Record<K, unknown> {
  if (options === undefined) {
    throw new MacroError('INVALID_OPTIONS', `Expected ${where} to be an object, got undefined`);
  }
  return readOptions<Record<K, unknown>>(where, options, keys) as Record<K, unknown>;
}

/** `value` when it is an integer from 0 to 2^53 - 1 (a row count SQL takes as it is). */
function count(where: string, key: string, value: unknown): number {
  if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  throw invalid(where, key, `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`, value);
}

/** `value` when it is a finite number (epoch ms). */
function time(where: string, key: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalid(where, key, 'a finite number (epoch ms)', value);
}

/** A copy of `value` when it is an array of strings. */
function strings(where: string, key: string, value: unknown): string[] {
  const copy: string[] = [];
  let bad: { index: number; item: unknown } | undefined;
  try {
    if (!Array.isArray(value)) throw invalid(where, key, 'an array of strings', value);
    for (let index = 0; index < value.length && bad === undefined; index++) {
      const item: unknown = value[index];
      if (typeof item === 'string') copy.push(item);
      else bad = { index, item };
    }
  } catch (error) {
    if (error instanceof MacroError) throw error;
    throw new MacroError('INVALID_OPTIONS', `Cannot read option "${key}" in ${where}`, { cause: error });
  }
  if (bad !== undefined) {
    throw invalid(where, key, 'an array of strings', bad.item, ` at index ${bad.index}`);
  }
  return copy;
}

function invalid(where: string, key: string, expected: string, value: unknown, at = ''): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "${key}" in ${where}: expected ${expected}, got ${briefly(value)}${at}`,
  );
}
