/**
 * The conformance suite every `MemoryAdapter` passes. Written once, run against each
 * adapter: `memoryAdapterContract('SqliteMemory', () => new SqliteMemory())`.
 * Not a test file itself (Vitest runs only `*.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import type {
  AuditRecord,
  Checkpoint,
  MacroResult,
  MemoryAdapter,
  RunHeader,
  RunStatus,
  StageRecord,
} from '../../src/index.js';

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function header(runId: string, overrides: Partial<RunHeader> = {}): RunHeader {
  return {
    runId,
    macro: 'write',
    context: { intent: 'explain WAL', guidance: '', knowledge: [], metadata: { ticket: 7 } },
    input: { topic: 'WAL', depth: 2 },
    startedAt: 1_000,
    ...overrides,
  };
}

export function stage(path: string, output: unknown, overrides: Partial<StageRecord> = {}): StageRecord {
  return {
    path,
    id: path.split('/').at(-1) as string,
    kind: 'agent',
    status: 'succeeded',
    output,
    attempts: 1,
    agent: 'writer',
    startedAt: 1_000,
    endedAt: 1_010,
    durationMs: 10,
    ...overrides,
  };
}

export function checkpoint(
  seq: number,
  stages: StageRecord[],
  overrides: Partial<Checkpoint> = {},
): Checkpoint {
  return {
    seq,
    at: 1_000 + seq,
    stages,
    timeline: stages.map((s) => ({
      scope: 'stage' as const,
      path: s.path,
      name: s.kind,
      status: s.status,
      attempt: s.attempts,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      durationMs: s.durationMs,
    })),
    errors: [],
    verdicts: [],
    artefacts: [],
    decisions: [],
    ...overrides,
  };
}

export function audit(runId: string, seq: number, kind: AuditRecord['kind'] = 'retry'): AuditRecord {
  return {
    runId,
    seq,
    at: 2_000 + seq,
    kind,
    path: 'write/draft',
    data: { attempt: seq, delayMs: 10 * seq },
  };
}

export function result(runId: string, status: RunStatus = 'succeeded', macro = 'write'): MacroResult {
  const base = {
    runId,
    macro,
    producedBy: macro,
    labels: { macro },
    startedAt: 1_000,
    endedAt: 1_500,
    durationMs: 500,
    stages: { [`${macro}/draft`]: stage(`${macro}/draft`, { title: 'WAL', body: 'append-only' }) },
    timeline: [],
    qa: { passed: true, verdicts: [] },
    artefacts: [],
    errors: [],
    macros: [{ macro, status }],
    decisions: [],
  };
  if (status === 'succeeded') return { ...base, status, output: { title: 'WAL' } };
  if (status === 'suspended') {
    const error = { name: 'SuspendedError', code: 'SUSPENDED' as const, message: 'waiting' };
    return { ...base, status, error, suspension: { path: `${macro}/draft`, payload: 'ok?', token: 't1' } };
  }
  return { ...base, status, error: { name: 'AgentError', code: 'AGENT_FAILED', message: 'no' } };
}

/** A value whose serialisation throws (as a getter or `toJSON` of an agent's output may). */
const throwing = (what: 'getter' | 'toJSON') =>
  what === 'getter'
    ? Object.defineProperty({}, 'broken', {
        enumerable: true,
        get() {
          throw new Error('getter failed');
        },
      })
    : {
        toJSON() {
          throw new Error('toJSON failed');
        },
      };

/** Checkpoints that `JSON.stringify` rejects, one agent- or user-produced field each. */
const unserialisableCheckpoints: [string, () => Checkpoint][] = [
  ['a BigInt in a stage output', () => checkpoint(1, [stage('write/a', { size: 1n })])],
  [
    'a cycle in an artefact',
    () => {
      const content: { self?: unknown } = {};
      content.self = content;
      return checkpoint(1, [stage('write/a', 1)], {
        artefacts: [{ name: 'doc', mediaType: 'text/plain', content, path: 'write/a' }],
      });
    },
  ],
  [
    'a throwing toJSON in a gate verdict',
    () =>
      checkpoint(1, [stage('write/a', 1)], {
        verdicts: [
          { gate: 'g', path: 'write/a', passed: true, pass: 1, feedback: throwing('toJSON') as never },
        ],
      }),
  ],
  [
    'a throwing getter in a Harmony decision',
    () =>
      checkpoint(1, [stage('write/a', 1)], {
        decisions: [{ id: 'd1', path: 'write/p', output: throwing('getter') } as never],
      }),
  ],
];

export function memoryAdapterContract(
  name: string,
  create: () => MemoryAdapter | Promise<MemoryAdapter>,
): void {
  describe(`${name} satisfies the MemoryAdapter contract`, () => {
    describe('results', () => {
      it('loads a saved result as its JSON round trip', async () => {
        const memory = await create();
        const saved = result('r1');
        await memory.saveResult(saved);
        expect(await memory.loadResult('r1')).toEqual(json(saved));
      });

      it('returns undefined for a result never saved', async () => {
        const memory = await create();
        expect(await memory.loadResult('nope')).toBeUndefined();
      });

      it('replaces a run result saved twice', async () => {
        const memory = await create();
        await memory.saveResult(result('r1', 'failed'));
        await memory.saveResult(result('r1', 'succeeded'));
        expect((await memory.loadResult('r1'))?.status).toBe('succeeded');
        expect(await memory.listRuns()).toHaveLength(1);
      });

      it('rejects a result that is not JSON-serialisable and stores nothing', async () => {
        const memory = await create();
        const bad = { ...result('r1'), output: { size: 1n } } as MacroResult;
        await expect(memory.saveResult(bad)).rejects.toThrow();
        expect(await memory.loadResult('r1')).toBeUndefined();
      });
    });

    describe('runs and checkpoints', () => {
      it('returns undefined for a run never stored', async () => {
        const memory = await create();
        expect(await memory.loadRun('nope')).toBeUndefined();
      });

      it('loads a begun run with its header, no checkpoints and no result', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        expect(await memory.loadRun('r1')).toEqual({ header: json(header('r1')), checkpoints: [] });
      });

      it('loads checkpoints in the order they were saved', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        const first = checkpoint(3, [stage('write/research', { notes: ['a'] })]);
        const second = checkpoint(9, [stage('write/draft', 'text'), stage('write/check', 42)]);
        await memory.saveCheckpoint('r1', first, []);
        await memory.saveCheckpoint('r1', second, []);
        expect((await memory.loadRun('r1'))?.checkpoints).toEqual([json(first), json(second)]);
      });

      it('keeps the checkpoints of different runs apart', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.beginRun(header('r2'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveCheckpoint('r2', checkpoint(1, [stage('write/a', 2)]), []);
        expect((await memory.loadRun('r2'))?.checkpoints.map((c) => c.stages[0]?.output)).toEqual([2]);
      });

      it('restores a stage output of undefined as undefined', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', undefined)]), []);
        const loaded = (await memory.loadRun('r1'))?.checkpoints[0]?.stages[0];
        expect(loaded?.path).toBe('write/a');
        expect(loaded?.output).toBeUndefined();
      });

      it('stores the audit records of a checkpoint with it', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(5, [stage('write/a', 1)]), [
          audit('r1', 2),
          audit('r1', 4),
        ]);
        expect(await memory.readAudit('r1')).toEqual([audit('r1', 2), audit('r1', 4)]);
      });

      it('rejects a checkpoint for a run never begun', async () => {
        const memory = await create();
        await expect(
          memory.saveCheckpoint('ghost', checkpoint(1, [stage('write/a', 1)]), []),
        ).rejects.toThrow();
        expect(await memory.loadRun('ghost')).toBeUndefined();
      });

      it('stores nothing of a checkpoint whose audit records are not JSON-serialisable', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        const bad = { ...audit('r1', 1), data: { big: 1n } };
        await expect(
          memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [bad]),
        ).rejects.toThrow();
        expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
        expect(await memory.readAudit('r1')).toEqual([]);
      });

      it.each(unserialisableCheckpoints)(
        'rejects a checkpoint with %s and stores nothing of it',
        async (_what, make) => {
          const memory = await create();
          await memory.beginRun(header('r1'));
          await expect(memory.saveCheckpoint('r1', make(), [audit('r1', 1)])).rejects.toThrow();
          expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
          expect(await memory.readAudit('r1')).toEqual([]);
        },
      );

      it('still loads a run one of whose checkpoints was rejected, with the others', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        const good = checkpoint(1, [stage('write/a', 'fine')]);
        await memory.saveCheckpoint('r1', good, []);
        const bad = checkpoint(2, [stage('write/b', { size: 1n })]);
        await expect(memory.saveCheckpoint('r1', bad, [])).rejects.toThrow();
        expect(await memory.loadRun('r1')).toEqual({ header: json(header('r1')), checkpoints: [json(good)] });
      });

      it('drops the checkpoints of a run once its result is saved', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1'));
        expect(await memory.loadRun('r1')).toEqual({
          header: json(header('r1')),
          checkpoints: [],
          result: json(result('r1')),
        });
      });

      it('keeps the checkpoints of a suspended run, which resume reads, and lists it as suspended', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1', 'suspended'));
        expect(await memory.loadRun('r1')).toEqual({
          header: json(header('r1')),
          checkpoints: [json(checkpoint(1, [stage('write/a', 1)]))],
          result: json(result('r1', 'suspended')),
        });
        expect((await memory.listRuns({ status: 'suspended' })).map((r) => r.runId)).toEqual(['r1']);
      });

      it('drops the checkpoints of a suspended run once its final result replaces it', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.saveResult(result('r1', 'suspended'));
        await memory.saveResult(result('r1'));
        expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
        expect(await memory.listRuns({ status: 'suspended' })).toEqual([]);
      });

      it('loads a result saved without a begun run', async () => {
        const memory = await create();
        await memory.saveResult(result('r1'));
        expect(await memory.loadRun('r1')).toEqual({ checkpoints: [], result: json(result('r1')) });
      });

      it('rejects a checkpoint for a run only saved as a result, never begun', async () => {
        const memory = await create();
        await memory.saveResult(result('r1'));
        await expect(memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [])).rejects.toThrow();
        expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
      });

      it('drops the checkpoints of a run begun again', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
        await memory.beginRun(header('r1', { startedAt: 3_000 }));
        expect(await memory.loadRun('r1')).toEqual({
          header: json(header('r1', { startedAt: 3_000 })),
          checkpoints: [],
        });
      });

      it('lists a finished run begun again as running, without its result', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveResult(result('r1'));
        await memory.beginRun(header('r1', { startedAt: 3_000 }));
        expect(await memory.loadResult('r1')).toBeUndefined();
        expect(await memory.listRuns()).toEqual([
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
      it('lists a begun run as running, with no end', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        expect(await memory.listRuns()).toEqual([
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

      it('moves updatedAt to the time of the last checkpoint', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(7, [stage('write/a', 1)], { at: 4_242 }), []);
        expect((await memory.listRuns())[0]?.updatedAt).toBe(4_242);
      });

      it('lists a finished run with its status and end', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveResult(result('r1', 'partial'));
        expect(await memory.listRuns()).toEqual([
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

      it('lists the most recently begun run first', async () => {
        const memory = await create();
        for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
        await memory.saveResult(result('r1'));
        expect((await memory.listRuns()).map((r) => r.runId)).toEqual(['r3', 'r2', 'r1']);
      });

      it('filters by status, running included', async () => {
        const memory = await create();
        for (const id of ['r1', 'r2', 'r3']) await memory.beginRun(header(id));
        await memory.saveResult(result('r2', 'failed'));
        expect((await memory.listRuns({ status: 'running' })).map((r) => r.runId)).toEqual(['r3', 'r1']);
        expect((await memory.listRuns({ status: 'failed' })).map((r) => r.runId)).toEqual(['r2']);
      });

      it('filters by macro', async () => {
        const memory = await create();
        await memory.saveResult(result('r1', 'succeeded', 'write'));
        await memory.saveResult(result('r2', 'succeeded', 'review'));
        expect((await memory.listRuns({ macro: 'review' })).map((r) => r.runId)).toEqual(['r2']);
      });

      it('combines the macro and status filters', async () => {
        const memory = await create();
        await memory.saveResult(result('r1', 'failed', 'write'));
        await memory.saveResult(result('r2', 'succeeded', 'write'));
        await memory.saveResult(result('r3', 'failed', 'review'));
        expect((await memory.listRuns({ macro: 'write', status: 'failed' })).map((r) => r.runId)).toEqual([
          'r1',
        ]);
      });

      it('returns at most limit runs', async () => {
        const memory = await create();
        for (const id of ['r1', 'r2', 'r3']) await memory.saveResult(result(id));
        expect((await memory.listRuns({ limit: 2 })).map((r) => r.runId)).toEqual(['r3', 'r2']);
      });
    });

    describe('audit trail', () => {
      it('reads records in the order they were appended, across calls', async () => {
        const memory = await create();
        await memory.appendAudit([audit('r1', 1), audit('r1', 2, 'failure')]);
        await memory.appendAudit([audit('r1', 3, 'fallback')]);
        expect((await memory.readAudit('r1')).map((r) => `${r.kind}:${r.seq}`)).toEqual([
          'retry:1',
          'failure:2',
          'fallback:3',
        ]);
      });

      it('keeps the audit trails of different runs apart', async () => {
        const memory = await create();
        await memory.appendAudit([audit('r1', 1), audit('r2', 2), audit('r1', 3)]);
        expect((await memory.readAudit('r1')).map((r) => r.seq)).toEqual([1, 3]);
      });

      it('returns an empty trail for an unknown run', async () => {
        const memory = await create();
        expect(await memory.readAudit('nope')).toEqual([]);
      });

      it('keeps the audit trail once the result is saved', async () => {
        const memory = await create();
        await memory.beginRun(header('r1'));
        await memory.saveCheckpoint('r1', checkpoint(2, [stage('write/a', 1)]), [audit('r1', 1)]);
        await memory.appendAudit([audit('r1', 5)]);
        await memory.saveResult(result('r1'));
        expect((await memory.readAudit('r1')).map((r) => r.seq)).toEqual([1, 5]);
      });

      it('is not changed by later changes to the appended records', async () => {
        const memory = await create();
        const record = { ...audit('r1', 1), data: { attempt: 1 } };
        await memory.appendAudit([record]);
        (record.data as { attempt: number }).attempt = 99;
        expect((await memory.readAudit('r1'))[0]?.data).toEqual({ attempt: 1 });
      });
    });
  });
}
