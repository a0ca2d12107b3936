/**
 * The conformance suite every `MemoryAdapter` passes, written once and run against each
 * adapter under the caller's test runner (Vitest, `node:test`, or any with the same
 * `describe`/`it`). It asserts with `node:assert/strict`, so it needs no runner's `expect`.
 * @module
 */
import assert from 'node:assert/strict';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import type { MacroResult } from '../model/result.js';
import { assertEqual } from './assert-equal.js';
import { audit, checkpoint, header, result, stage } from './fixtures.js';
import { unserialisableCheckpoints } from './unserialisable-checkpoints.js';

/**
 * A test runner's `describe` or `it`: takes a name and a function, returns anything.
 * Vitest's and `node:test`'s both fit.
 */
export type RegisterTest = (name: string, fn: () => void | Promise<void>) => unknown;

/** How {@link memoryAdapterContract} registers its tests, and how it cleans up after each. */
export interface MemoryAdapterContractHarness<M extends MemoryAdapter = MemoryAdapter> {
  /** Groups tests: the runner's `describe`. */
  readonly describe: RegisterTest;
  /** Registers one test: the runner's `it`. */
  readonly it: RegisterTest;
  /**
   * Called (and awaited) after each test with the adapter the test made, whether the test
   * passed or failed: close connections or delete files here.
   * @default nothing is called
   */
  readonly dispose?: (memory: M) => unknown;
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * Registers the `MemoryAdapter` conformance suite, `<name> satisfies the MemoryAdapter
 * contract`, with the given runner. Each test gets a fresh adapter from `create`, so
 * `create` must return an empty store (a new file, a new schema, a cleared table).
 *
 * @example
 * // Vitest
 * import { describe, it } from 'vitest';
 * import { memoryAdapterContract } from 'macro-orchestrator/testing';
 * memoryAdapterContract('MyMemory', () => new MyMemory(), { describe, it });
 *
 * // node:test (`node --test`), closing each adapter after its test
 * import { describe, it } from 'node:test';
 * memoryAdapterContract('MyMemory', () => new MyMemory(), { describe, it, dispose: (m) => m.close() });
 */
export function memoryAdapterContract<M extends MemoryAdapter>(
  name: string,
  create: () => M | Promise<M>,
  harness: MemoryAdapterContractHarness<M>,
): void {
  const { describe, it, dispose } = harness;
  /** Registers a test that runs `body` on a fresh adapter and disposes of it however `body` ends. */
  const test = (title: string, body: (memory: M) => Promise<void>) =>
    it(title, async () => {
      const memory = await create();
      try {
        await body(memory);
      } finally {
        await dispose?.(memory);
      }
    });

  describe(`${name} satisfies the MemoryAdapter contract`, () => {
    describe('results', () => {
      test('loads a saved result as its JSON round trip', async (memory) => {
        const saved = result('r1');
        await memory.saveResult(saved);
        assertEqual(await memory.loadResult('r1'), json(saved));
      });

      test('returns undefined for a result never saved', async (memory) => {
        assert.equal(await memory.loadResult('nope'), undefined);
      });

      test('replaces a run result saved twice', async (memory) => {
        await memory.saveResult(result('r1', 'failed'));
        await memory.saveResult(result('r1', 'succeeded'));
        assert.equal((await memory.loadResult('r1'))?.status, 'succeeded');
        assert.equal((await memory.listRuns()).length, 1);
      });

      test('rejects a result that is not JSON-serialisable and stores nothing', async (memory) => {
        const bad = { ...result('r1'), output: { size: 1n } } as MacroResult;
        await assert.rejects(memory.saveResult(bad));
        assert.equal(await memory.loadResult('r1'), undefined);
      });
    });

    describe('runs and checkpoints', () => {
      test('returns undefined for a run never stored', async (memory) => {
        assert.equal(await memory.loadRun('nope'), undefined);
      });

      test('loads a begun run with its header, no checkpoints and no result', async (memory) => {
        await memory.beginRun(header('r1'));
        assertEqual(await memory.loadRun('r1'), { header: json(header('r1')), checkpoints: [] });
      });

      test('loads checkpoints in the order they were saved', async (memory) => {
        await memory.beginRun(header('r1'));
        const first = checkpoint(3, [stage('write/research', { notes: ['a'] })]);
        const second = checkpoint(9, [stage('write/draft', 'text'), stage('write/check', 42)]);
        await memory.saveCheckpoint('r1', first, []);
        await memory.saveCheckpoint('r1', second, []);
        assertEqual((await memory.loadRun('r1'))?.checkpoints, [json(first), json(second)]);
      });

      test('keeps the checkpoints of different runs apart', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.beginRun(header('r2'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveCheckpoint('r2', checkpoint(1, [stage('write/a', 2)]), []);
        assertEqual(
          (await memory.loadRun('r2'))?.checkpoints.map((c) => c.stages[0]?.output),
          [2],
        );
      });

      test('restores a stage output of undefined as undefined', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', undefined)]), []);
        const loaded = (await memory.loadRun('r1'))?.checkpoints[0]?.stages[0];
        assert.equal(loaded?.path, 'write/a');
        assert.equal(loaded?.output, undefined);
      });

      test('stores the audit records of a checkpoint with it', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(5, [stage('write/a', 1)]), [
          audit('r1', 2),
          audit('r1', 4),
        ]);
        assertEqual(await memory.readAudit('r1'), [audit('r1', 2), audit('r1', 4)]);
      });

      test('rejects a checkpoint for a run never begun', async (memory) => {
        await assert.rejects(memory.saveCheckpoint('ghost', checkpoint(1, [stage('write/a', 1)]), []));
        assert.equal(await memory.loadRun('ghost'), undefined);
      });

      test('stores nothing of a checkpoint whose audit records are not JSON-serialisable', async (memory) => {
        await memory.beginRun(header('r1'));
        const bad = { ...audit('r1', 1), data: { big: 1n } };
        await assert.rejects(memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [bad]));
        assertEqual((await memory.loadRun('r1'))?.checkpoints, []);
        assertEqual(await memory.readAudit('r1'), []);
      });

      for (const [what, make] of unserialisableCheckpoints) {
        test(`rejects a checkpoint with ${what} and stores nothing of it`, async (memory) => {
          await memory.beginRun(header('r1'));
          await assert.rejects(memory.saveCheckpoint('r1', make(), [audit('r1', 1)]));
          assertEqual((await memory.loadRun('r1'))?.checkpoints, []);
          assertEqual(await memory.readAudit('r1'), []);
        });
      }

      test('still loads a run one of whose checkpoints was rejected, with the others', async (memory) => {
        await memory.beginRun(header('r1'));
        const good = checkpoint(1, [stage('write/a', 'fine')]);
        await memory.saveCheckpoint('r1', good, []);
        const bad = checkpoint(2, [stage('write/b', { size: 1n })]);
        await assert.rejects(memory.saveCheckpoint('r1', bad, []));
        assertEqual(await memory.loadRun('r1'), { header: json(header('r1')), checkpoints: [json(good)] });
      });

      test('drops the checkpoints of a run once its result is saved', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1'));
        assertEqual(await memory.loadRun('r1'), {
          header: json(header('r1')),
          checkpoints: [],
          result: json(result('r1')),
        });
      });

      test('keeps the checkpoints of a suspended run, which resume reads, and lists it as suspended', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1', 'suspended'));
        assertEqual(await memory.loadRun('r1'), {
          header: json(header('r1')),
          checkpoints: [json(checkpoint(1, [stage('write/a', 1)]))],
          result: json(result('r1', 'suspended')),
        });
        assertEqual(
          (await memory.listRuns({ status: 'suspended' })).map((r) => r.runId),
          ['r1'],
        );
      });

      test('drops the checkpoints of a suspended run once its final result replaces it', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1', 'suspended'));
        await memory.saveResult(result('r1'));
        assertEqual((await memory.loadRun('r1'))?.checkpoints, []);
        assertEqual(await memory.listRuns({ status: 'suspended' }), []);
      });

      test('loads a result saved without a begun run', async (memory) => {
        await memory.saveResult(result('r1'));
        assertEqual(await memory.loadRun('r1'), { checkpoints: [], result: json(result('r1')) });
      });

      test('rejects a checkpoint for a run only saved as a result, never begun', async (memory) => {
        await memory.saveResult(result('r1'));
        await assert.rejects(memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []));
        assertEqual((await memory.loadRun('r1'))?.checkpoints, []);
      });

      test('drops the checkpoints of a run begun again', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.beginRun(header('r1', { startedAt: 3_000 }));
        assertEqual(await memory.loadRun('r1'), {
          header: json(header('r1', { startedAt: 3_000 })),
          checkpoints: [],
        });
      });

      test('lists a finished run begun again as running, without its result', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveResult(result('r1'));
        await memory.beginRun(header('r1', { startedAt: 3_000 }));
        assert.equal(await memory.loadResult('r1'), undefined);
        assertEqual(await memory.listRuns(), [
          {
            runId: 'r1',
            macro: 'write',
            producedBy: 'write',
            status: 'running',
            startedAt: 3_000,
            updatedAt: 3_000,
          },
        ]);
      });
    });

    describe('listRuns', () => {
      test('lists a begun run as running, with no end', async (memory) => {
        await memory.beginRun(header('r1'));
        assertEqual(await memory.listRuns(), [
          {
            runId: 'r1',
            macro: 'write',
            producedBy: 'write',
            status: 'running',
            startedAt: 1_000,
            updatedAt: 1_000,
          },
        ]);
      });

      test('moves updatedAt to the time of the last checkpoint', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(7, [stage('write/a', 1)], { at: 4_242 }), []);
        assert.equal((await memory.listRuns())[0]?.updatedAt, 4_242);
      });

      test('lists a finished run with its status and end', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveResult(result('r1', 'partial'));
        assertEqual(await memory.listRuns(), [
          {
            runId: 'r1',
            macro: 'write',
            producedBy: 'write',
            status: 'partial',
            startedAt: 1_000,
            endedAt: 1_500,
            updatedAt: 1_500,
          },
        ]);
      });

      test('lists the most recently begun run first', async (memory) => {
        for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
        await memory.saveResult(result('r1'));
        assertEqual(
          (await memory.listRuns()).map((r) => r.runId),
          ['r3', 'r2', 'r1'],
        );
      });

      test('lists every run of several begun at once', async (memory) => {
        await Promise.all(['r1', 'r2', 'r3'].map((id) => memory.beginRun(header(id))));
        assertEqual((await memory.listRuns()).map((r) => r.runId).sort(), ['r1', 'r2', 'r3']);
      });

      test('filters by status, running included', async (memory) => {
        for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
        await memory.saveResult(result('r2', 'failed'));
        assertEqual(
          (await memory.listRuns({ status: 'running' })).map((r) => r.runId),
          ['r3', 'r1'],
        );
        assertEqual(
          (await memory.listRuns({ status: 'failed' })).map((r) => r.runId),
          ['r2'],
        );
      });

      test('filters by macro', async (memory) => {
        await memory.saveResult(result('r1', 'succeeded', 'write'));
        await memory.saveResult(result('r2', 'succeeded', 'review'));
        assertEqual(
          (await memory.listRuns({ macro: 'review' })).map((r) => r.runId),
          ['r2'],
        );
      });

      test('combines the macro and status filters', async (memory) => {
        await memory.saveResult(result('r1', 'failed', 'write'));
        await memory.saveResult(result('r2', 'succeeded', 'write'));
        await memory.saveResult(result('r3', 'failed', 'review'));
        assertEqual(
          (await memory.listRuns({ macro: 'write', status: 'failed' })).map((r) => r.runId),
          ['r1'],
        );
      });

      test('returns at most limit runs', async (memory) => {
        for (const id of ['r1', 'r2', 'r3']) await memory.saveResult(result(id));
        assertEqual(
          (await memory.listRuns({ limit: 2 })).map((r) => r.runId),
          ['r3', 'r2'],
        );
      });
    });

    describe('audit trail', () => {
      test('reads records in the order they were appended, across calls', async (memory) => {
        await memory.appendAudit([audit('r1', 1), audit('r1', 2, 'failure')]);
        await memory.appendAudit([audit('r1', 3, 'fallback')]);
        assertEqual(
          (await memory.readAudit('r1')).map((r) => `${r.kind}:${r.seq}`),
          ['retry:1', 'failure:2', 'fallback:3'],
        );
      });

      test('keeps the audit trails of different runs apart', async (memory) => {
        await memory.appendAudit([audit('r1', 1), audit('r2', 2), audit('r1', 3)]);
        assertEqual(
          (await memory.readAudit('r1')).map((r) => r.seq),
          [1, 3],
        );
      });

      test('returns an empty trail for an unknown run', async (memory) => {
        assertEqual(await memory.readAudit('nope'), []);
      });

      test('keeps the audit trail once the result is saved', async (memory) => {
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(2, [stage('write/a', 1)]), [audit('r1', 1)]);
        await memory.appendAudit([audit('r1', 5)]);
        await memory.saveResult(result('r1'));
        assertEqual(
          (await memory.readAudit('r1')).map((r) => r.seq),
          [1, 5],
        );
      });

      test('is not changed by later changes to the appended records', async (memory) => {
        const record = { ...audit('r1', 1), data: { attempt: 1 } };
        await memory.appendAudit([record]);
        (record.data as { attempt: number }).attempt = 99;
        assertEqual((await memory.readAudit('r1'))[0]?.data, { attempt: 1 });
      });
    });
  });
}
