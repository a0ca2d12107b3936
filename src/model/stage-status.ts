/**
 * How a stage or phase ended, and the status an error ends it with.
 * @module
 */
import { type MacroError, SuspendedError } from '../errors.js';

/** Every stage status, once: the type below and the stored-record check read it; not exported from the package root, and not marked internal: stripInternal would drop the declaration the type reads. */
export const STAGE_STATUSES = [
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
  'suspended',
  'restored',
] as const;

/** Status of a finished stage or phase. */
export type StageStatus = (typeof STAGE_STATUSES)[number];

/**
 * The stage status an error ends a stage with.
 * @internal
 */
export function statusOf(error: MacroError): StageStatus {
  if (error.code === 'STAGE_TIMEOUT' || error.code === 'RUN_TIMEOUT') return 'timed-out';
  if (error.code === 'CANCELLED' || error.code === 'BUDGET_EXCEEDED') return 'cancelled';
  // Another process took the run over: this one stopped working on it.
  if (error.code === 'LEASE_LOST' || error.code === 'RUN_LEASED') return 'cancelled';
  // A suspension the run made (suspension.ts): then `result.suspension` says where it waits.
  // A SUSPENDED error of another kind (an agent's own, a stale `invocation.suspend`) fails.
  if (error instanceof SuspendedError) return 'suspended';
  return 'failed';
}
