import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  type Agent,
  agentStage,
  defaultPipeline,
  defineMacro,
  ExecutionStage,
  type MacroDefinition,
  type MacroEvent,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
  sequence,
} from '../src/index.js';
import {
  delay,
  flakyAgent,
  hangingAgent,
  okAgent,
  recordEvents,
  scriptedAgent,
  drive as settle,
  slowAgent,
  throwingAgent,
} from './support/index.js';

/** A phase that never has work to do: with it in the pipeline, every stage steps through one more phase. */
class NeverRuns extends ExecutionStage {
  readonly name = 'never';
  override shouldRun(): boolean {
    return false;
  }
  execute(): void {
    throw new Error('NeverRuns ran');
  }
}

/**
 * Entries grouped by path, in their order within each path. Concurrent branches may
 * interleave differently (their relative order is not a contract); what each stage
 * does, in its order, must not differ.
 */
function byPath<T extends { path: string }>(entries: readonly T[]): T[] {
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => (a.entry.path < b.entry.path ? -1 : a.entry.path > b.entry.path ? 1 : a.i - b.i))
    .map(({ entry }) => entry);
}

/** What a run did, without times or the interleaving of concurrent branches. */
function shape(events: readonly MacroEvent[], result: MacroResult) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  return {
    events: byPath(
      events.map((e) => ({
        type: e.type,
        path: e.path,
        phase: 'phase' in e ? e.phase : undefined,
        status: 'status' in e ? e.status : undefined,
        attempt: 'attempt' in e ? e.attempt : undefined,
        code: 'error' in e && e.error !== undefined ? e.error.code : undefined,
      })),
    ),
    status: result.status,
    output: result.output,
    error: result.status === 'succeeded' ? undefined : result.error.code,
    stages: byPath(
      Object.values(result.stages).map(({ path, status, attempts, agent, output, error }) => ({
        path,
        status,
        attempts,
        agent,
        output,
        code: error?.code,
      })),
    ),
    timeline: byPath(
      result.timeline.map(({ scope, path, name, status, attempt }) => ({
        scope,
        path,
        name,
        status,
        attempt,
      })),
    ),
    errors: byPath(result.errors.map((e) => ({ path: e.path ?? '', code: e.code }))),
    decisions: result.decisions.map(({ path, strategy, winner, output, scores }) => ({
      path,
      strategy,
      winner,
      output,
      scores,
    })),
  };
}

async function runWith(
  pipeline: ExecutionStage[],
  macro: MacroDefinition,
  agents: () => Agent[],
  options: {
    timeoutMs?: number;
    cancelAtMs?: number;
    durability?: 'sync' | 'async';
    concurrency?: number;
    signal?: AbortSignal;
  } = {},
) {
  const orchestrator = new MacroOrchestrator({
    agents: agents(),
    macros: [macro],
    pipeline,
    random: () => 0.5,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
    ...(options.concurrency === undefined ? {} : { scheduling: { concurrency: options.concurrency } }),
  });
  const run = orchestrator.run(
    macro.name,
    { intent: 'compare' },
    {
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const events = recordEvents(run);
  if (options.cancelAtMs !== undefined) setTimeout(() => run.cancel('stop'), options.cancelAtMs);
  const result = await settle(run);
  return shape(events, result);
}

const macro = (name: string, stages: [StageDefinition, ...StageDefinition[]]) =>
  defineMacro({ name, description: name, stages });

const cases: [string, MacroDefinition, () => Agent[], Parameters<typeof runWith>[3]?][] = [
  [
    'a sequence that succeeds',
    macro('seq', [agentStage('a', 'x'), agentStage('b', 'y')]),
    () => [okAgent('x'), okAgent('y')],
  ],
  [
    'a retried stage that fails twice, then succeeds',
    macro('retry', [retryableStage(agentStage('a', 'flaky'), { retries: 3, minDelayMs: 10 })]),
    () => [flakyAgent('flaky', 2)],
  ],
  [
    'an agent that throws a non-Error',
    macro('throw', [agentStage('a', 'bad')]),
    () => [throwingAgent('bad', 42)],
  ],
  [
    'an output its schema refuses',
    macro('schema', [agentStage('a', 'x', { output: z.number() })]),
    () => [okAgent('x', 'not a number')],
  ],
  [
    'an input mapper that throws',
    macro('mapper', [
      agentStage('a', 'x', {
        input: () => {
          throw new Error('no input');
        },
      }),
    ]),
    () => [okAgent('x')],
  ],
  [
    'a stage past its time budget',
    macro('slow', [agentStage('a', 'slow', { timeoutMs: 50 })]),
    () => [hangingAgent('slow')],
  ],
  [
    'a fail-fast parallel group with a failing branch',
    macro('par', [
      parallel('p', [
        agentStage('ok', 'slow'),
        agentStage('bad', 'bad'),
        agentStage('gated', 'x', { gates: [predicateGate('any', () => true)] }),
      ]),
    ]),
    // `bad` fails at 20 ms: after `gated` is done, before `ok` is (a tie between branches
    // that end on the same tick is ordered by when each started, in either path).
    () => [
      slowAgent('slow', 100),
      scriptedAgent('bad', () => delay(20).then(() => Promise.reject(new Error('boom')))),
      okAgent('x'),
    ],
  ],
  [
    'gated stages whose gates pass, fail and are refined, or are answered by a promise',
    macro('gates', [
      agentStage('pass', 'x', { gates: [predicateGate('any', () => true)] }),
      agentStage('refine', 'writer', {
        gates: [predicateGate('short', (o: string) => o.length < 8, 'Shorter.')],
        maxRefinements: 2,
      }),
      agentStage('later', 'x', { gates: [predicateGate('async', async () => true)] }),
      agentStage('elevate', 'stubborn', {
        gates: [predicateGate('short', (o: string) => o.length < 8, 'Shorter.')],
        maxRefinements: 1,
        elevateTo: 'x',
      }),
    ]),
    () => [
      okAgent('x', 'ok'),
      scriptedAgent('writer', (n) => (n === 1 ? 'much too long' : 'short')),
      okAgent('stubborn', 'much too long'),
    ],
  ],
  [
    'a gated stage whose gate throws',
    macro('gate-throws', [
      agentStage('a', 'x', {
        gates: [
          predicateGate('boom', () => {
            throw new Error('gate broke');
          }),
        ],
      }),
    ]),
    () => [okAgent('x')],
  ],
  [
    'a gated stage whose gates never pass, under a retry',
    macro('gate-fails', [
      retryableStage(
        agentStage('a', 'x', { gates: [predicateGate('never', () => false, 'No.')], maxRefinements: 1 }),
        { retries: 1, minDelayMs: 5 },
      ),
    ]),
    () => [okAgent('x', 'same')],
  ],
  [
    'a run cancelled while its stages run',
    macro('cancel', [sequence('s', [agentStage('a', 'slow'), agentStage('b', 'slow')])]),
    () => [slowAgent('slow', 100)],
    { cancelAtMs: 150 },
  ],
  [
    'a run past its time budget',
    macro('deadline', [parallel('p', [agentStage('a', 'slow'), agentStage('b', 'hang')])]),
    () => [slowAgent('slow', 10), hangingAgent('hang')],
    { timeoutMs: 100 },
  ],
  [
    'sync durability',
    macro('sync', [agentStage('a', 'x'), agentStage('b', 'y')]),
    () => [okAgent('x'), okAgent('y')],
    { durability: 'sync' },
  ],
  [
    'a settle-mode parallel group with a failing branch and a majority vote',
    macro('vote', [
      parallel(
        'p',
        [agentStage('a', 'yes'), agentStage('b', 'yes'), agentStage('c', 'bad'), agentStage('d', 'no')],
        { failure: 'settle', harmony: { strategy: 'majority' } },
      ),
    ]),
    () => [okAgent('yes', 'A'), okAgent('no', 'B'), throwingAgent('bad', new Error('boom'))],
  ],
  [
    'a parallel group mixing retried, nested and lean branches',
    macro('mixed', [
      parallel('p', [
        retryableStage(agentStage('r', 'flaky'), { retries: 2, minDelayMs: 10 }),
        sequence('s', [agentStage('s1', 'x'), agentStage('s2', 'slow')]),
        agentStage('d', 'x'),
      ]),
    ]),
    () => [flakyAgent('flaky', 1), okAgent('x'), slowAgent('slow', 20)],
  ],
  [
    'branches under a concurrency limit of 1',
    macro('limited', [
      parallel('p', [agentStage('a', 'slow'), agentStage('b', 'slow'), agentStage('c', 'x')]),
    ]),
    () => [slowAgent('slow', 10), okAgent('x')],
    { concurrency: 1 },
  ],
  [
    'branches under a concurrency limit, cancelled while they wait',
    macro('limited-cancel', [
      parallel('p', [agentStage('a', 'slow'), agentStage('b', 'slow'), agentStage('c', 'slow')]),
    ]),
    () => [slowAgent('slow', 100)],
    { concurrency: 1, cancelAtMs: 150 },
  ],
];

describe('a pipeline with a custom phase', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)(
    'emits the same events and records as the default pipeline: %s',
    async (_name, definition, agents, options) => {
      const fast = await runWith(defaultPipeline(), definition, agents, options);
      const generic = await runWith([...defaultPipeline(), new NeverRuns()], definition, agents, options);
      expect(fast).toEqual(generic);
    },
  );

  it('fails the QA phase as cancelled when a synchronous gate cancels the run, as the default pipeline does', async () => {
    const cancelledByItsGate = (pipeline: ExecutionStage[]) => {
      const controller = new AbortController();
      const stop = predicateGate('stop', () => {
        controller.abort('stop');
        return true;
      });
      const definition = macro('cancels', [agentStage('a', 'x', { gates: [stop] }), agentStage('b', 'x')]);
      return runWith(pipeline, definition, () => [okAgent('x')], { signal: controller.signal });
    };
    const fast = await cancelledByItsGate(defaultPipeline());
    const generic = await cancelledByItsGate([...defaultPipeline(), new NeverRuns()]);
    expect(fast.status).toBe('cancelled');
    expect(fast.stages.map((s) => s.status)).toEqual(['cancelled']);
    expect(fast).toEqual(generic);
  });
});

describe('quality gates that answer synchronously', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A macro whose stage output fails `short` once, is refined, then passes; with a macro gate too. */
  const gated = (asyncGates: boolean) => {
    const answer = <T>(value: T) => (asyncGates ? Promise.resolve(value) : value);
    const short = predicateGate('short', (o: string) => answer(o.length < 8), 'Shorter.');
    const scored = predicateGate('scored', (o: string) => answer({ passed: true, score: o.length }));
    const typed = predicateGate('typed', (o: unknown) => answer(typeof o === 'string'));
    return defineMacro({
      name: 'gated',
      description: 'gated',
      stages: [agentStage('a', 'writer', { gates: [short, scored], maxRefinements: 2 })],
      gates: [typed],
    });
  };
  const writer = () => [scriptedWriter()];
  function scriptedWriter(): Agent {
    let calls = 0;
    return { id: 'writer', invoke: () => (++calls === 1 ? 'much too long' : 'short') };
  }

  it('produce the same events, verdicts and records as gates that return promises', async () => {
    const sync = await runWith(defaultPipeline(), gated(false), writer);
    const async_ = await runWith(defaultPipeline(), gated(true), writer);
    expect(sync.events.some((e) => e.type === 'gate')).toBe(true);
    expect(sync).toEqual(async_);
  });

  it('fail the stage when a synchronous check throws, as an asynchronous one does', async () => {
    const throwing = (asyncGate: boolean) =>
      defineMacro({
        name: 'throws',
        description: 'throws',
        stages: [
          agentStage('a', 'x', {
            gates: [
              predicateGate('boom', () => {
                if (asyncGate) return Promise.reject(new Error('gate broke'));
                throw new Error('gate broke');
              }),
            ],
          }),
        ],
      });
    const sync = await runWith(defaultPipeline(), throwing(false), () => [okAgent('x')]);
    const async_ = await runWith(defaultPipeline(), throwing(true), () => [okAgent('x')]);
    expect(sync.status).toBe('failed');
    expect(sync).toEqual(async_);
  });
});
