/** The caller's `now` and `random` as the engine reads them: bad readings replaced, logged once, runs unharmed. */
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator, retryableStage } from '../src/index.js';
import { guardedClock, guardedRandom } from '../src/macro/guarded-sources.js';
import { thrownBy } from './support/hostile.js';

function recording() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('guardedClock', () => {
  it('gives the readings of a clock that works', () => {
    const readings = [5, 7.5, 9];
    const now = guardedClock(() => readings.shift() as number, recording().logger);
    expect([now(), now(), now()]).toEqual([5, 7.5, 9]);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('clock broke');
      },
    ],
    ['gives NaN', () => Number.NaN],
    ['gives Infinity', () => Number.POSITIVE_INFINITY],
    ['gives a string', () => '12' as unknown as number],
  ])('gives the last good reading when the clock %s', (_, bad) => {
    let calls = 0;
    const now = guardedClock(() => (++calls === 2 ? bad() : calls * 10), recording().logger);
    expect([now(), now(), now()]).toEqual([10, 10, 30]);
  });

  it('gives Date.now() for a bad reading before any good one', () => {
    vi.useFakeTimers({ now: 123_456 });
    const now = guardedClock(() => Number.NaN, recording().logger);
    expect(now()).toBe(123_456);
  });

  it('logs the first bad reading once, naming the option and the cause', () => {
    const { logger, lines } = recording();
    const now = guardedClock(() => {
      throw new Error('clock broke');
    }, logger);
    now();
    now();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, option: 'now', err: { message: 'clock broke' } });
    expect(lines[0]?.['msg']).toBe(
      "The orchestrator's now option should give a finite number, but it threw: clock broke; the engine uses its own reading instead (logged once)",
    );
  });

  it('names a reading that is no number as such in the log', () => {
    const { logger, lines } = recording();
    guardedClock(() => '12' as unknown as number, logger)();
    expect(lines[0]?.['msg']).toContain('but it gave "12"');
  });
});

describe('guardedRandom', () => {
  it('gives the readings of a source in [0, 1)', () => {
    const random = guardedRandom(() => 0, recording().logger);
    expect(random()).toBe(0);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('no entropy');
      },
    ],
    ['gives 1', () => 1],
    ['gives a negative number', () => -0.1],
    ['gives NaN', () => Number.NaN],
  ])("gives Math.random()'s reading when the source %s, logged once", (_, bad) => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { logger, lines } = recording();
    const random = guardedRandom(bad, logger);
    expect([random(), random()]).toEqual([0.25, 0.25]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, option: 'random' });
  });
});

describe('an orchestrator given a clock that fails once', () => {
  const agent = defineAgent({ id: 'a', invoke: async (x: unknown) => x });
  const macro = defineMacro({
    name: 'three',
    description: 'three stages',
    stages: [agentStage('s1', 'a'), agentStage('s2', 'a'), agentStage('s3', 'a')],
  });

  it('settles the run as succeeded, with no unhandled rejection, whichever reading fails', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 30 }), async (failing) => {
          let readings = 0;
          const now = () => {
            if (++readings === failing) throw new Error('clock broke');
            return 1_000 + readings;
          };
          const orchestrator = new MacroOrchestrator({ agents: [agent], macros: [macro], now });
          const result = await orchestrator.run('three', { intent: 'go' }, { input: 1 }).result;
          await new Promise((resolve) => setImmediate(resolve)); // the checkpoint turns settle
          expect(result).toMatchObject({ status: 'succeeded', output: 1 });
          expect(result.persistence).toBeUndefined();
        }),
        { numRuns: 30 },
      );
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('retries a stage with a random source that throws, jittered by Math.random', async () => {
    let calls = 0;
    const flaky = defineAgent({
      id: 'flaky',
      invoke: async () => {
        if (++calls === 1) throw new Error('once');
        return 'done';
      },
    });
    const retried = defineMacro({
      name: 'retried',
      description: 'a retried stage',
      stages: [retryableStage(agentStage('s', 'flaky'), { retries: 1, minDelayMs: 1, jitter: true })],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [flaky],
      macros: [retried],
      random: () => {
        throw new Error('no entropy');
      },
    });
    const result = await orchestrator.run('retried', { intent: 'go' }).result;
    expect(result).toMatchObject({ status: 'succeeded', output: 'done' });
  });
});

describe('an orchestrator given a createRunId that gives no run id', () => {
  const calls: unknown[] = [];
  const agent = defineAgent({ id: 'a', invoke: async (x: unknown) => calls.push(x) });
  const macro = defineMacro({ name: 'one', description: 'one stage', stages: [agentStage('s', 'a')] });
  const start = (createRunId: () => string) =>
    thrownBy(() =>
      new MacroOrchestrator({ agents: [agent], macros: [macro], createRunId }).run('one', { intent: 'go' }),
    );

  it('refuses to run with INVALID_OPTIONS when it throws, its error the cause', async () => {
    const cause = new Error('ids broke');
    const error = start(() => {
      throw cause;
    });
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: "The orchestrator's createRunId option threw: ids broke",
      cause,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]); // nothing started
  });

  it.each([
    ['a number', () => 42 as unknown as string, 'got 42'],
    ['an empty string', () => '', 'got "" (0 characters)'],
    ['257 characters', () => 'x'.repeat(257), '(257 characters)'],
    ['undefined', () => undefined as unknown as string, 'got undefined'],
  ])('refuses to run with INVALID_OPTIONS when it gives %s', (_, createRunId, shown) => {
    const error = start(createRunId);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((error as Error).message).toContain(
      'createRunId option should give a string of 1 to 256 characters',
    );
    expect((error as Error).message).toContain(shown);
  });

  it('runs under an id of 256 characters', async () => {
    const id = 'x'.repeat(256);
    const orchestrator = new MacroOrchestrator({ agents: [agent], macros: [macro], createRunId: () => id });
    expect((await orchestrator.run('one', { intent: 'go' }).result).runId).toBe(id);
  });
});
