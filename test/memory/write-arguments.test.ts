/**
 * What users pass to the built-in adapters' writes (src/memory/write-arguments.ts): the same
 * malformed header, checkpoint, result or audit records over every adapter, each refused
 * with INVALID_OPTIONS and the same message but for its name, storing nothing.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroError, MacroOrchestrator } from '../../src/index.js';
import { audit, checkpoint, header, result, stage } from '../../src/testing.js';
import { revoked } from '../support/index.js';
import {
  type Any,
  boom,
  disposeStores,
  expectSameRefusal,
  refusals,
  stores,
  throwing,
} from './adapter-stores.js';

disposeStores();

/** Every adapter, opened on a fresh store. */
function adapters(): { name: string; memory: Any }[] {
  return stores().map(({ name, open }) => ({ name, memory: open('one') }));
}

/** A copy of `document` without `key`. */
function without(document: object, key: string): object {
  const { [key]: _, ...rest } = document as Record<string, unknown>;
  return rest;
}

const HOSTILE_HEADERS: [string, () => unknown, string][] = [
  ['null', () => null, 'Invalid run header given to <adapter>.beginRun: expected an object, got null'],
  ['an array', () => [header('r1')], 'expected an object, got array'],
  ['a revoked proxy', revoked, 'Cannot read the run header given to <adapter>.beginRun'],
  ['a throwing runId getter', () => throwing('runId', header('r1')), 'Cannot read the run header'],
  [
    'a context that is a revoked proxy',
    () => header('r1', { context: revoked() as never }),
    'Cannot read the run header given to <adapter>.beginRun',
  ],
  [
    'without a runId',
    () => without(header('r1'), 'runId'),
    'Invalid run header given to <adapter>.beginRun: "runId" must be a non-empty string, got undefined',
  ],
  ['a runId of 5', () => header('r1', { runId: 5 as never }), '"runId" must be a non-empty string, got 5'],
  ['an empty runId', () => header(''), '"runId" must be a non-empty string, got ""'],
  ['an empty macro', () => header('r1', { macro: '' }), '"macro" must be a non-empty string'],
  ['a null context', () => header('r1', { context: null as never }), '"context" must be an object, got null'],
  ['a context that is an array', () => header('r1', { context: [] as never }), '"context" must be an object'],
  [
    'a startedAt of NaN',
    () => header('r1', { startedAt: Number.NaN }),
    '"startedAt" must be a finite number (epoch ms), got NaN',
  ],
  ['a startedAt of "1000"', () => header('r1', { startedAt: '1000' as never }), 'got "1000"'],
];

describe('beginRun', () => {
  it.each(HOSTILE_HEADERS)(
    'refuses a header that is %s with the same INVALID_OPTIONS from every adapter, storing nothing',
    async (_, given, says) => {
      const all = adapters();
      expectSameRefusal(await refusals(all, (m) => m.beginRun(given() as never)), says);
      for (const { memory } of all) expect(await memory.listRuns()).toEqual([]);
    },
  );

  it('stores the header the check read: a startedAt getter that answers "x" when read again', async () => {
    for (const { memory } of adapters()) {
      let reads = 0;
      const given = Object.defineProperty(without(header('r1'), 'startedAt'), 'startedAt', {
        enumerable: true,
        get: () => (++reads === 1 ? 1_000 : 'x'),
      });
      await memory.beginRun(given as never);
      expect((await memory.listRuns()).map((r) => r.startedAt)).toEqual([1_000]);
    }
  });

  it('gives the error a throwing getter threw as the cause', async () => {
    for (const { cause } of await refusals(adapters(), (m) =>
      m.beginRun(throwing('macro', { runId: 'r1' }) as never),
    )) {
      expect(cause).toBe(boom);
    }
  });
});

const ok = () => checkpoint(1, [stage('write/a', 1)]);

const HOSTILE_CHECKPOINTS: [string, () => [unknown, unknown, unknown], string][] = [
  [
    'a run id of 5',
    () => [5, ok(), []],
    'Invalid run id given to <adapter>.saveCheckpoint: expected a non-empty string, got 5',
  ],
  ['an empty run id', () => ['', ok(), []], 'expected a non-empty string, got ""'],
  [
    'null',
    () => ['r1', null, []],
    'Invalid checkpoint given to <adapter>.saveCheckpoint: expected an object, got null',
  ],
  [
    'a revoked proxy',
    () => ['r1', revoked(), []],
    'Cannot read the checkpoint given to <adapter>.saveCheckpoint',
  ],
  [
    'a seq of -1',
    () => ['r1', checkpoint(-1, []), []],
    `"seq" must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got -1`,
  ],
  ['a seq of 1.5', () => ['r1', checkpoint(1.5, []), []], '"seq" must be an integer'],
  ['a seq of "1"', () => ['r1', checkpoint('1' as never, []), []], '"seq" must be an integer'],
  [
    'an at of Infinity',
    () => ['r1', checkpoint(1, [], { at: Number.POSITIVE_INFINITY }), []],
    '"at" must be a finite number (epoch ms), got Infinity',
  ],
  ['without stages', () => ['r1', without(ok(), 'stages'), []], '"stages" must be an array, got undefined'],
  ['stages that are an object', () => ['r1', { ...ok(), stages: {} }, []], '"stages" must be an array'],
  [
    'a timeline of null',
    () => ['r1', checkpoint(1, [], { timeline: null as never }), []],
    '"timeline" must be an array (or absent), got null',
  ],
  [
    'decisions that are a string',
    () => ['r1', checkpoint(1, [], { decisions: 'none' as never }), []],
    '"decisions" must be an array (or absent), got "none"',
  ],
  ['errors of 5', () => ['r1', checkpoint(1, [], { errors: 5 as never }), []], '"errors" must be an array'],
  ['verdicts of {}', () => ['r1', checkpoint(1, [], { verdicts: {} as never }), []], '"verdicts" must be an'],
  ['artefacts of "x"', () => ['r1', checkpoint(1, [], { artefacts: 'x' as never }), []], '"artefacts" must'],
  [
    'audit records of null',
    () => ['r1', ok(), null],
    'Invalid audit records given to <adapter>.saveCheckpoint: expected an array, got null',
  ],
  ['audit records that are a revoked proxy', () => ['r1', ok(), revoked()], 'Cannot read the audit records'],
  [
    'an audit record of another kind',
    () => ['r1', ok(), [audit('r1', 1), { ...audit('r1', 2), kind: 'note' }]],
    'Invalid audit record [1] given to <adapter>.saveCheckpoint: "kind" must be one of decision, route, retry, fallback, failure, gate, got "note"',
  ],
  ['an audit record with an empty run id', () => ['r1', ok(), [audit('', 1)]], '"runId" must be a non-empty'],
];

describe('saveCheckpoint', () => {
  it.each(HOSTILE_CHECKPOINTS)(
    'refuses %s with the same INVALID_OPTIONS from every adapter, storing nothing',
    async (_, args, says) => {
      const all = adapters();
      for (const { memory } of all) await memory.beginRun(header('r1'));
      const [runId, given, records] = args();
      const save = (m: Any) => m.saveCheckpoint(runId as never, given as never, records as never);
      expectSameRefusal(await refusals(all, save), says);
      for (const { memory } of all) {
        expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
        expect(await memory.readAudit('r1')).toEqual([]);
      }
    },
  );

  it.each([
    ['inherits its fields', () => Object.create(ok()), '"seq" must be an integer from 0'],
    ['has a toJSON field', () => ({ ...ok(), toJSON: () => ({}) }), 'it has a "toJSON" field'],
    [
      'has a seq getter that answers -1, then 1',
      () => {
        let reads = 0;
        return Object.defineProperty(without(ok(), 'seq'), 'seq', {
          enumerable: true,
          get: () => (++reads === 1 ? -1 : 1),
        });
      },
      'Invalid checkpoint given to <adapter>.saveCheckpoint: its fields read differently each time (a getter)',
    ],
  ] as [string, () => unknown, string][])(
    'refuses a checkpoint that %s with the same INVALID_OPTIONS from every adapter, storing nothing',
    async (_, given, says) => {
      const all = adapters();
      for (const { memory } of all) await memory.beginRun(header('r1'));
      expectSameRefusal(await refusals(all, (m) => m.saveCheckpoint('r1', given() as never, [])), says);
      for (const { memory } of all) expect((await memory.loadRun('r1'))?.checkpoints).toEqual([]);
    },
  );

  it('stores a checkpoint that is a class instance by its own fields, as JSON does, on every adapter', async () => {
    class Taken {
      readonly seq = 1;
      readonly at = 1_001;
      readonly stages: unknown[] = [];
    }
    for (const { memory } of adapters()) {
      await memory.beginRun(header('r1'));
      await memory.saveCheckpoint('r1', new Taken() as never, []);
      expect((await memory.loadRun('r1'))?.checkpoints).toEqual([{ seq: 1, at: 1_001, stages: [] }]);
    }
  });

  it('refuses a checkpoint of a run never begun with PERSISTENCE_FAILED naming the adapter and run', async () => {
    for (const { name, memory } of adapters()) {
      await expect(memory.saveCheckpoint('ghost', ok(), [])).rejects.toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: `${name} saveCheckpoint: run "ghost" was never begun`,
      });
    }
  });

  it('stores a checkpoint and an audit record whose seq is 0, on every adapter', async () => {
    for (const { memory } of adapters()) {
      await memory.beginRun(header('r1'));
      await memory.saveCheckpoint('r1', checkpoint(0, [stage('write/a', 1)]), [audit('r1', 0)]);
      expect((await memory.loadRun('r1'))?.checkpoints.map((c) => c.seq)).toEqual([0]);
      expect((await memory.readAudit('r1')).map((a) => a.seq)).toEqual([0]);
    }
  });

  it('stores a checkpoint without the lists an earlier version did not write, on every adapter', async () => {
    const earlier = { seq: 1, at: 1_001, stages: [stage('write/a', 1)] };
    for (const { memory } of adapters()) {
      await memory.beginRun(header('r1'));
      await memory.saveCheckpoint('r1', earlier as never, []);
      expect((await memory.loadRun('r1'))?.checkpoints).toEqual([earlier]);
    }
  });
});

const HOSTILE_RESULTS: [string, () => unknown, string][] = [
  ['null', () => null, 'Invalid result given to <adapter>.saveResult: expected an object, got null'],
  ['a revoked proxy', revoked, 'Cannot read the result given to <adapter>.saveResult'],
  [
    'one whose stages are a revoked proxy',
    () => ({ ...result('r1'), stages: revoked() }),
    'Cannot read the result given to <adapter>.saveResult',
  ],
  ['an empty runId', () => result(''), '"runId" must be a non-empty string, got ""'],
  ['without a macro', () => without(result('r1'), 'macro'), '"macro" must be a non-empty string'],
  [
    'a startedAt of null',
    () => ({ ...result('r1'), startedAt: null }),
    '"startedAt" must be a finite number',
  ],
  [
    'artefacts of null',
    () => ({ ...result('r1'), artefacts: null }),
    '"artefacts" must be an array, got null',
  ],
  ['errors of {}', () => ({ ...result('r1'), errors: {} }), '"errors" must be an array, got object'],
  ['decisions of 1', () => ({ ...result('r1'), decisions: 1 }), '"decisions" must be an array, got 1'],
  [
    'without a producedBy',
    () => without(result('r1'), 'producedBy'),
    '"producedBy" must be a non-empty string',
  ],
  [
    'running',
    () => ({ ...result('r1'), status: 'running' }),
    '"status" must be one of succeeded, partial, failed, cancelled, suspended, got "running"',
  ],
  ['of status "__proto__"', () => ({ ...result('r1'), status: '__proto__' }), 'got "__proto__"'],
  [
    'an endedAt of NaN',
    () => ({ ...result('r1'), endedAt: Number.NaN }),
    '"endedAt" must be a finite number',
  ],
  ['a durationMs of "500"', () => ({ ...result('r1'), durationMs: '500' }), '"durationMs" must be a finite'],
  [
    'stages that are an array',
    () => ({ ...result('r1'), stages: [] }),
    '"stages" must be an object keyed by',
  ],
  ['labels of null', () => ({ ...result('r1'), labels: null }), '"labels" must be an object, got null'],
  ['without qa', () => without(result('r1'), 'qa'), '"qa" must be an object, got undefined'],
  ['a timeline that is an object', () => ({ ...result('r1'), timeline: {} }), '"timeline" must be an array'],
  ['without macros', () => without(result('r1'), 'macros'), '"macros" must be an array, got undefined'],
  [
    'failed without an error',
    () => without(result('r1', 'failed'), 'error'),
    '"error" must be an error record (the result did not succeed), got undefined',
  ],
  [
    'suspended with a suspension of null',
    () => ({ ...result('r1', 'suspended'), suspension: null }),
    '"suspension" must be absent, or an object with a string path and token (the result is suspended), got null',
  ],
  [
    'of a status whose toString says "succeeded"',
    () => ({ ...result('r1'), status: { toString: () => 'succeeded' } }),
    '"status" must be one of succeeded, partial, failed, cancelled, suspended, got object',
  ],
  [
    'suspended at a suspension whose path is 5',
    () => ({ ...result('r1', 'suspended'), suspension: { path: 5, payload: 1, token: 't1' } }),
    '"suspension" must be absent, or an object with a string path and token',
  ],
  [
    'suspended at a suspension without a token',
    () => ({ ...result('r1', 'suspended'), suspension: { path: 'write/draft', payload: 1 } }),
    '"suspension" must be absent, or an object with a string path and token',
  ],
  [
    'an object with a toJSON field',
    () => ({ ...result('r1'), toJSON: () => ({}) }),
    'it has a "toJSON" field, which JSON would store instead of it',
  ],
];

describe('saveResult', () => {
  it.each(HOSTILE_RESULTS)(
    'refuses a result that is %s with the same INVALID_OPTIONS from every adapter, storing nothing',
    async (_, given, says) => {
      const all = adapters();
      for (const { memory } of all) await memory.beginRun(header('r1'));
      expectSameRefusal(await refusals(all, (m) => m.saveResult(given() as never)), says);
      for (const { memory } of all) {
        expect(await memory.loadResult('r1')).toBeUndefined();
        expect((await memory.listRuns()).map((r) => r.status)).toEqual(['running']);
      }
    },
  );

  it.each(['partial', 'cancelled'] as const)(
    'stores a %s result with its error and no output, on every adapter',
    async (status) => {
      for (const { memory } of adapters()) {
        await memory.beginRun(header('r1'));
        await memory.saveResult(result('r1', status));
        expect(await memory.loadResult('r1')).toEqual(result('r1', status));
      }
    },
  );

  it('stores a suspended result without a suspension, as earlier versions wrote', async () => {
    const bare = without(result('r1', 'suspended'), 'suspension');
    for (const { memory } of adapters()) {
      await memory.beginRun(header('r1'));
      await memory.saveResult(bare as never);
      expect(await memory.loadResult('r1')).toEqual(bare);
    }
  });

  it('stores the values the check read: a status getter read again would throw', async () => {
    for (const { memory } of adapters()) {
      let reads = 0;
      const given = Object.defineProperty(without(result('r1'), 'status'), 'status', {
        enumerable: true,
        get() {
          reads++;
          if (reads > 1) throw boom;
          return 'succeeded';
        },
      });
      await memory.saveResult(given as never);
      expect(reads).toBe(1);
      expect((await memory.loadResult('r1'))?.status).toBe('succeeded');
    }
  });
});

describe('what the engine writes', () => {
  it('stores the failed result of a run whose stage threw a SUSPENDED error of its own, on every adapter', async () => {
    const agent = defineAgent({
      id: 'asker',
      invoke: () => {
        throw new MacroError('SUSPENDED', 'waiting for a person');
      },
    });
    const macro = defineMacro({ name: 'ask', description: 'one stage', stages: [agentStage('s', 'asker')] });
    for (const { name, memory } of adapters()) {
      const orchestrator = new MacroOrchestrator({ agents: [agent], macros: [macro], memory });
      const ran = await orchestrator.run('ask', { intent: 'ask' }, { runId: `r-${name}` });
      expect(ran).toMatchObject({ status: 'failed', error: { code: 'SUSPENDED' } });
      expect(ran.persistence).toBeUndefined();
      expect((await memory.listRuns()).map((r) => r.status)).toEqual(['failed']);
    }
  });
});

describe('appendAudit', () => {
  it('refuses a record whose field reads differently each time, and stores neither it nor a malformed one after it', async () => {
    const all = adapters();
    const flaky = () => {
      let reads = 0;
      return Object.defineProperty(without(audit('r1', 1), 'at'), 'at', {
        enumerable: true,
        get: () => (++reads === 1 ? 'x' : 2_001),
      });
    };
    const malformed = { ...audit('r1', 2), kind: 'note', seq: -1, data: null };
    for (const { memory } of all) await memory.beginRun(header('r1'));
    const says =
      'Invalid audit record [0] given to <adapter>.appendAudit: its fields read differently each time';
    expectSameRefusal(await refusals(all, (m) => m.appendAudit([flaky(), malformed] as never)), says);
    for (const { memory } of all) expect(await memory.readAudit('r1')).toEqual([]);
  });

  it.each([
    ['null', () => null, 'Invalid audit records given to <adapter>.appendAudit: expected an array, got null'],
    [
      'a list with a record whose seq is -1',
      () => [audit('r1', 1), { ...audit('r1', 2), seq: -1 }],
      'Invalid audit record [1] given to <adapter>.appendAudit: "seq" must be an integer from 0',
    ],
    [
      'a list with a record whose kind\'s toString says "retry"',
      () => [{ ...audit('r1', 1), kind: { toString: () => 'retry' } }],
      '"kind" must be one of decision, route, retry, fallback, failure, gate, got object',
    ],
    ['a list with a record whose at is "x"', () => [{ ...audit('r1', 1), at: 'x' }], '"at" must be a finite'],
    [
      'a list with a record of null data',
      () => [{ ...audit('r1', 1), data: null }],
      '"data" must be an object',
    ],
    [
      'a list with a record whose path is 5',
      () => [{ ...audit('r1', 1), path: 5 }],
      '"path" must be a string',
    ],
  ] as [string, () => unknown, string][])(
    'refuses audit records that are %s with the same INVALID_OPTIONS from every adapter, storing none',
    async (_, given, says) => {
      const all = adapters();
      for (const { memory } of all) await memory.beginRun(header('r1'));
      expectSameRefusal(await refusals(all, (m) => m.appendAudit(given() as never)), says);
      for (const { memory } of all) expect(await memory.readAudit('r1')).toEqual([]);
    },
  );
});
