/**
 * One budget for the engine's work in the check phase of an event-loop iteration, shared
 * by every orchestrator's turn (TurnBudget), checkpoint writes (CheckpointTurns) and
 * SQLite group commits (TurnBatch) of the process.
 * @internal
 * @module
 */
import { setImmediate as timersSetImmediate } from 'node:timers';

/** Node's own, taken when the module loads: fake timers that patch `timers` later cannot capture it. */
const setImmediate = timersSetImmediate;

/** The engine's share of one check phase, in ms. */
export const CHECK_PHASE_MS = 10;

/**
 * The least a task is given, in ms, once the tasks before it in the phase spent its share:
 * each makes progress in every phase, so writes are never starved by the stages that make them.
 */
export const MIN_SLICE_MS = 2;

/** When the share of the phase open now ends (`Date.now()` time); NaN while none is open. */
let closesAt = Number.NaN;

/** Runs first in the next check phase (queued when the share opened): that phase opens a share of its own. */
function closeShare(): void {
  closesAt = Number.NaN;
}

/**
 * How long the caller may work now, in ms: what is left of the phase's share, at least
 * `least` ({@link MIN_SLICE_MS}; more for work that must keep up with the rest, as SQLite's
 * batches for its write thread). Each of the three took 10 ms of its own, and at 10,000
 * concurrent runs they added up, with a scavenge, to one 60-80 ms block of the loop
 * (docs/performance.md).
 *
 * The first call opens a share; it closes with an Immediate queued then, which runs before
 * any queued later (one queued before it, in the phase that opened the share, runs in the
 * next phase still within the old share: it gets its minimum). Called from an Immediate
 * (as its callers are), the share is the rest of that check phase's; from elsewhere (a
 * timer), the check phase after shares it.
 * The clock is the global `Date.now` at the time of the call, as TurnBudget's.
 */
export function checkPhaseSlice(least = MIN_SLICE_MS): number {
  const now = Date.now();
  if (Number.isNaN(closesAt)) {
    closesAt = now + CHECK_PHASE_MS;
    setImmediate(closeShare);
  }
  return Math.max(closesAt - now, least);
}
