/**
 * Resuming runs: what it reads from memory (a stored run, checked before it is trusted,
 * and the runs listed as running), the replay of a run that had already finished, and
 * the continuation of one that had not.
 * @internal
 * @module
 */
import {
  CancelledError,
  describe,
  MacroConfigurationError,
  MacroError,
  PersistenceError,
} from '../errors.js';
import { AbortScope } from '../internal/abort-scope.js';
import { abortReason, withGrace } from '../internal/grace.js';
import { stopTimer } from '../internal/timers.js';
import { type ClaimStaleOptions, leaseRefusal, releaseLease } from '../memory/lease.js';
import type { MemoryAdapter, RunSummary, StoredRun } from '../memory/memory-adapter.js';
import type { MacroLogger } from '../model/logger.js';
import { restorePoint } from './checkpoints.js';
import type { CompiledMacro } from './compiled.js';
import { RunExecution } from './executor.js';
import type { ResumeOptions } from './orchestrator-options.js';
import type { MacroRun } from './run.js';
import { startBudget } from './run-budget.js';
import type { RunLimits } from './run-input.js';
import type { EngineServices, RunRequest } from './run-request.js';
import { checkStoredRun } from './stored-run.js';
import { checkResumeInput, notSuspended } from './suspension.js';
import type { MacroResult } from './types.js';

/** What {@link resumeStored} works with besides the run: the engine, and the resume's options, scope and limits. */
export interface ResumeStart {
  readonly services: EngineServices;
  /** What the resume was given for a suspended run (as parsed: read once). */
  readonly given: { readonly input?: unknown; readonly token?: string | undefined };
  readonly scope: AbortScope;
  readonly limits: RunLimits | undefined;
  /** Told the run's macro once it is known (the run's cancel error and budget name it). */
  readonly named: (macro: CompiledMacro) => void;
  readonly runLogger: (macro: CompiledMacro) => MacroLogger;
}

/**
 * Resumes run `runId` on `handle` once it is loaded: a run that already finished settles
 * with its stored result (see {@link replayResult}); one that had not goes on from its
 * checkpoints, or from its suspension with the input given.
 * @throws {MacroError} `RUN_NOT_FOUND`, `MACRO_NOT_FOUND`, or `INVALID_OPTIONS` for an
 * input given to a run that is not suspended (and what loading throws, see {@link loadStoredRun}).
 * @throws {MacroConfigurationError} when the run's macro needs an agent that is not registered.
 */
export async function resumeStored(
  handle: MacroRun<unknown>,
  runId: string,
  start: ResumeStart,
): Promise<MacroResult> {
  const { services, given } = start;
  const stored = await loadStoredRun(services.memory, runId, start.scope);
  const waiting = stored?.result?.status === 'suspended' ? stored.result.suspension : undefined;
  if (stored?.result !== undefined && waiting === undefined) {
    if (given.input !== undefined) throw notSuspended(runId, stored.result.status);
    return replayResult(handle, stored.result, services);
  }
  if (stored?.header === undefined) {
    throw new MacroError('RUN_NOT_FOUND', `No run "${runId}" is stored in memory to resume`);
  }
  const { header } = stored;
  if (waiting === undefined && given.input !== undefined) throw notSuspended(runId, 'running');
  const macro = services.catalogue.get(header.macro);
  if (macro === undefined) {
    throw new MacroError(
      'MACRO_NOT_FOUND',
      `Run "${runId}" cannot be resumed: its macro "${header.macro}" is not in the catalogue`,
    );
  }
  if (macro.missingAgents.length > 0) throw new MacroConfigurationError(macro.missingAgents);
  start.named(macro);
  handle.bindMacro(macro.name);
  const request: RunRequest = {
    runId,
    macro,
    context: header.context,
    input: header.input,
    scope: start.scope,
    logger: start.runLogger(macro),
    restore: restorePoint(stored),
    startedAt: header.startedAt,
    ...(waiting === undefined ? {} : { resumeWith: checkResumeInput(services.catalogue, waiting, given) }),
    ...(start.limits === undefined ? {} : { budget: start.limits }),
  };
  return new RunExecution(services, request, handle).execute();
}

/**
 * Loads a run to resume, bounded by `persistenceTimeoutMs` (the `memory` given is the
 * timed one), the resume's budget and its cancellation, and checked before it is trusted.
 */
async function loadStoredRun(
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
function replayResult(
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
