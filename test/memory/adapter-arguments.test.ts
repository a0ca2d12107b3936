/**
 * The arguments users pass to the built-in adapters' own methods (src/memory/call-arguments.ts),
 * the same hostile inputs over every adapter: each refuses them with INVALID_OPTIONS and the
 * same message but for its name, before any query, claiming and deleting nothing.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryMemory } from '../../src/index.js';
import { PostgresMemory } from '../../src/postgres.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { header, result } from '../../src/testing.js';
import { revoked } from '../support/index.js';
import {
  type Any,
  boom,
  disposeStores,
  expectSameRefusal,
  kept,
  type Leasing,
  refusals,
  stores,
  throwing,
} from './adapter-stores.js';

disposeStores();

describe('constructor options', () => {
  it.each([
    ['InMemoryMemory', 'maxRuns', (o: object) => new InMemoryMemory(o as never)],
    ['SqliteMemory', 'path', (o: object) => new SqliteMemory(o as never)],
    ['SqliteMemory', 'owner', (o: object) => new SqliteMemory(o as never)],
    ['PostgresMemory', 'schema', (o: object) => new PostgresMemory(o as never)],
    ['PostgresMemory', 'leaseMs', (o: object) => new PostgresMemory(o as never)],
  ])(
    '%s refuses options whose %s getter throws with INVALID_OPTIONS, its error the cause',
    (name, key, make) => {
      let caught: unknown;
      try {
        kept(make(throwing(key)) as Any);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({
        code: 'INVALID_OPTIONS',
        message: `Cannot read ${name} options: getter boom`,
        cause: boom,
      });
    },
  );
});

const LIMITS = 'expected an integer from 0 to 9007199254740991';

const HOSTILE_LIST_OPTIONS: [string, () => unknown, string][] = [
  ['null', () => null, 'Expected <adapter>.listRuns options to be an object, got null'],
  ['a string', () => 'write', 'to be an object, got string'],
  ['a revoked proxy', revoked, 'Cannot read the keys of <adapter>.listRuns options'],
  ['a throwing getter', () => throwing('limit'), 'Cannot read <adapter>.listRuns options'],
  ['an unknown key', () => ({ limt: 2 }), 'Unknown option "limt" in <adapter>.listRuns options'],
  ['limit NaN', () => ({ limit: Number.NaN }), `"limit" in <adapter>.listRuns options: ${LIMITS}, got NaN`],
  ['limit -1', () => ({ limit: -1 }), `${LIMITS}, got -1`],
  ['limit 1.5', () => ({ limit: 1.5 }), `${LIMITS}, got 1.5`],
  ['limit Infinity', () => ({ limit: Number.POSITIVE_INFINITY }), `${LIMITS}, got Infinity`],
  ['limit 2^53', () => ({ limit: 2 ** 53 }), `${LIMITS}, got 9007199254740992`],
  ['limit "2"', () => ({ limit: '2' }), `${LIMITS}, got "2"`],
  ['status "bogus"', () => ({ status: 'bogus' }), 'Invalid option "status"'],
  ['status "__proto__"', () => ({ status: '__proto__' }), 'got "__proto__"'],
  ['status 5', () => ({ status: 5 }), 'Invalid option "status"'],
  [
    "status ['running']",
    () => ({ status: ['running'] }),
    'Invalid option "status" in <adapter>.listRuns options: expected one of running, succeeded, partial, failed, cancelled, suspended, got array',
  ],
  [
    'macro 5',
    () => ({ macro: 5 }),
    'Invalid option "macro" in <adapter>.listRuns options: expected a string',
  ],
  ['macro {}', () => ({ macro: {} }), 'expected a string, got object'],
];

describe('listRuns', () => {
  it.each(HOSTILE_LIST_OPTIONS)(
    'refuses options that are %s with the same INVALID_OPTIONS from every adapter',
    async (_, options, says) => {
      const adapters = stores().map(({ name, open }) => ({ name, memory: open('one') }));
      for (const { memory } of adapters) await memory.saveResult(result('done'));
      expectSameRefusal(await refusals(adapters, (m) => m.listRuns(options() as never)), says);
    },
  );

  it('gives the error a throwing getter threw as the cause', async () => {
    const adapters = stores().map(({ name, open }) => ({ name, memory: open('one') }));
    for (const { cause } of await refusals(adapters, (m) => m.listRuns(throwing('status') as never))) {
      expect(cause).toBe(boom);
    }
  });

  it('lists every run with a limit of 2^53 - 1 and none with a limit of 0, on every adapter', async () => {
    for (const { open } of stores()) {
      const memory = open('one');
      await memory.saveResult(result('done'));
      expect((await memory.listRuns({ limit: Number.MAX_SAFE_INTEGER })).map((r) => r.runId)).toEqual([
        'done',
      ]);
      expect(await memory.listRuns({ limit: 0 })).toEqual([]);
    }
  });
});

/** The adapters with leases, each with a `running` run `r1` whose lease is free (its owner closed). */
async function withStaleRun(): Promise<{ name: string; memory: Leasing }[]> {
  const out = [];
  for (const store of stores().filter((s) => s.name !== 'InMemoryMemory')) {
    const first = store.open('first') as Leasing;
    await first.beginRun(header('r1'));
    await first.close();
    out.push({ name: store.name, memory: store.open('second') as Leasing });
  }
  return out;
}

const HOSTILE_CLAIM_OPTIONS: [string, () => unknown, string][] = [
  ['undefined', () => undefined, 'Expected <adapter>.claimStale options to be an object, got undefined'],
  ['null', () => null, 'to be an object, got null'],
  ['a revoked proxy', revoked, 'Cannot read the keys of <adapter>.claimStale options'],
  ['a throwing getter', () => throwing('limit', { macros: ['write'] }), 'Cannot read <adapter>.claimStale'],
  ['an unknown key', () => ({ limit: 5, macros: ['write'], olderThan: 1 }), 'Unknown option "olderThan"'],
  [
    'limit NaN',
    () => ({ limit: Number.NaN, macros: ['write'] }),
    `Invalid option "limit" in <adapter>.claimStale options: ${LIMITS}, got NaN`,
  ],
  ['limit -1', () => ({ limit: -1, macros: ['write'] }), `${LIMITS}, got -1`],
  ['limit 1.5', () => ({ limit: 1.5, macros: ['write'] }), `${LIMITS}, got 1.5`],
  [
    'limit Infinity',
    () => ({ limit: Number.POSITIVE_INFINITY, macros: ['write'] }),
    `${LIMITS}, got Infinity`,
  ],
  ['without a limit', () => ({ macros: ['write'] }), `${LIMITS}, got undefined`],
  ['macros "write"', () => ({ limit: 5, macros: 'write' }), 'expected an array of strings, got "write"'],
  ['macros [1]', () => ({ limit: 5, macros: [1] }), 'expected an array of strings, got 1 at index 0'],
  ['macros a revoked proxy', () => ({ limit: 5, macros: revoked() }), 'Cannot read option "macros"'],
  ["macros ['write', 1, 2]", () => ({ limit: 5, macros: ['write', 1, 2] }), 'got 1 at index 1'],
  [
    'updatedBefore a long string',
    () => ({ limit: 5, macros: ['write'], updatedBefore: 'x'.repeat(100) }),
    `got "${'x'.repeat(80)}…"`,
  ],
  ['without macros', () => ({ limit: 5 }), 'Invalid option "macros"'],
  [
    'updatedBefore NaN',
    () => ({ limit: 5, macros: ['write'], updatedBefore: Number.NaN }),
    '"updatedBefore" in <adapter>.claimStale options: expected a finite number (epoch ms), got NaN',
  ],
  ['updatedBefore "x"', () => ({ limit: 5, macros: ['write'], updatedBefore: 'x' }), 'got "x"'],
  [
    'updatedBefore Infinity',
    () => ({ limit: 5, macros: ['write'], updatedBefore: Number.POSITIVE_INFINITY }),
    'expected a finite number (epoch ms), got Infinity',
  ],
];

describe('claimStale', () => {
  it.each(HOSTILE_CLAIM_OPTIONS)(
    'refuses options that are %s with the same INVALID_OPTIONS from every adapter, claiming nothing',
    async (_, options, says) => {
      const adapters = await withStaleRun();
      expectSameRefusal(await refusals(adapters, (m) => m.claimStale?.(options() as never)), says);
      for (const { memory } of adapters) {
        const claimed = await memory.claimStale({ limit: 10, macros: ['write'] });
        expect(claimed.map((r) => r.runId)).toEqual(['r1']);
      }
    },
  );
});

describe('a refusal', () => {
  it('ends with the value refused, and gives the error reading macros threw as its cause', async () => {
    const adapters = await withStaleRun();
    for (const { message } of await refusals(adapters, (m) =>
      m.claimStale?.({ limit: Number.NaN, macros: [] }),
    )) {
      expect(message).toMatch(/: expected an integer from 0 to 9007199254740991, got NaN$/);
    }
    const unreadable = { limit: 5, macros: revoked() };
    for (const { cause } of await refusals(adapters, (m) => m.claimStale?.(unreadable as never))) {
      expect(cause).toBeInstanceOf(TypeError);
    }
  });
});

describe('prune', () => {
  it.each([
    ['a revoked proxy', revoked, 'Cannot read the keys of <adapter>.prune options'],
    ['a throwing getter', () => throwing('endedBefore'), 'Cannot read <adapter>.prune options'],
    ['null', () => null, 'Expected <adapter>.prune options to be an object, got null'],
  ] as [string, () => unknown, string][])(
    'refuses options that are %s with the same INVALID_OPTIONS from every adapter, deleting nothing',
    async (_, options, says) => {
      const adapters = stores().map(({ name, open }) => ({ name, memory: open('one') }));
      for (const { memory } of adapters) await memory.saveResult(result('done'));
      expectSameRefusal(await refusals(adapters, (m) => m.prune?.(options() as never)), says);
      for (const { memory } of adapters) expect(await memory.loadResult('done')).toBeDefined();
    },
  );
});

/** Every adapter with run `5` finished and run `r1` running, its lease free (its owner closed). */
async function withRuns(): Promise<{ name: string; memory: Any }[]> {
  const out = [];
  for (const store of stores()) {
    const first = store.open('first');
    await first.beginRun(header('r1'));
    await first.saveResult(result('5'));
    if (store.name !== 'InMemoryMemory') await (first as Leasing).close();
    out.push({ name: store.name, memory: store.name === 'InMemoryMemory' ? first : store.open('second') });
  }
  return out;
}

const HOSTILE_RUN_IDS: [string, () => unknown, string][] = [
  ['5', () => 5, 'got 5'],
  ['undefined', () => undefined, 'got undefined'],
  ['null', () => null, 'got null'],
  ['""', () => '', 'got ""'],
  ['{}', () => ({}), 'got object'],
  ['["r1"]', () => ['r1'], 'got array'],
  ['a revoked proxy', revoked, 'got revoked proxy'],
];
const RUN_METHODS = ['loadRun', 'loadResult', 'readAudit', 'deleteRun', 'claimRun'] as const;

describe('run ids', () => {
  describe.each(RUN_METHODS)('%s', (method) => {
    it.each(HOSTILE_RUN_IDS)(
      'refuses %s as the run id with the same INVALID_OPTIONS from every adapter, changing nothing',
      async (_, runId, says) => {
        const adapters = await withRuns();
        const call = (m: Any) =>
          (m as unknown as Record<string, ((id: unknown) => Promise<unknown>) | undefined>)[method]?.call(
            m,
            runId(),
          );
        expectSameRefusal(
          await refusals(adapters, call),
          `Invalid run id given to <adapter>.${method}: expected a non-empty string, ${says}`,
        );
        for (const { name, memory } of adapters) {
          expect(await memory.loadResult('5')).toBeDefined();
          expect((await memory.loadRun('r1'))?.header).toBeDefined();
          if (name !== 'InMemoryMemory') {
            const claimed = await (memory as Leasing).claimStale({ limit: 10, macros: ['write'] });
            expect(claimed.map((r) => r.runId)).toEqual(['r1']);
          }
        }
      },
    );
  });
});
