/**
 * Runs on BullMQ workers, producer and worker in this process, on the real Redis: results,
 * events, cancellation, start failures and retries.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MacroQueue, MacroWorker } from '../../src/bullmq.js';
import {
  defineAgent,
  InMemoryMemory,
  MacroError,
  type MacroEvent,
  MacroOrchestrator,
} from '../../src/index.js';
import type { SqliteMemory } from '../../src/sqlite.js';
import { header, result } from '../../src/testing.js';
import {
  agents,
  calls,
  collect,
  connection,
  fleet,
  macros,
  open,
  queueOnly,
  release,
  sharedFile,
  twoSteps,
  until,
  useHarness,
  workerOn,
} from './harness.js';

useHarness();

describe.skipIf(connection === undefined)('runs on a BullMQ worker', () => {
  it('resolves the result of an enqueued run', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' });
    expect(await queue.result(runId)).toMatchObject({
      runId,
      status: 'succeeded',
      output: 'go>a>a,go>a>b>b',
    });
  });

  it('runs under the run id the producer chose', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { runId: 'chosen-1', input: 'in' });
    expect([runId, (await queue.result(runId)).runId]).toEqual(['chosen-1', 'chosen-1']);
  });

  it("streams a remote run's events with the types and seq numbers of a local run", async () => {
    const { queue, orchestrator } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' });
    const remote = await collect(queue.events(runId));
    const local: MacroEvent[] = [];
    const run = orchestrator.run('line', { intent: 'go' });
    run.onAny((event) => local.push(event));
    await run.result;
    const shape = (events: MacroEvent[]) => events.map((e) => `${e.seq} ${e.type} ${e.path}`);
    expect(shape(remote)).toEqual(shape(local));
  });

  it("ends a remote run's events with run:end carrying the result its job returned", async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' });
    const last = (await collect(queue.events(runId))).at(-1);
    expect(last).toMatchObject({ type: 'run:end', result: { runId, status: 'succeeded' } });
    expect(last?.type === 'run:end' && last.result).toEqual(await queue.result(runId));
  });

  it("streams a remote run's events as a local run's, field for field, labels and their order too", async () => {
    const { queue, orchestrator } = fleet();
    const runId = await queue.enqueue('labelled', { intent: 'go' });
    const remote = await collect(queue.events(runId));
    const local: MacroEvent[] = [];
    const run = orchestrator.run('labelled', { intent: 'go' }, { runId });
    run.onAny((event) => local.push(event));
    await run.result;
    // The same but for the times (and run:end's result, which is the job's: a test of its own).
    const same = (events: MacroEvent[]) =>
      events.map((e) => JSON.stringify({ ...e, at: 0, result: undefined, durationMs: undefined }));
    expect(same(remote)).toEqual(same(local));
    expect(new Set(remote.map((e) => JSON.stringify(e.labels))).size).toBe(2);
  });

  it('writes the events of one turn as one stream entry, without the run id and with labels only where they change', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('labelled', { intent: 'go' });
    await queue.result(runId);
    const client = new Redis(connection as never);
    try {
      const entries = (await client.xrange(`bull:${queue.queue.name}:mo:events:${runId}`, '-', '+')) as [
        string,
        string[],
      ][];
      expect(entries.length).toBeLessThan(5);
      expect(entries.map(([, fields]) => fields[0])).toEqual(entries.map(() => 'c'));
      const written = entries.flatMap(
        ([, fields]) => JSON.parse(fields[1] as string) as Record<string, unknown>[],
      );
      expect(written.filter((e) => 'runId' in e)).toEqual([]);
      // The macro's labels, the sub-macro's stage's (merged), the macro's again.
      expect(written.filter((e) => 'labels' in e).map((e) => e['labels'])).toEqual([
        { macro: 'labelled', team: 'core' },
        { macro: 'labelled', team: 'core', component: 'inner' },
        { macro: 'labelled', team: 'core' },
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('reads the entries earlier workers wrote: whole events, one per entry or a turn in one', async () => {
    const { queue, orchestrator } = fleet();
    const local = orchestrator.run('line', { intent: 'go' });
    const events: MacroEvent[] = [];
    local.onAny((event) => events.push(event));
    await local.result;
    const client = new Redis(connection as never);
    const key = `bull:${queue.queue.name}:mo:events:older`;
    try {
      await client.xadd(key, '*', 'b', JSON.stringify(events.slice(0, 3)));
      for (const event of events.slice(3)) await client.xadd(key, '*', 'e', JSON.stringify(event));
      expect(await collect(queue.events('older'))).toEqual(JSON.parse(JSON.stringify(events)));
    } finally {
      await client.del(key);
      client.disconnect();
    }
  });

  it("returns a run's result from its job in the stored form, and result() gives back the run's", async () => {
    const memory = new InMemoryMemory();
    const { queue } = fleet(new MacroOrchestrator({ agents, macros, memory }));
    const runId = await queue.enqueue('line', { intent: 'go' });
    const result = await queue.result(runId);
    expect(JSON.stringify(result)).toBe(JSON.stringify((await memory.loadRun(runId))?.result));
    const job = await queue.queue.getJob(runId);
    const stored = job?.returnvalue as unknown as { timeline: unknown[] } | undefined;
    expect(stored?.timeline[0]).toBeInstanceOf(Array);
  });

  it('gives two waiters of one run the same result', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' });
    const [first, second] = await Promise.all([queue.result(runId), queue.result(runId)]);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(first.timeline[0]).toMatchObject({ scope: 'phase', path: 'line/a' });
    expect(first.timeline[0]?.startedAt).toBeGreaterThanOrEqual(first.startedAt);
  });

  it('cancels a run in flight on its worker from the producer', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('waits', { intent: 'go' });
    const events = queue.events(runId)[Symbol.asyncIterator]();
    while ((await events.next()).value?.type !== 'stage:start');
    await queue.cancel(runId);
    expect(await queue.result(runId)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    await events.return?.(undefined);
  });

  it('settles a run cancelled before any worker took it as cancelled', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('waits', { intent: 'go' }, { delayMs: 300 });
    await queue.cancel(runId);
    expect(await queue.result(runId)).toMatchObject({ status: 'cancelled' });
  });

  it('rejects the result of a run whose macro no worker knows with MACRO_NOT_FOUND', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('nope', { intent: 'go' });
    await expect(queue.result(runId)).rejects.toMatchObject({
      code: 'MACRO_NOT_FOUND',
      message: expect.stringContaining('Unknown macro "nope"'),
    });
  });

  it('streams the events of a run that starts after a wait longer than one blocking read', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('line', { intent: 'go' }, { delayMs: 1_500 });
    const events = await collect(queue.events(runId));
    expect([events[0]?.type, events.at(-1)?.type]).toEqual(['run:start', 'run:end']);
  });

  it('ends the events of a run that never started, once its job has failed', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue('nope', { intent: 'go' });
    await queue.result(runId).catch(() => {});
    expect(await collect(queue.events(runId))).toEqual([]);
  });

  it('refuses a run id with a colon with INVALID_OPTIONS', async () => {
    const { queue } = fleet();
    await expect(queue.enqueue('line', { intent: 'go' }, { runId: 'a:b' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
  });

  it('passes the priority, delay and time budget of a run on to its job and run', async () => {
    const { queue } = fleet();
    const runId = await queue.enqueue(
      'line',
      { intent: 'go' },
      { priority: 2, delayMs: 10, timeoutMs: 60_000, deadline: Date.now() + 60_000 },
    );
    const job = await queue.queue.getJob(runId);
    expect([job?.opts.priority, job?.opts.delay, job?.data.timeoutMs]).toEqual([2, 10, 60_000]);
    expect((await queue.result(runId)).status).toBe('succeeded');
  });

  it('keeps a finished run in Redis for keepSeconds: its job and its event stream', async () => {
    const name = `mo-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const queue = new MacroQueue({ connection: connection as never, name, keepSeconds: 120 });
    const orchestrator = new MacroOrchestrator({ agents, macros });
    const worker = new MacroWorker({ connection: connection as never, orchestrator, name });
    const client = new Redis(connection as never);
    open.push(worker, {
      close: async () => {
        await queue.queue.obliterate({ force: true });
        await queue.close();
        client.disconnect();
      },
    });
    const runId = await queue.enqueue('line', { intent: 'go' });
    await queue.result(runId);
    const job = await queue.queue.getJob(runId);
    await until(async () => (await client.ttl(`bull:${name}:mo:events:${runId}`)) > 0);
    const ttl = await client.ttl(`bull:${name}:mo:events:${runId}`);
    expect([job?.opts.removeOnComplete, job?.opts.removeOnFail, ttl > 60 && ttl <= 120]).toEqual([
      { age: 120 },
      { age: 120 },
      true,
    ]);
  });

  it('keeps a finished run a day by default', async () => {
    const { queue } = fleet();
    const client = new Redis(connection as never);
    open.push({ close: async () => client.disconnect() });
    const runId = await queue.enqueue('line', { intent: 'go' });
    await queue.result(runId);
    const key = `bull:${queue.queue.name}:mo:events:${runId}`;
    await until(async () => (await client.ttl(key)) > 0);
    const [job, ttl] = [await queue.queue.getJob(runId), await client.ttl(key)];
    expect([job?.opts.removeOnComplete, ttl > 86_000 && ttl <= 86_400, job?.data.keepSeconds]).toEqual([
      { age: 86_400 },
      true,
      undefined,
    ]);
  });

  it("accepts keepSeconds of 1, the least Redis's EXPIRE takes", async () => {
    const queue = new MacroQueue({ connection: connection as never, keepSeconds: 1 });
    await queue.close();
  });

  it('refuses keepSeconds that is not a whole number of seconds of at least 1 with INVALID_OPTIONS', () => {
    const made = [0, 1.5, '60', Number.POSITIVE_INFINITY].map((keepSeconds) => {
      try {
        new MacroQueue({ connection: connection as never, keepSeconds: keepSeconds as number });
        return 'made';
      } catch (error) {
        return (error as MacroError).code;
      }
    });
    expect(made).toEqual(['INVALID_OPTIONS', 'INVALID_OPTIONS', 'INVALID_OPTIONS', 'INVALID_OPTIONS']);
  });

  it('resumes, instead of starting again, a run memory holds already (a job redelivered)', async () => {
    const memory = new InMemoryMemory();
    let stuck: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      stuck = resolve;
    });
    const hanging = defineAgent({
      id: 'wait',
      invoke: () => {
        stuck();
        return new Promise<string>(() => {});
      },
    });
    // A first worker's run, left in agent `wait` after stage `a` was checkpointed.
    const first = new MacroOrchestrator({
      agents: [...agents.slice(0, 2), hanging],
      macros: [twoSteps],
      memory,
    });
    const runId = first.run('two-steps', { intent: 'go' }).runId;
    await reached;
    calls.length = 0;
    const orchestrator = new MacroOrchestrator({ agents, macros: [twoSteps], memory });
    const { queue } = fleet(orchestrator);
    await queue.enqueue('two-steps', { intent: 'go' }, { runId });
    const events = collect(queue.events(runId));
    await until(() => calls.includes('wait'));
    release();
    const result = await queue.result(runId);
    expect([result.status, calls]).toEqual(['succeeded', ['wait']]);
    expect((await events)[0]).toMatchObject({ type: 'run:start', resumed: true });
  });

  it('replays, instead of running again, a run id enqueued again after its finished job was removed', async () => {
    const memory = new InMemoryMemory();
    const { queue } = fleet(new MacroOrchestrator({ agents, macros, memory }));
    const runId = await queue.enqueue('line', { intent: 'go' }, { runId: 'once-only' });
    const first = await queue.result(runId);
    await (await queue.queue.getJob(runId))?.remove();
    calls.length = 0;
    await queue.enqueue('line', { intent: 'go' }, { runId });
    const again = await queue.result(runId);
    expect([again.status, again.output, again.startedAt, calls]).toEqual([
      'succeeded',
      first.output,
      first.startedAt,
      [],
    ]);
  });

  it('waits for a run leased by another process, then settles with the result it saved', async () => {
    const [other, mine] = sharedFile('other', 'mine') as [SqliteMemory, SqliteMemory];
    await other.beginRun(header('leased-1', { macro: 'line' }));
    const { queue } = fleet(new MacroOrchestrator({ agents, macros, memory: mine }));
    await queue.enqueue('line', { intent: 'go' }, { runId: 'leased-1' });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await other.saveResult(result('leased-1', 'succeeded', 'line'));
    expect(await queue.result('leased-1')).toMatchObject({
      runId: 'leased-1',
      status: 'succeeded',
      output: { title: 'WAL' },
    });
  });

  it('hands a run in flight back on close({ handBack: true }): another worker resumes it without running its finished stages again', async () => {
    const [first, second] = sharedFile('first', 'second') as [SqliteMemory, SqliteMemory];
    calls.length = 0;
    const { queue, name } = queueOnly();
    const leaving = workerOn(name, first);
    const runId = await queue.enqueue('two-steps', { intent: 'go' });
    const events = collect(queue.events(runId));
    await until(() => calls.includes('wait'));
    await leaving.close({ handBack: true });
    expect(await queue.queue.getJobState(runId)).toBe('waiting');
    workerOn(name, second);
    await until(() => calls.length >= 3);
    release();
    expect(await queue.result(runId)).toMatchObject({ status: 'succeeded', output: 'go>a>wait' });
    expect(calls).toEqual(['a', 'wait', 'wait']);
    expect((await events).filter((e) => e.type === 'run:end')).toHaveLength(1);
  });

  it('hands back on close({ handBack: true }) a run it is waiting to claim, leaving its lease to the process holding it', async () => {
    const [other, mine] = sharedFile('other', 'mine') as [SqliteMemory, SqliteMemory];
    await other.beginRun(header('leased-2', { macro: 'line' }));
    const { queue, name } = queueOnly();
    const worker = workerOn(name, mine);
    await queue.enqueue('line', { intent: 'go' }, { runId: 'leased-2' });
    await until(async () => (await queue.queue.getJobState('leased-2')) === 'active');
    await worker.close({ handBack: true });
    expect(await queue.queue.getJobState('leased-2')).toBe('waiting');
    await expect(mine.claimRun('leased-2')).rejects.toMatchObject({ code: 'RUN_LEASED' });
  });

  it('refuses close({ handBack }) with a value that is not a boolean, with INVALID_OPTIONS', async () => {
    const { worker } = fleet();
    await expect(worker.close({ handBack: 'yes' as never })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('"handBack"'),
    });
  });

  it('lets BullMQ try again a run that could not start because memory failed, then rejects with its error', async () => {
    const memory = new InMemoryMemory();
    memory.loadRun = () => Promise.reject(new MacroError('PERSISTENCE_FAILED', 'database down'));
    const orchestrator = new MacroOrchestrator({ agents, macros, memory });
    const { queue } = fleet(orchestrator);
    const runId = await queue.enqueue('line', { intent: 'go' });
    await expect(queue.result(runId)).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: 'database down',
    });
    expect((await queue.queue.getJob(runId))?.attemptsMade).toBe(3);
  });

  it("rejects the result of a run whose job failed otherwise with PERSISTENCE_FAILED naming the worker's reason", async () => {
    const { queue, name } = queueOnly();
    const bare = new Worker(
      name,
      async () => {
        throw new UnrecoverableError('boom');
      },
      { connection: connection as never },
    );
    open.splice(open.length - 1, 0, { close: () => bare.close() });
    const runId = await queue.enqueue('line', { intent: 'go' });
    await expect(queue.result(runId)).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: `Run "${runId}" failed on its worker: boom`,
    });
  });

  it('rejects the result of a run never enqueued with RUN_NOT_FOUND', async () => {
    const { queue } = fleet();
    await expect(queue.result('never')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it("leaves retries to the stage's policy: BullMQ does not run the job again", async () => {
    const { queue } = fleet();
    calls.length = 0;
    const runId = await queue.enqueue('flaky', { intent: 'go' });
    expect(await queue.result(runId)).toMatchObject({ status: 'failed' });
    const job = await queue.queue.getJob(runId);
    expect([calls.filter((c) => c === 'flaky').length, job?.attemptsMade]).toEqual([2, 1]);
  });
});
