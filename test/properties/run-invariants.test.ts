import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MacroEvent, MacroOrchestrator, type MacroResult } from '../../src/index.js';
import { drive, flushMicrotasks, ofType, pairingProblems, recordEvents } from '../support/index.js';
import { buildScenario, Monitor, type Scenario, scenario } from './scenarios.js';

const RUNS = { numRuns: 200 } as const;

/** What one generated run did. */
interface Outcome {
  readonly result: MacroResult;
  readonly events: readonly MacroEvent[];
  /** Events emitted after the run settled, once every late agent had finished. */
  readonly lateEvents: number;
  readonly monitor: Monitor;
  /**
   * Whether `run.cancel()` was called while a macro was running. A cancel after the last
   * `macro:end`, while the result is being saved, only stops the wait for the writes:
   * the status was decided when the macro ended.
   */
  readonly cancelledWhileRunning: boolean;
}

let unhandled = 0;
const onUnhandled = () => {
  unhandled += 1;
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

// Per test, since test/setup.ts restores real timers after each.
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

/** Runs a generated scenario to the end on the fake clock, then lets late agents finish. */
async function execute(s: Scenario): Promise<Outcome> {
  vi.clearAllTimers();
  const monitor = new Monitor();
  const { macros, agents } = buildScenario(s, monitor);
  const orchestrator = new MacroOrchestrator({
    agents,
    macros,
    random: () => 0.5,
    scheduling: { concurrency: s.concurrency },
  });
  const run = orchestrator.run('main', { intent: 'property' }, { timeoutMs: s.runTimeoutMs });
  const events = recordEvents(run);
  let cancelledWhileRunning = false;
  if (s.cancelAtMs !== undefined) {
    setTimeout(() => {
      const started = events.filter((e) => e.type === 'macro:start').length;
      cancelledWhileRunning = started > events.filter((e) => e.type === 'macro:end').length;
      run.cancel('property test');
    }, s.cancelAtMs);
  }
  const result = await drive(run);
  const settledCount = events.length;
  await vi.advanceTimersByTimeAsync(60_000); // every `late` agent resolves, every timer fires
  await flushMicrotasks();
  return { result, events, lateEvents: events.length - settledCount, monitor, cancelledWhileRunning };
}

const TIMEOUT_CODES = ['STAGE_TIMEOUT', 'RUN_TIMEOUT'];

describe('random macro trees with random faults', () => {
  it('always settle, with a status that matches their error, and emit nothing after run:end', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { result, events, lateEvents } = await execute(s);
        expect(lateEvents).toBe(0);
        expect(events.at(-1)).toMatchObject({ type: 'run:end', status: result.status });
        expect(result.durationMs).toBeLessThanOrEqual(s.runTimeoutMs);
        if (result.status === 'succeeded') expect(result.output).toBeDefined();
        else if (result.status === 'partial') expect(TIMEOUT_CODES).toContain(result.error.code);
        else if (result.status === 'cancelled') expect(result.error.code).toBe('CANCELLED');
        else expect([...TIMEOUT_CODES, 'CANCELLED']).not.toContain(result.error.code);
      }),
      RUNS,
    );
  });

  it('close every run, macro, stage and phase start with exactly one matching end', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { events } = await execute(s);
        expect(pairingProblems(events)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('keep a record of every stage that started, matching its last end event', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { result, events } = await execute(s);
        const lastEnd = new Map(ofType(events, 'stage:end').map((e) => [e.path, e]));
        for (const { path } of ofType(events, 'stage:start')) {
          const record = result.stages[path];
          const end = lastEnd.get(path);
          expect(record, `no record for ${path}`).toBeDefined();
          expect({ status: record?.status, attempts: record?.attempts }).toEqual({
            status: end?.status,
            attempts: end?.attempt,
          });
        }
      }),
      RUNS,
    );
  });

  it('never run more agent invocations at once than the concurrency limit', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { monitor } = await execute(s);
        expect(monitor.maxActive).toBeLessThanOrEqual(s.concurrency);
        expect(monitor.startedAborted).toBe(0);
      }),
      RUNS,
    );
  });

  it('never leave an unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const before = unhandled;
        await execute(s);
        await flushMicrotasks();
        expect(unhandled - before).toBe(0);
      }),
      RUNS,
    );
  });

  it('settle cancelled when cancelled before they ended', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario.filter((s) => s.cancelAtMs !== undefined),
        async (s) => {
          const { result, cancelledWhileRunning } = await execute(s);
          if (cancelledWhileRunning && (s.cancelAtMs as number) < s.runTimeoutMs) {
            expect(result.status).toBe('cancelled');
          }
        },
      ),
      RUNS,
    );
  });
});
