/**
 * The events of a run and of each macro it runs (`run:start`, `macro:start`, `macro:end`,
 * `run:end`). Like a stage's, each is counted in `seq` always and built only when someone
 * receives it, but `run:end`: delivered always, it ends the run's event iterators.
 * @internal
 * @module
 */
import { type MacroError, toErrorRecord } from '../errors.js';
import type { Journal } from './journal.js';
import type { MacroResult, RunStatus, StageStatus } from './types.js';

/** Emits `run:start` of the macro `name`, now; `resumed` when the run goes on from its checkpoints. */
export function runStarted(journal: Journal, name: string, resumed: boolean): void {
  const seq = ++journal.seq;
  if (!journal.observes('run:start')) return;
  const { runId, labels } = journal;
  const start = {
    type: 'run:start' as const,
    runId,
    seq,
    at: journal.now(),
    path: name,
    labels,
    macro: name,
  };
  journal.emit(resumed ? { ...start, resumed: true as const } : start);
}

/** Emits `macro:start` of the macro `name` (the run's, or a fallback taking over). */
export function macroStarted(journal: Journal, name: string, at: number): void {
  const seq = ++journal.seq;
  if (!journal.observes('macro:start')) return;
  const { runId, labels } = journal;
  journal.emit({ type: 'macro:start', runId, seq, at, path: name, labels, macro: name });
}

/** Emits `macro:end` of the macro `name`, with the error it failed with, if any. */
export function macroEnded(
  journal: Journal,
  name: string,
  at: number,
  status: StageStatus,
  durationMs: number,
  error: MacroError | undefined,
): void {
  const seq = ++journal.seq;
  if (!journal.observes('macro:end')) return;
  const { runId, labels } = journal;
  const end = {
    type: 'macro:end' as const,
    runId,
    seq,
    at,
    path: name,
    labels,
    macro: name,
    status,
    durationMs,
  };
  journal.emit(error === undefined ? end : { ...end, error: toErrorRecord(error) });
}

/**
 * Emits `run:end` with the run's result, observed or not. `labels`: the run's own, as on
 * `run:start` and in the result, even after a fallback.
 */
export function runEnded(
  journal: Journal,
  name: string,
  labels: Readonly<Record<string, string>>,
  at: number,
  result: MacroResult,
): void {
  const { runId } = journal;
  const status: RunStatus = result.status;
  const seq = ++journal.seq;
  journal.emit({
    type: 'run:end',
    runId,
    seq,
    at,
    path: name,
    labels,
    macro: name,
    status,
    durationMs: result.durationMs,
    result,
  });
}
