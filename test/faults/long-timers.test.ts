/**
 * Durations past 2^31-1 ms (about 24.8 days), which Node's setTimeout fires after 1 ms.
 * Fake timers throughout: a month passes in a few steps.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, retryableStage } from '../../src/index.js';
import {
  delay,
  drive,
  flakyAgent,
  hangingAgent,
  ofType,
  slowAgent,
  start,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const DAY = 24 * 60 * 60 * 1000;
const MONTH = 30 * DAY;

const oneStage = defineMacro({
  name: 'one',
  description: 'one agent',
  stages: [agentStage('work', 'worker')],
});

describe('a run with a deadline a month away', () => {
  it('is not cut short by the deadline after 1 ms', async () => {
    const { run } = start([oneStage], [slowAgent('worker', 60_000)], {
      run: { deadline: Date.now() + MONTH },
    });
    expect((await drive(run)).status).toBe('succeeded');
  });

  it('settles partial exactly at the deadline when its agent never answers', async () => {
    const startedAt = Date.now();
    const { run } = start([oneStage], [hangingAgent('worker')], { run: { deadline: startedAt + MONTH } });
    const result = await drive(run);
    expect(result).toMatchObject({ status: 'partial', error: { code: 'RUN_TIMEOUT' } });
    expect(Date.now() - startedAt).toBe(MONTH);
  });
});

describe('a run with a time budget of a month', () => {
  it('settles partial at the budget, not before', async () => {
    const startedAt = Date.now();
    const { run } = start([oneStage], [hangingAgent('worker')], { run: { timeoutMs: MONTH } });
    await drive(run);
    expect(Date.now() - startedAt).toBe(MONTH);
  });
});

describe('a stage with a timeout of a month', () => {
  it('lets an agent that takes an hour finish', async () => {
    const macro = defineMacro({
      name: 'long',
      description: 'a long stage timeout',
      stages: [agentStage('work', 'worker', { timeoutMs: MONTH })],
    });
    const { run } = start([macro], [slowAgent('worker', 60 * 60 * 1000)]);
    expect((await drive(run)).status).toBe('succeeded');
  });
});

describe('a retry hint past 2^31-1 ms', () => {
  const retried = defineMacro({
    name: 'retried',
    description: 'a retried stage',
    stages: [retryableStage(agentStage('work', 'worker'), { retries: 1, minDelayMs: 10, jitter: false })],
  });

  it('waits the whole hint before retrying', async () => {
    const hinted = (n: number) => Object.assign(new Error(`busy ${n}`), { retryAfterMs: 3e9 });
    const worker = flakyAgent('worker', 1, 'ok', hinted);
    const startedAt = Date.now();
    const { run, events } = start([retried], [worker]);
    expect((await drive(run)).status).toBe('succeeded');
    expect(ofType(events, 'retry')[0]?.delayMs).toBe(3e9);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3e9);
  });

  it('is ignored when it is Infinity: the policy’s backoff applies', async () => {
    const hinted = (n: number) =>
      Object.assign(new Error(`busy ${n}`), { retryAfterMs: Number.POSITIVE_INFINITY });
    const { run, events } = start([retried], [flakyAgent('worker', 1, 'ok', hinted)]);
    expect((await drive(run)).status).toBe('succeeded');
    expect(ofType(events, 'retry')[0]?.delayMs).toBe(10);
  });
});

describe('a backoff past 2^31-1 ms', () => {
  it('waits the whole backoff before retrying', async () => {
    const macro = defineMacro({
      name: 'slow-backoff',
      description: 'a retried stage with a huge backoff',
      stages: [
        retryableStage(agentStage('work', 'worker'), {
          retries: 1,
          minDelayMs: 3e9,
          maxDelayMs: 3e9,
          jitter: false,
        }),
      ],
    });
    const startedAt = Date.now();
    const { run } = start([macro], [flakyAgent('worker', 1)]);
    expect((await drive(run)).status).toBe('succeeded');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3e9);
  });
});

describe('persistenceTimeoutMs past 2^31-1 ms', () => {
  it('does not fail a write that takes 10 ms', async () => {
    const memory = new InMemoryMemory();
    const slowSave = memory.saveResult.bind(memory);
    memory.saveResult = async (result) => {
      await delay(10);
      return slowSave(result);
    };
    const { run } = start([oneStage], [slowAgent('worker', 1)], {
      orchestrator: { memory, persistenceTimeoutMs: 3e9 },
    });
    expect((await drive(run)).persistence).toBeUndefined();
  });
});
