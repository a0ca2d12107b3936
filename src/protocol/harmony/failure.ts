/**
 * How Harmony fails: `HARMONY_FAILED` errors at the group's path, and descriptions and
 * records of foreign values (what user callbacks and judges return or throw) that never
 * throw themselves.
 * @internal
 * @module
 */
import { describe, type ErrorRecord, isMacroError, MacroError, toErrorRecord } from '../../errors.js';
import { jsonText } from '../../internal/json-text.js';

/** `describe(value)`, or the value's JSON-like text where that throws (a revoked proxy, a null-prototype object). */
export function describeSafely(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return jsonText(value, { max: 10_000 });
  }
}

/** Whether `value` is a `HARMONY_FAILED` error already; `false` for anything unreadable (a revoked proxy). */
function isHarmonyFailure(value: unknown): value is MacroError {
  try {
    return isMacroError(value) && value.code === 'HARMONY_FAILED';
  } catch {
    return false;
  }
}

/**
 * `cause`, or an `Error` with its description when `toErrorRecord` cannot read it (a
 * revoked proxy): the engine records every failure's causes, and that must not throw.
 */
function recordable(cause: unknown): unknown {
  try {
    toErrorRecord(cause);
    return cause;
  } catch {
    return new Error(describeSafely(cause));
  }
}

/** `toErrorRecord(error)`, or a `NonError` record of its description where reading the error throws. */
export function errorRecordOf(error: unknown): ErrorRecord {
  try {
    return toErrorRecord(error);
  } catch {
    return { name: 'NonError', code: 'UNKNOWN', message: describeSafely(error) };
  }
}

/** `HARMONY_FAILED` at `path`; a cause that is one already is returned as it is. */
export function harmonyFailure(path: string, detail: string, cause?: unknown): MacroError {
  if (isHarmonyFailure(cause)) return cause;
  return new MacroError('HARMONY_FAILED', `Harmony could not decide at ${path}: ${detail}`, {
    cause: recordable(cause),
    path,
  });
}

/** Calls a user callback (`what`: its name); a throw becomes `HARMONY_FAILED`. */
export function callUser<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw harmonyFailure(path, `${what} threw: ${describeSafely(error)}`, error);
  }
}
