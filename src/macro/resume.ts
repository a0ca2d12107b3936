/**
 * What resuming runs reads from memory: a stored run, checked before it is trusted, and
 * the runs listed as running; and the replay of a run that had already finished.
 * @internal
 * @module
 */
import { CancelledError, describe, PersistenceError } from '../errors.js';
import { AbortScope } from '../internal/abort-scope.js';
import { abortReason, withGrace } from '../internal/grace.js';
import { stopTimer } from '../internal/timers.js';
import { type ClaimStaleOptions, leaseRefusal, releaseLease } from '../memory/lease.js';
import type { MemoryAdapter, RunSummary, StoredRun } from '../memory/memory-adapter.js';
import type { ResumeOptions } from './orchestrator-options.js';
import type { MacroRun } from './run.js';
import { startBudget } from './run-budget.js';
import type { EngineServices } from './run-request.js';
import { checkStoredRun } from './stored-run.js';
import type { MacroResult } from './types.js';

/**
 * Loads a run to resume, bounded by `persistenceTimeoutMs` (the `memory` given is the
 * timed one), the resume's budget and its cancellation, and checked before it is trusted.
 */
export async function loadStoredRun(
  memory: MemoryAdapter,
  runId: string,
  scope: AbortScope,
): Promise<StoredRun | undefined> {
  let loaded: unknown;
  const { claimRun } = memory;
  if (typeof claimRun === 'function') {
    let claiming: Promise<void>;
    try {
      claiming = claimRun.call(memory, runId);
    } catch (error) {
      claiming = Promise.reject(error);
    }
    await claim(memory, claiming, runId, scope);
  }
  try {
    // Cancelled or out of time while loading: a load that still settles within the turn
    // gives a `cancelled` (or `partial`) result, as a run does; a slower one is left behind.
    loaded = await withGrace(memory.loadRun(runId), scope, abortReason);
  } catch (error) {
    if (scope.aborted && error === scope.reason) throw error;
    throw new PersistenceError(
      'loadRun',
      error,
      `loading run "${runId}" to resume it failed: ${describe(error)}`,
    );
  }
  return loaded === undefined ? undefined : checkStoredRun(runId, loaded);
}

/**
 * Takes the run's lease before it is loaded (an adapter shared by processes): another
 * process's live lease rejects with its `RUN_LEASED`; any other failure is `PERSISTENCE_FAILED`.
 */
async function claim(
  memory: MemoryAdapter,
  claiming: Promise<void>,
  runId: string,
  scope: AbortScope,
): Promise<void> {
  try {
    await withGrace(claiming, scope, abortReason);
  } catch (error) {
    // Given up on (cancelled, out of time): a claim that still succeeds is given back.
    if (scope.aborted) claiming.then(() => releaseLease(memory, runId), ignore);
    if ((scope.aborted && error === scope.reason) || leaseRefusal(error) === error) throw error;
    throw new PersistenceError(
      'claimRun',
      error,
      `claiming run "${runId}" to resume it failed: ${describe(error)}`,
    );
  }
}

/**
 * The runs to resume, oldest first, read within the budget and cancellation of `options`:
 * those an adapter with leases claims for this process (see `MemoryAdapter.claimStale`),
 * or else those memory lists as running and last written before `updatedBefore`.
 */
export async function listRunning(
  memory: MemoryAdapter,
  claim: ClaimStaleOptions,
  options: ResumeOptions,
  now: number,
): Promise<RunSummary[]> {
  const scope = AbortScope.root(options.signal, (reason) => new CancelledError('resumeIncomplete', reason));
  const budget = startBudget(scope, options.timeoutMs, options.deadline, 'resumeIncomplete', now);
  try {
    const { claimStale } = memory;
    if (typeof claimStale === 'function') {
      const claiming = claimStale.call(memory, claim);
      // Given up on (cancelled, out of time): what the claim still takes is given back.
      const giveBack = (runs: RunSummary[]) => {
        for (const run of runs) releaseLease(memory, run.runId);
      };
      return await withGrace(claiming, scope, (s) => {
        claiming.then(giveBack, ignore);
        return abortReason(s);
      });
    }
    const { limit, updatedBefore = Number.POSITIVE_INFINITY } = claim;
    const running = await withGrace(memory.listRuns({ status: 'running', limit }), scope, abortReason);
    return running.filter((run) => run.updatedAt <= updatedBefore).reverse();
  } finally {
    if (budget !== undefined) stopTimer(budget);
    scope.dispose();
  }
}

function ignore(): void {}

/** Settles a resumed run that had already finished: `run:start`, `run:end`, the stored result. */
export function replayResult(
  run: MacroRun<unknown>,
  result: MacroResult,
  services: Pick<EngineServices, 'now'>,
): MacroResult {
  run.bindMacro(result.macro);
  const base = (seq: number) => ({
    runId: result.runId,
    seq,
    at: services.now(),
    path: result.macro,
    labels: result.labels,
  });
  run.deliver({ type: 'run:start', ...base(1), macro: result.macro, resumed: true });
  run.deliver({
    type: 'run:end',
    ...base(2),
    macro: result.macro,
    status: result.status,
    durationMs: result.durationMs,
    result,
  });
  return result;
}
