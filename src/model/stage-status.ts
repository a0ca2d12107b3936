/**
 * How a stage or phase ended, and the status an error ends it with.
 * @module
 */
import type { MacroError } from '../errors.js';

/** Status of a finished stage or phase. */
export type StageStatus = 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'suspended' | 'restored';

/**
 * The stage status an error ends a stage with.
 * @internal
 */
export function statusOf(error: MacroError): StageStatus {
  if (error.code === 'STAGE_TIMEOUT' || error.code === 'RUN_TIMEOUT') return 'timed-out';
  if (error.code === 'CANCELLED' || error.code === 'BUDGET_EXCEEDED') return 'cancelled';
  // Another process took the run over: this one stopped working on it.
  if (error.code === 'LEASE_LOST' || error.code === 'RUN_LEASED') return 'cancelled';
  if (error.code === 'SUSPENDED') return 'suspended';
  return 'failed';
}
