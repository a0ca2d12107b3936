/**
 * How `memoryAdapterContract` (macro-orchestrator/testing) registers its tests with a runner,
 * cleans up after each, and fails a broken adapter; and the `toEqual`-like equality it checks
 * with. The suite itself runs against the built-in adapters in in-memory.test.ts and
 * sqlite.test.ts, and under node:test in test/testing-entry.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryMemory, type MacroResult, type MemoryAdapter } from '../../src/index.js';
import { assertEqual } from '../../src/testing/assert-equal.js';
import { memoryAdapterContract } from '../../src/testing.js';

interface Registered {
  readonly name: string;
  readonly fn: () => void | Promise<void>;
}

/** The suite's tests as a runner sees them (groups and name joined by ' > '), not yet run. */
function register(create: () => InMemoryMemory, dispose?: (memory: InMemoryMemory) => unknown): Registered[] {
  const tests: Registered[] = [];
  const groups: string[] = [];
  memoryAdapterContract('M', create, {
    describe: (name, fn) => {
      groups.push(name);
      void fn();
      groups.pop();
    },
    it: (name, fn) => tests.push({ name: [...groups, name].join(' > '), fn }),
    ...(dispose && { dispose }),
  });
  return tests;
}

/** Runs the tests one after another; the names of those that failed. */
async function failures(tests: readonly Registered[]): Promise<string[]> {
  const failed: string[] = [];
  for (const test of tests) {
    await Promise.resolve(test.fn()).catch(() => failed.push(test.name));
  }
  return failed;
}

/** An adapter that forgets every result it saves. */
class ForgetfulMemory extends InMemoryMemory {
  override async loadResult(): Promise<MacroResult | undefined> {
    return undefined;
  }
}

describe('memoryAdapterContract', () => {
  it('registers every test in one group named after the adapter', () => {
    const names = register(() => new InMemoryMemory()).map((test) => test.name);
    expect(names.length).toBeGreaterThan(30);
    expect(names.every((name) => name.startsWith('M satisfies the MemoryAdapter contract > '))).toBe(true);
  });

  it('passes every test against InMemoryMemory', async () => {
    expect(await failures(register(() => new InMemoryMemory()))).toEqual([]);
  });

  it('fails the tests that load a result against an adapter whose loadResult returns undefined', async () => {
    const failed = await failures(register(() => new ForgetfulMemory()));
    expect(failed).toContain(
      'M satisfies the MemoryAdapter contract > results > loads a saved result as its JSON round trip',
    );
    expect(failed).toContain(
      'M satisfies the MemoryAdapter contract > results > replaces a run result saved twice',
    );
  });

  it('disposes of the adapter each test made, once, after the test', async () => {
    const made: MemoryAdapter[] = [];
    const disposed: { memory: MemoryAdapter; finished: number }[] = [];
    const tests = register(
      () => {
        const memory = new InMemoryMemory();
        made.push(memory);
        return memory;
      },
      (memory) => disposed.push({ memory, finished: memory.size.finished }),
    );
    await failures(tests);
    expect(disposed.map((d) => d.memory)).toEqual(made);
    expect(made).toHaveLength(tests.length);
    // The first test saves a result before it ends: its adapter was disposed of after that.
    expect(disposed[0]?.finished).toBe(1);
  });

  it('disposes of the adapter of a test that fails, and the test still fails', async () => {
    let disposals = 0;
    const tests = register(
      () => new ForgetfulMemory(),
      () => disposals++,
    );
    expect(await failures(tests)).not.toEqual([]);
    expect(disposals).toBe(tests.length);
  });

  it('ends a test only once its asynchronous dispose has settled', async () => {
    let settled = false;
    const [first] = register(
      () => new InMemoryMemory(),
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            settled = true;
            resolve();
          }),
        ),
    );
    await first?.fn();
    expect(settled).toBe(true);
  });
});

describe('equality in the contract suite', () => {
  it('treats a property whose value is undefined as absent, as toEqual does', () => {
    expect(() => assertEqual({ header: 'h', result: undefined }, { header: 'h' })).not.toThrow();
  });

  it('fails on a value that differs', () => {
    expect(() => assertEqual({ runs: [{ seq: 1 }] }, { runs: [{ seq: 2 }] })).toThrow();
  });

  it('fails on a property the expected value does not have', () => {
    expect(() => assertEqual({ seq: 1, extra: null }, { seq: 1 })).toThrow();
  });

  it('compares an object without prototype by its keys', () => {
    expect(() => assertEqual(Object.assign(Object.create(null), { a: 1 }), { a: 1 })).not.toThrow();
  });

  it('keeps a __proto__ key of a parsed object as a key', () => {
    expect(() => assertEqual(JSON.parse('{"__proto__": {"a": 1}}'), {})).toThrow();
  });

  it('keeps undefined elements of an array', () => {
    expect(() => assertEqual([undefined], [])).toThrow();
  });
});
