/**
 * How errors map to stage statuses, and how user callbacks' errors are wrapped.
 * @internal
 * @module
 */
import { describe, isMacroError, MacroError } from '../errors.js';
import type { StageStatus } from './types.js';

/** The stage status an error ends a stage with. */
export function statusOf(error: MacroError): StageStatus {
  if (error.code === 'STAGE_TIMEOUT' || error.code === 'RUN_TIMEOUT') return 'timed-out';
  if (error.code === 'CANCELLED') return 'cancelled';
  return 'failed';
}

/** Wraps an error thrown by user code (`where`: input mapper, merge, gate, deliver…) as a retryable `STAGE_FAILED`. */
export function wrapUserError(error: unknown, path: string, where: string): MacroError {
  if (isMacroError(error)) return error;
  return new MacroError('STAGE_FAILED', `${where} failed at ${path}: ${describe(error)}`, {
    cause: error,
    path,
    retryable: true,
  });
}
