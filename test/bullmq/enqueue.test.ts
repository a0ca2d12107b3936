/**
 * `MacroQueue.enqueue`'s options, on the real Redis: what it refuses (before anything is
 * written), and runs whose events nobody follows (`events: false`).
 */
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { MacroWorker } from '../../src/bullmq.js';
import {
  defineAgent,
  InMemoryMemory,
  type MacroContextInput,
  MacroOrchestrator,
  MacroRun,
} from '../../src/index.js';
import type { SqliteMemory } from '../../src/sqlite.js';
import {
  agents,
  calls,
  collect,
  connection,
  fleet,
  macros,
  queueOnly,
  release,
  sharedFile,
  until,
  useHarness,
  workerOn,
} from './harness.js';

useHarness();

/** Whether Redis holds the event stream of `runId` on `queue`. */
async function streamExists(queueName: string, runId: string): Promise<boolean> {
  const client = new Redis(connection as never);
  try {
    return (await client.exists(`bull:${queueName}:mo:events:${runId}`)) === 1;
  } finally {
    client.disconnect();
  }
}

describe.skipIf(connection === undefined)('MacroQueue.enqueue', () => {
  it.each([
    [{ runId: '' }, 'runId'],
    [{ runId: 'a:b' }, 'runId: Expected no ":"'],
    [{ runId: 'x'.repeat(257) }, 'runId'],
    [{ runId: '42' }, 'runId: Expected an id that is not an integer'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: '60s' }, 'timeoutMs'],
    [{ deadline: Number.NaN }, 'deadline'],
    [{ priority: 1.5 }, 'priority'],
    [{ priority: 2_097_153 }, 'priority'],
    [{ delayMs: -1 }, 'delayMs'],
    [{ events: 'no' }, 'events'],
    [{ prority: 2 }, 'Unknown option "prority" in enqueue options'],
    ['fast', 'Expected enqueue options to be an object, got string'],
  ])('refuses %j with INVALID_OPTIONS naming it, and enqueues nothing', async (options, named) => {
    const { queue } = queueOnly();
    await expect(queue.enqueue('line', { intent: 'go' }, options as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(named),
    });
    expect(await queue.queue.count()).toBe(0);
  });

  it('refuses a context the workers would refuse with INVALID_CONTEXT naming what is wrong, and enqueues nothing', async () => {
    const { queue } = queueOnly();
    const context = { intent: 'go', knowledge: [{ source: 7 }] } as unknown as MacroContextInput;
    await expect(queue.enqueue('line', context)).rejects.toMatchObject({
      code: 'INVALID_CONTEXT',
      message: expect.stringContaining('context.knowledge[0]'),
    });
    expect(await queue.queue.count()).toBe(0);
  });

  it('refuses a context JSON cannot hold with INVALID_CONTEXT, its cause the TypeError', async () => {
    const { queue } = queueOnly();
    const context = { intent: 'go', metadata: { tokens: 10n } } as unknown as MacroContextInput;
    await expect(queue.enqueue('line', context)).rejects.toMatchObject({
      code: 'INVALID_CONTEXT',
      message: expect.stringContaining('context is not JSON'),
      cause: expect.any(TypeError),
    });
    expect(await queue.queue.count()).toBe(0);
  });

  it('enqueues a context as its JSON reads, as the workers will see it: a key holding undefined is dropped', async () => {
    const { queue } = queueOnly();
    const context = { intent: 'go', extra: undefined } as unknown as MacroContextInput;
    const runId = await queue.enqueue('line', context);
    expect((await queue.queue.getJob(runId))?.data.context).toEqual({ intent: 'go' });
  });

  it('refuses options it cannot read (a getter that throws) with INVALID_OPTIONS, its cause the error', async () => {
    const { queue } = queueOnly();
    const trap = new Error('trap');
    const options = {
      get priority(): number {
        throw trap;
      },
    };
    await expect(queue.enqueue('line', { intent: 'go' }, options)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('Cannot read enqueue options'),
      cause: trap,
    });
  });

  it('takes priority 0 as none, leaving it out of the job', async () => {
    const { queue } = queueOnly();
    const runId = await queue.enqueue('line', { intent: 'go' }, { priority: 0 });
    expect((await queue.queue.getJob(runId))?.opts.priority).toBeUndefined();
  });

  it('refuses an input JSON cannot hold with INVALID_OPTIONS naming the input, its cause the TypeError', async () => {
    const { queue } = queueOnly();
    const refused = queue.enqueue('line', { intent: 'go' }, { input: { tokens: 10n } });
    await expect(refused).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('input is not JSON'),
      cause: expect.any(TypeError),
    });
    expect(await queue.queue.count()).toBe(0);
  });

  it.each([[''], [undefined], [42]])('refuses the macro name %j with INVALID_OPTIONS', async (macro) => {
    const { queue } = queueOnly();
    await expect(queue.enqueue(macro as never, { intent: 'go' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining("macro's name"),
    });
  });

  it('enqueues what it checked: an option behind a getter is read once', async () => {
    const { queue } = queueOnly();
    let reads = 0;
    const options = {
      get priority() {
        reads++;
        return reads === 1 ? 2 : 0; // 0: no priority BullMQ takes
      },
    };
    const runId = await queue.enqueue('line', { intent: 'go' }, options);
    expect([(await queue.queue.getJob(runId))?.opts.priority, reads]).toEqual([2, 1]);
  });

  it('takes an infinite timeoutMs as no budget, leaving it out of the job', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { timeoutMs: Number.POSITIVE_INFINITY });
    const job = await queue.queue.getJob(runId);
    expect(job?.data).not.toHaveProperty('timeoutMs');
    expect((await queue.result(runId)).status).toBe('succeeded');
  });
});

describe.skipIf(connection === undefined)('a run enqueued with events: false', () => {
  it('settles with its result, its worker writing no event stream', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { events: false });
    expect(await queue.result(runId)).toMatchObject({
      runId,
      status: 'succeeded',
      output: 'go>a>a,go>a>b>b',
    });
    expect(await streamExists(queue.queue.name, runId)).toBe(false);
  });

  it('is not subscribed to by its worker, so that the engine builds none of its stage events', async () => {
    const onAny = vi.spyOn(MacroRun.prototype, 'onAny');
    const { queue } = fleet();
    await queue.result(await queue.enqueue('line', { intent: 'go' }, { events: false }));
    const quiet = onAny.mock.calls.length;
    await queue.result(await queue.enqueue('line', { intent: 'go' }));
    expect([quiet, onAny.mock.calls.length]).toEqual([0, 1]);
  });

  it('has its event stream written when enqueued with events: true', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { events: true });
    await queue.result(runId);
    expect(await streamExists(queue.queue.name, runId)).toBe(true);
  });

  it('rejects events(runId) with INVALID_OPTIONS naming the option', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { events: false });
    await expect(collect(queue.events(runId))).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('events: false'),
    });
  });

  it('rejects events(runId) asked before the run was enqueued, once it is', async () => {
    const { queue } = fleet();
    const events = collect(queue.events('quiet-later'));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the reader waits on the stream
    await queue.enqueue('waits', { intent: 'go' }, { runId: 'quiet-later', events: false });
    await expect(events).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await queue.cancel('quiet-later');
  });

  it('is handed back on close({ handBack: true }) and resumed by another worker, which writes no event stream either', async () => {
    const [first, second] = sharedFile('first', 'second') as [SqliteMemory, SqliteMemory];
    calls.length = 0;
    const { queue, name } = queueOnly();
    const leaving = workerOn(name, first);
    const runId = await queue.enqueue('two-steps', { intent: 'go' }, { events: false });
    await until(() => calls.includes('wait'));
    await leaving.close({ handBack: true });
    workerOn(name, second);
    await until(() => calls.length >= 3);
    release();
    expect(await queue.result(runId)).toMatchObject({ status: 'succeeded', output: 'go>a>wait' });
    expect(calls).toEqual(['a', 'wait', 'wait']);
    expect(await streamExists(name, runId)).toBe(false);
  });

  it('is resumed from its checkpoints when its job is redelivered, its worker writing no event stream', async () => {
    const memory = new InMemoryMemory();
    const waiting = defineAgent({ id: 'wait', invoke: () => new Promise<string>(() => {}) });
    // A first worker's run, left in agent `wait` after stage `a` was checkpointed.
    const first = new MacroOrchestrator({ agents: [...agents.slice(0, 2), waiting], macros, memory });
    const runId = first.run('two-steps', { intent: 'go' }).runId;
    await until(async () => (await memory.loadRun(runId))?.checkpoints.length === 1);
    calls.length = 0;
    const { queue } = fleet(new MacroOrchestrator({ agents, macros, memory }));
    await queue.enqueue('two-steps', { intent: 'go' }, { runId, events: false });
    await until(() => calls.includes('wait'));
    release();
    expect(await queue.result(runId)).toMatchObject({ status: 'succeeded', output: 'go>a>wait' });
    expect(calls).toEqual(['wait']);
    expect(await streamExists(queue.queue.name, runId)).toBe(false);
  });

  it('is cancelled on its worker from the producer', async () => {
    const { queue } = fleet();
    calls.length = 0;
    const runId = await queue.enqueue('waits', { intent: 'go' }, { events: false });
    await until(() => calls.includes('wait'));
    await queue.cancel(runId);
    expect(await queue.result(runId)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
  });
});

describe('new MacroWorker', () => {
  it.each([
    [{ lockDurationMs: 2 ** 31 + 5 }, 'lockDurationMs'],
    [{ stalledIntervalMs: 0 }, 'stalledIntervalMs'],
    [{ concurrency: Number.NaN }, 'concurrency'],
    [{ name: 'a:b' }, 'name'],
    [{ conection: {} }, 'Unknown option "conection" in MacroWorker options'],
    [{ orchestrator: undefined }, 'orchestrator'],
  ])('refuses %j with INVALID_OPTIONS naming it, before connecting', (extra, named) => {
    const options = {
      connection: connection as never,
      orchestrator: new MacroOrchestrator({ agents, macros }),
      ...extra,
    };
    expect(() => new MacroWorker(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(named) }),
    );
  });
});
