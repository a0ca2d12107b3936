/**
 * Bounds every memory write in time, so that an adapter whose write never settles
 * (a hung connection, a lost lock) cannot keep a run from settling: the write fails
 * with a timeout, is retried, and is finally reported like any failing write.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { InMemoryMemory } from './in-memory.js';
import type { MemoryAdapter } from './memory-adapter.js';

/** Rejects with `PERSISTENCE_FAILED` if `promise` has not settled after `ms`. */
function bounded<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new MacroError('PERSISTENCE_FAILED', `Memory ${operation} did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether `memory` is an `InMemoryMemory` as the library ships it (not a subclass, no
 * method replaced on the instance): its writes do their work synchronously and cannot
 * hang, so bounding them would only cost a timer and a race per write.
 */
function settlesPromptly(memory: MemoryAdapter): boolean {
  return (
    Object.getPrototypeOf(memory) === InMemoryMemory.prototype &&
    Object.getOwnPropertyNames(memory).length === 0
  );
}

/**
 * `memory` with its writes bounded by `timeoutMs`; `memory` itself when the bound is
 * infinite or its writes cannot hang.
 */
export function withWriteTimeout(memory: MemoryAdapter, timeoutMs: number): MemoryAdapter {
  if (!Number.isFinite(timeoutMs) || settlesPromptly(memory)) return memory;
  return {
    beginRun: (header) => bounded(memory.beginRun(header), timeoutMs, 'beginRun'),
    saveCheckpoint: (runId, checkpoint, audit) =>
      bounded(memory.saveCheckpoint(runId, checkpoint, audit), timeoutMs, 'saveCheckpoint'),
    saveResult: (result) => bounded(memory.saveResult(result), timeoutMs, 'saveResult'),
    appendAudit: (records) => bounded(memory.appendAudit(records), timeoutMs, 'appendAudit'),
    loadRun: (runId) => memory.loadRun(runId),
    loadResult: (runId) => memory.loadResult(runId),
    readAudit: (runId) => memory.readAudit(runId),
    listRuns: (options) => memory.listRuns(options),
  };
}
