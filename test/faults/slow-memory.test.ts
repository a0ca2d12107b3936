/**
 * Memory adapters that hang, are slow, fail now and then, or hold corrupt data. Each
 * test measures settle time on the real clock against the budget it should keep,
 * with generous but bounded graces (the default persistence timeout is 30 s: a test
 * that waits for it fails by its own 5 s timeout).
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type Checkpoint,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type MemoryAdapter,
  type OrchestratorOptions,
  sequence,
} from '../../src/index.js';
import { delay, okAgent, pairingProblems, recordEvents, scriptedAgent } from '../support/index.js';

const TEST_TIMEOUT = 5_000;
/** How long past its budget a run may take to settle on a busy machine. */
const GRACE_MS = 250;

type Method = keyof MemoryAdapter;

/** An in-memory adapter whose `methods` never settle, and `calls` of each method counted. */
function hangingMemory(...methods: Method[]): MemoryAdapter {
  const target = new InMemoryMemory();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      if (methods.includes(property as Method)) return () => new Promise(() => {});
      return value.bind(object);
    },
  });
}

/** An in-memory adapter whose every call takes `ms`. */
function slowMemory(ms: number): MemoryAdapter {
  const target = new InMemoryMemory();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await delay(ms);
        return value.apply(object, args);
      };
    },
  });
}

const line = defineMacro({
  name: 'line',
  description: 'two stages',
  stages: [agentStage('a', 'worker'), agentStage('b', 'worker')],
});

function orchestrator(memory: MemoryAdapter, options: OrchestratorOptions = {}) {
  return new MacroOrchestrator({ agents: [okAgent('worker')], macros: [line], memory, ...options });
}

/** Milliseconds `promise` takes to settle (it must resolve). */
async function timed<T>(promise: PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

describe('a memory adapter whose beginRun hangs', () => {
  it(
    'lets a cancelled run settle at once',
    async () => {
      const run = orchestrator(hangingMemory('beginRun')).run('line', { intent: 'x' });
      await delay(20);
      run.cancel('stop');
      const { value, ms } = await timed(run);
      expect(value.status).toBe('cancelled');
      expect(ms).toBeLessThan(GRACE_MS);
    },
    TEST_TIMEOUT,
  );

  it(
    'lets a run with a time budget settle partial at the budget',
    async () => {
      const { value, ms } = await timed(
        orchestrator(hangingMemory('beginRun')).run('line', { intent: 'x' }, { timeoutMs: 200 }),
      );
      expect(value).toMatchObject({ status: 'partial', error: { code: 'RUN_TIMEOUT' } });
      expect(ms).toBeGreaterThanOrEqual(195);
      expect(ms).toBeLessThan(200 + GRACE_MS);
    },
    TEST_TIMEOUT,
  );
});

describe('a memory adapter whose final writes hang', () => {
  it(
    'lets a run cancelled during them settle at once, saying the result is not confirmed stored',
    async () => {
      const run = orchestrator(hangingMemory('saveResult', 'appendAudit')).run('line', { intent: 'x' });
      const ended = new Promise<void>((resolve) => run.on('macro:end', () => resolve()));
      await ended;
      await delay(20);
      run.cancel('shutting down');
      const { value, ms } = await timed(run);
      expect(ms).toBeLessThan(GRACE_MS);
      expect(value.status).toBe('succeeded');
      expect(value.persistence?.error).toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: expect.stringContaining('did not finish before the run ended'),
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'lets a run with a time budget settle at the budget',
    async () => {
      const { ms } = await timed(
        orchestrator(hangingMemory('saveResult')).run('line', { intent: 'x' }, { timeoutMs: 200 }),
      );
      expect(ms).toBeLessThan(200 + GRACE_MS);
    },
    TEST_TIMEOUT,
  );
});

describe("a memory adapter whose checkpoints hang under 'sync' durability", () => {
  it(
    'lets a cancelled run settle at once',
    async () => {
      const run = orchestrator(hangingMemory('saveCheckpoint'), { durability: 'sync' }).run('line', {
        intent: 'x',
      });
      await delay(20);
      run.cancel('stop');
      const { value, ms } = await timed(run);
      expect(value.status).toBe('cancelled');
      expect(ms).toBeLessThan(GRACE_MS);
    },
    TEST_TIMEOUT,
  );
});

describe('a slow memory adapter', () => {
  it(
    'slows a run down but stores everything',
    async () => {
      const memory = slowMemory(30);
      const result = await orchestrator(memory, { durability: 'sync' }).run('line', { intent: 'x' });
      expect(result.persistence).toBeUndefined();
      expect((await memory.loadResult(result.runId))?.status).toBe('succeeded');
    },
    TEST_TIMEOUT,
  );
});

describe("a slow memory adapter under 'sync' durability, cancelled from a stage:end listener", () => {
  it('ends every stage before the macro, and emits nothing after run:end', async () => {
    const deep = defineMacro({
      name: 'deep',
      description: 'three nested sequences',
      stages: [sequence('s1', [sequence('s2', [sequence('s3', [agentStage('a', 'worker')])])])],
    });
    const memory = slowMemory(5);
    const o = new MacroOrchestrator({
      agents: [okAgent('worker')],
      macros: [deep],
      memory,
      durability: 'sync',
    });
    const run = o.run('deep', { intent: 'x' });
    const events = recordEvents(run);
    run.on('stage:end', (e) => {
      if (e.path === 'deep/s1/s2/s3/a') run.cancel('stop');
    });
    const result = await run;
    await delay(50);
    expect(pairingProblems(events)).toEqual([]);
    expect(events.at(-1)?.type).toBe('run:end');
    expect(result.status).toBe('cancelled');
  });
});

describe('a memory adapter whose beginRun outlasts a run’s budget', () => {
  it('cannot overwrite the saved result when it lands late', async () => {
    const target = new InMemoryMemory();
    const memory = new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (property === 'beginRun')
          return (...args: unknown[]) => delay(30).then(() => value.apply(object, args));
        return value.bind(object);
      },
    });
    const run = orchestrator(memory).run('line', { intent: 'x' }, { timeoutMs: 5 });
    const result = await run;
    await delay(80);
    expect((await target.listRuns()).map((r) => r.status)).toEqual([result.status]);
    expect((await target.loadResult(result.runId))?.status).toBe(result.status);
  });
});

describe('the default memory and an output JSON cannot store', () => {
  it('lets the run settle at its budget, without retrying the write in vain', async () => {
    const big = new MacroOrchestrator({ agents: [okAgent('worker', { n: 1n })], macros: [line] });
    const { ms } = await timed(big.run('line', { intent: 'x' }, { timeoutMs: 50 }));
    expect(ms).toBeLessThan(50 + GRACE_MS);
  });
});

describe('an intermittently failing memory adapter', () => {
  it(
    'has its failed writes retried until they succeed',
    async () => {
      const target = new InMemoryMemory();
      let calls = 0;
      const memory = new Proxy(target, {
        get(object, property) {
          const value = Reflect.get(object, property, object);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls += 1;
            if (calls % 2 === 1 && !String(property).startsWith('load')) {
              return Promise.reject(new TypeError('socket hang up'));
            }
            return value.apply(object, args);
          };
        },
      });
      const result = await orchestrator(memory, {
        durability: 'sync',
        persistenceRetry: { retries: 3, minDelayMs: 1, jitter: false },
      }).run('line', { intent: 'x' });
      expect(result.persistence).toBeUndefined();
      expect((await target.loadResult(result.runId))?.status).toBe('succeeded');
    },
    TEST_TIMEOUT,
  );
});

describe('resume() over a memory adapter whose loadRun hangs', () => {
  it(
    'rejects with RUN_TIMEOUT at the budget',
    async () => {
      const run = orchestrator(hangingMemory('loadRun')).resume('some-run', { timeoutMs: 200 });
      const started = performance.now();
      await expect(run).rejects.toMatchObject({ code: 'RUN_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(200 + GRACE_MS);
    },
    TEST_TIMEOUT,
  );

  it(
    'rejects with CANCELLED as soon as it is cancelled',
    async () => {
      const run = orchestrator(hangingMemory('loadRun')).resume('some-run');
      await delay(20);
      run.cancel('stop');
      const started = performance.now();
      await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(performance.now() - started).toBeLessThan(GRACE_MS);
    },
    TEST_TIMEOUT,
  );

  it(
    'rejects with PERSISTENCE_FAILED after persistenceTimeoutMs',
    async () => {
      const run = orchestrator(hangingMemory('loadRun'), { persistenceTimeoutMs: 100 }).resume('some-run');
      await expect(run).rejects.toMatchObject({ code: 'PERSISTENCE_FAILED' });
    },
    TEST_TIMEOUT,
  );
  it(
    'names the run id in its RUN_TIMEOUT error, its macro not being known yet',
    async () => {
      const run = orchestrator(hangingMemory('loadRun')).resume('some-run', { timeoutMs: 20 });
      await expect(run).rejects.toMatchObject({
        code: 'RUN_TIMEOUT',
        path: 'some-run',
        message: 'Run some-run timed out after 20 ms',
      });
    },
    TEST_TIMEOUT,
  );
});

describe('resumeIncomplete() over a memory adapter whose listRuns hangs', () => {
  it(
    'rejects with CANCELLED as soon as its signal aborts',
    async () => {
      const controller = new AbortController();
      const listing = orchestrator(hangingMemory('listRuns')).resumeIncomplete({ signal: controller.signal });
      await delay(20);
      controller.abort('stop');
      const started = performance.now();
      await expect(listing).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(performance.now() - started).toBeLessThan(GRACE_MS);
    },
    TEST_TIMEOUT,
  );

  it(
    'rejects with RUN_TIMEOUT at its budget',
    async () => {
      const started = performance.now();
      await expect(
        orchestrator(hangingMemory('listRuns')).resumeIncomplete({ timeoutMs: 200 }),
      ).rejects.toMatchObject({ code: 'RUN_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(200 + GRACE_MS);
    },
    TEST_TIMEOUT,
  );
  it(
    'names resumeIncomplete in its RUN_TIMEOUT error',
    async () => {
      await expect(
        orchestrator(hangingMemory('listRuns')).resumeIncomplete({ timeoutMs: 20 }),
      ).rejects.toMatchObject({ code: 'RUN_TIMEOUT', path: 'resumeIncomplete' });
    },
    TEST_TIMEOUT,
  );

  it(
    'names resumeIncomplete in its CANCELLED error',
    async () => {
      const listing = orchestrator(hangingMemory('listRuns')).resumeIncomplete({
        signal: AbortSignal.abort('stop'),
      });
      await expect(listing).rejects.toMatchObject({ code: 'CANCELLED', path: 'resumeIncomplete' });
    },
    TEST_TIMEOUT,
  );
});

describe('resume() of a run whose stored data is corrupt', () => {
  /**
   * A memory with a begun run `r` that reads back with `checkpoint` as its only checkpoint
   * (as a file another version wrote, or a hand edit, would: the adapters refuse to write one).
   */
  async function corrupt(checkpoint: unknown): Promise<MemoryAdapter> {
    const memory = new InMemoryMemory();
    await memory.beginRun({
      runId: 'r',
      macro: 'line',
      context: { intent: 'x' } as never,
      input: 'x',
      startedAt: 1,
    });
    const stored = await memory.loadRun('r');
    memory.loadRun = async () => ({ ...stored, checkpoints: [checkpoint as Checkpoint] });
    return memory;
  }

  it('rejects with RUN_CORRUPT, naming the field, when a checkpoint has no stages', async () => {
    const memory = await corrupt({ seq: 3, at: 1, stages: 'nope' });
    await expect(orchestrator(memory).resume('r')).rejects.toMatchObject({
      code: 'RUN_CORRUPT',
      message: expect.stringContaining('checkpoints[0].stages'),
    });
  });

  it('rejects with RUN_CORRUPT when a sequence number is not a number', async () => {
    const memory = await corrupt({ seq: 'three', at: 1, stages: [] });
    await expect(orchestrator(memory).resume('r')).rejects.toMatchObject({
      code: 'RUN_CORRUPT',
      message: expect.stringContaining('checkpoints[0].seq'),
    });
  });

  it('rejects with RUN_CORRUPT when a stage record has no path', async () => {
    const memory = await corrupt({ seq: 1, at: 1, stages: [{ kind: 'agent', status: 'succeeded' }] });
    await expect(orchestrator(memory).resume('r')).rejects.toMatchObject({ code: 'RUN_CORRUPT' });
  });
});

describe('resume() of a run that is not stored', () => {
  it('removes its abort listener from the caller’s signal', async () => {
    const controller = new AbortController();
    const o = orchestrator(new InMemoryMemory());
    for (let i = 0; i < 5; i++) {
      await expect(o.resume('unknown', { signal: controller.signal })).rejects.toMatchObject({
        code: 'RUN_NOT_FOUND',
      });
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('runs sharing one abort signal, one of which has ended', () => {
  it('are still cancelled by it', async () => {
    const controller = new AbortController();
    const single = defineMacro({
      name: 'single',
      description: 'one stage',
      stages: [agentStage('a', 'worker')],
    });
    const o = new MacroOrchestrator({
      agents: [scriptedAgent('worker', (n) => (n === 1 ? 'done' : new Promise(() => {})))],
      macros: [single],
    });
    const first = o.run('single', { intent: 'x' }, { signal: controller.signal });
    const second = o.run('single', { intent: 'x' }, { signal: controller.signal });
    expect((await first).status).toBe('succeeded');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('stop');
    expect((await second).status).toBe('cancelled');
  });
});

describe('many runs sharing one abort signal', () => {
  it('add one listener to it, not one per run', async () => {
    const controller = new AbortController();
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const o = new MacroOrchestrator({
      agents: [scriptedAgent('worker', () => gate.then(() => 'ok'))],
      macros: [line],
    });
    const runs = Array.from({ length: 12 }, () =>
      o.run('line', { intent: 'x' }, { signal: controller.signal }),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    open();
    await Promise.all(runs);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
