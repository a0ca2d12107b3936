/**
 * Helpers of the tests of SqliteMemory's group commit and write thread: many runs' ids, a
 * checkpoint write, and what each write came to.
 */
import { THREAD_MIN_WRITES } from '../../src/memory/sqlite-batch.js';
import type { SqliteMemory } from '../../src/sqlite.js';
import { audit, checkpoint, stage } from '../../src/testing.js';

/** More writes than a turn's batch needs to go to the thread. */
export const MANY = THREAD_MIN_WRITES + 20;

/** `count` run ids: `r0`, `r1`… (or with `prefix`). */
export const ids = (count: number, prefix = 'r') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** Saves a one-stage checkpoint of `runId` with `records` as its audit. */
export const save = (memory: SqliteMemory, runId: string, records = [audit(runId, 1)]) =>
  memory.saveCheckpoint(runId, checkpoint(1, [stage('write/a', 1)]), records);

/** Each write's outcome: `stored`, or its error's code (or name). */
export const outcomes = (settled: PromiseSettledResult<unknown>[]) =>
  settled.map((s) => (s.status === 'rejected' ? (s.reason.code ?? s.reason.name) : 'stored'));
