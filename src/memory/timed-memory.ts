/**
 * Bounds every memory call in time, so that an adapter whose call never settles
 * (a hung connection, a lost lock) cannot keep a run from settling: the call fails
 * with a timeout; a write is then retried and finally reported like any failing write.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { startTimer, stopTimer } from '../internal/timers.js';
import { InMemoryMemory } from './in-memory.js';
import { MEMORY_METHODS, type MemoryAdapter } from './memory-adapter.js';

/**
 * Rejects with `PERSISTENCE_FAILED` if `call()` has not settled after `ms`; a synchronous
 * throw rejects. One promise and one reaction a call: it was a race of two promises and a
 * `finally` (three promises more, for every write of an adapter that is not InMemoryMemory).
 */
function bounded<T>(call: () => Promise<T>, ms: number, operation: string): Promise<T> {
  let promise: Promise<T>;
  try {
    promise = call();
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<T>((resolve, reject) => {
    const timer = startTimer(
      () =>
        reject(new MacroError('PERSISTENCE_FAILED', `Memory ${operation} did not settle within ${ms} ms`)),
      ms,
    );
    // A call that settles after the timeout settles nothing more; its rejection is handled here.
    Promise.resolve(promise).then(
      (value) => {
        stopTimer(timer);
        resolve(value);
      },
      (error: unknown) => {
        stopTimer(timer);
        reject(error);
      },
    );
  });
}

/**
 * Whether `memory` is an `InMemoryMemory` as the library ships it (not a subclass, no
 * method replaced on the instance, not a proxy handing out other functions): its calls
 * do their work synchronously and cannot hang, so bounding them would only cost a
 * timer and a race per call.
 */
export function settlesPromptly(memory: MemoryAdapter): boolean {
  const proto = InMemoryMemory.prototype;
  return (
    Object.getPrototypeOf(memory) === proto &&
    MEMORY_METHODS.every((method) => memory[method] === proto[method])
  );
}

/**
 * `memory` with every call bounded by `timeoutMs` (any duration; see startTimer);
 * `memory` itself when the bound is infinite or its calls cannot hang.
 */
export function withTimeout(memory: MemoryAdapter, timeoutMs: number): MemoryAdapter {
  if (timeoutMs === Number.POSITIVE_INFINITY || settlesPromptly(memory)) return memory;
  const timed: MemoryAdapter = {
    beginRun: (header) => bounded(() => memory.beginRun(header), timeoutMs, 'beginRun'),
    saveCheckpoint: (runId, checkpoint, audit) =>
      bounded(() => memory.saveCheckpoint(runId, checkpoint, audit), timeoutMs, 'saveCheckpoint'),
    saveResult: (result) => bounded(() => memory.saveResult(result), timeoutMs, 'saveResult'),
    appendAudit: (records) => bounded(() => memory.appendAudit(records), timeoutMs, 'appendAudit'),
    loadRun: (runId) => bounded(() => memory.loadRun(runId), timeoutMs, 'loadRun'),
    loadResult: (runId) => bounded(() => memory.loadResult(runId), timeoutMs, 'loadResult'),
    readAudit: (runId) => bounded(() => memory.readAudit(runId), timeoutMs, 'readAudit'),
    listRuns: (options) => bounded(() => memory.listRuns(options), timeoutMs, 'listRuns'),
  };
  const { claimRun, claimStale, releaseRun } = memory;
  if (typeof claimRun === 'function') {
    timed.claimRun = (runId) => bounded(() => claimRun.call(memory, runId), timeoutMs, 'claimRun');
  }
  if (typeof claimStale === 'function') {
    timed.claimStale = (options) => bounded(() => claimStale.call(memory, options), timeoutMs, 'claimStale');
  }
  if (typeof releaseRun === 'function') {
    timed.releaseRun = (runId) => bounded(() => releaseRun.call(memory, runId), timeoutMs, 'releaseRun');
  }
  return timed;
}
