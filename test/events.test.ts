import fc from 'fast-check';
import { pino } from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Agent,
  agentStage,
  defineAgent,
  defineMacro,
  type MacroDefinition,
  type MacroEvent,
  MacroOrchestrator,
  type MacroRun,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
  subMacro,
} from '../src/index.js';
import { Journal } from '../src/macro/journal.js';
import { drive, flakyAgent, fnAgent, recordEvents, unmatched } from './support/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

const echo = fnAgent('echo', (x: unknown) => x);
const broken = flakyAgent('broken', Number.POSITIVE_INFINITY, 'never');
/** Never answers; rejects with the abort reason when its signal aborts. */
const waiting = defineAgent({
  id: 'waiting',
  invoke: (_: unknown, { signal }) =>
    new Promise((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
    ),
});
const agents: Agent[] = [echo, broken, waiting];

const labels = { team: 'core' };
const rescue = defineMacro({ name: 'rescue', description: 'd', stages: [agentStage('r', echo)] });
const inner = defineMacro({ name: 'inner', description: 'd', stages: [agentStage('i', echo)] });

interface Scenario {
  readonly macros: MacroDefinition[];
  readonly status: string;
  /** Done to the run right after it starts. */
  readonly act?: (run: MacroRun<unknown>) => void;
}

const scenarios: Record<string, Scenario> = {
  'a successful run': {
    status: 'succeeded',
    macros: [
      inner,
      defineMacro({
        name: 'main',
        description: 'd',
        labels,
        stages: [
          agentStage('first', echo, { gates: [predicateGate('ok', () => true)] }),
          parallel('p', [agentStage('a', echo), subMacro('nested', inner)]),
          agentStage('last', echo, { deliver: (x) => [{ name: 'x', content: x }], deploy: () => {} }),
        ],
      }),
    ],
  },
  'a failing agent that is retried, fails fast and falls back': {
    status: 'succeeded',
    macros: [
      rescue,
      defineMacro({
        name: 'main',
        description: 'd',
        labels,
        fallback: 'rescue',
        stages: [
          agentStage('prep', echo),
          parallel('p', [
            retryableStage(agentStage('bad', broken), { retries: 2, minDelayMs: 5 }),
            agentStage('slow', waiting),
          ]),
        ],
      }),
    ],
  },
  'a failing agent without fallback': {
    status: 'failed',
    macros: [defineMacro({ name: 'main', description: 'd', labels, stages: [agentStage('bad', broken)] })],
  },
  'a run cancelled while an agent works': {
    status: 'cancelled',
    macros: [
      defineMacro({
        name: 'main',
        description: 'd',
        labels,
        stages: [
          parallel('p', [agentStage('stuck', waiting), agentStage('ok', echo)]),
          agentStage('never', echo),
        ],
      }),
    ],
    act: (run) =>
      run.on('stage:end', (event) => {
        if (event.path === 'main/p/ok') run.cancel('operator stopped it');
      }),
  },
  'a stage that times out': {
    status: 'partial',
    macros: [
      defineMacro({
        name: 'main',
        description: 'd',
        labels,
        stages: [agentStage('ok', echo), agentStage('stuck', waiting, { timeoutMs: 50 })],
      }),
    ],
  },
};

function start({ macros, act }: Scenario) {
  const orchestrator = new MacroOrchestrator({ agents, macros, random: () => 0 });
  const run = orchestrator.run('main', { intent: 'go' }) as MacroRun<unknown>;
  const events = recordEvents(run);
  act?.(run);
  return { run, events };
}

describe.each(Object.entries(scenarios))('events of %s', (_name, scenario) => {
  it('settles with the expected status', async () => {
    const { run } = start(scenario);
    expect((await drive(run)).status).toBe(scenario.status);
  });

  it('matches every run, macro, stage and phase start with exactly one later end', async () => {
    const { run, events } = start(scenario);
    await drive(run);
    expect(events.filter((e) => e.type === 'stage:start').length).toBeGreaterThan(0);
    expect(unmatched(events)).toEqual({ open: [], orphanEnds: [] });
    expect(events.filter((e) => e.type === 'run:start')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('run:end');
  });

  it('numbers events 1..n in emission order', async () => {
    const { run, events } = start(scenario);
    await drive(run);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('counts every event in seq, also those of types nobody listens to', async () => {
    const { run, events } = start(scenario);
    await drive(run);
    const orchestrator = new MacroOrchestrator({ agents, macros: scenario.macros, random: () => 0 });
    const partial = orchestrator.run('main', { intent: 'go' }) as MacroRun<unknown>;
    const ends: MacroEvent[] = [];
    partial.on('macro:end', (event) => ends.push(event));
    partial.on('run:end', (event) => ends.push(event));
    scenario.act?.(partial);
    await drive(partial);
    const expected = events.filter((e) => e.type === 'macro:end' || e.type === 'run:end');
    expect(ends.map((e) => [e.type, e.seq])).toEqual(expected.map((e) => [e.type, e.seq]));
  });

  it('stamps every event with the run id and the labels of the macro it belongs to', async () => {
    const { run, events } = start(scenario);
    await drive(run);
    for (const event of events) {
      const owner = event.path.split('/')[0];
      expect(event.runId).toBe(run.runId);
      expect(event.labels).toEqual(owner === 'main' ? { macro: 'main', ...labels } : { macro: owner });
    }
  });

  it('gives run:start, run:end and the result the same labels', async () => {
    const { run, events } = start(scenario);
    const result = await drive(run);
    const runEvents = events.filter((e) => e.type === 'run:start' || e.type === 'run:end');
    expect(runEvents.map((e) => e.labels)).toEqual([result.labels, result.labels]);
  });

  it('shows the async iterator exactly the events a listener sees', async () => {
    const { run, events } = start(scenario);
    const iterated: MacroEvent[] = [];
    const drained = (async () => {
      for await (const event of run) iterated.push(event);
    })();
    await drive(run);
    await drained;
    expect(iterated).toHaveLength(events.length);
    iterated.forEach((event, i) => {
      expect(event).toBe(events[i]);
    });
  });
});

describe('the start/end check', () => {
  it('flags a start without an end and an end without a start', () => {
    const base = { runId: 'r', at: 0, labels: {}, kind: 'agent', attempt: 1 } as const;
    const events = [
      { ...base, seq: 1, type: 'stage:start', path: 'm/a' },
      { ...base, seq: 2, type: 'stage:end', path: 'm/b', status: 'succeeded', durationMs: 0 },
    ] as MacroEvent[];
    expect(unmatched(events)).toEqual({ open: ['stage:end|m/a|1|'], orphanEnds: ['stage:end|m/b|1|'] });
  });
});

describe('the failing-agent run', () => {
  it('retries, cancels the sibling, then falls back, in that order', async () => {
    const { run, events } = start(scenarios['a failing agent that is retried, fails fast and falls back']!);
    const result = await drive(run);
    const story = events
      .filter((e) => ['retry', 'fallback', 'stage:end'].includes(e.type))
      .map((e) => (e.type === 'stage:end' ? `${e.path}:${e.status}` : `${e.type}:${e.path}`));
    expect(story).toEqual([
      'main/prep:succeeded',
      'main/p/bad:failed',
      'retry:main/p/bad',
      'main/p/bad:failed',
      'retry:main/p/bad',
      'main/p/bad:failed',
      'main/p/slow:cancelled',
      'main/p:failed',
      'fallback:main',
      'rescue/r:succeeded',
    ]);
    expect(result.producedBy).toBe('rescue');
  });
});

describe('listeners', () => {
  const simple = [
    defineMacro({ name: 'main', description: 'd', stages: [agentStage('a', echo), agentStage('b', echo)] }),
  ];

  it('are the only reason an event is built: a run followed only to its end emits run:end alone', async () => {
    const emitted = vi.spyOn(Journal.prototype, 'emit');
    const orchestrator = new MacroOrchestrator({ agents, macros: simple });
    const run = orchestrator.run('main', { intent: 'go' });
    run.on('run:end', () => {});
    await drive(run);
    expect(emitted.mock.calls.map(([event]) => event.type)).toEqual(['run:end']);
  });

  it('get a macro:end without an error key for a macro that succeeded', async () => {
    const orchestrator = new MacroOrchestrator({ agents, macros: simple });
    const run = orchestrator.run('main', { intent: 'go' });
    const ends: MacroEvent[] = [];
    run.on('macro:end', (event) => ends.push(event));
    await drive(run);
    expect(ends).toHaveLength(1);
    expect(ends[0]).not.toHaveProperty('error');
  });

  it('keep running when another listener throws, and the throw is logged', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const orchestrator = new MacroOrchestrator({ agents, macros: simple, logger });
    const run = orchestrator.run('main', { intent: 'go' });
    run.on('stage:start', () => {
      throw new Error('listener bug');
    });
    const seen = recordEvents(run as MacroRun<unknown>);
    const result = await drive(run);
    expect(result.status).toBe('succeeded');
    expect(seen.filter((e) => e.type === 'stage:start')).toHaveLength(2);
    expect(lines.filter((line) => line.includes('listener bug'))).toHaveLength(2);
  });

  it('stop receiving events once removed with off()', async () => {
    const { run } = start({ macros: simple, status: 'succeeded' });
    const starts: string[] = [];
    const listener = (event: { path: string }) => {
      starts.push(event.path);
      run.off('stage:start', listener);
    };
    run.on('stage:start', listener);
    const never = () => {
      throw new Error('removed listener was called');
    };
    run.on('stage:end', never);
    run.off('stage:end', never);
    await drive(run);
    expect(starts).toEqual(['main/a']);
    expect(run.listenerCount('stage:start')).toBe(1); // the recorder that start() attached
  });

  it('reach a listener added mid-run after a stretch without any, and stop once all are removed', async () => {
    const seen: string[] = [];
    let run!: MacroRun<unknown>;
    const echo = defineAgent({ id: 'echo', invoke: (text: string) => text });
    // Nothing listens until stage b's agent subscribes; stage c's end removes every listener.
    const subscriber = defineAgent({
      id: 'subscriber',
      invoke: (text: string) => {
        run.on('stage:end', (event) => {
          seen.push(`end ${event.path}`);
          if (event.path === 'main/c') run.removeAllListeners();
        });
        run.on('stage:start', (event) => seen.push(`start ${event.path}`));
        return text;
      },
    });
    const macro = defineMacro({
      name: 'main',
      description: 'd',
      stages: [
        agentStage('a', echo),
        agentStage('b', subscriber),
        agentStage('c', echo),
        agentStage('d', echo),
      ],
    });
    run = new MacroOrchestrator({ agents: [echo, subscriber], macros: [macro] }).run('main', {
      intent: 'x',
    }) as MacroRun<unknown>;
    expect(run.listenerCount('stage:start')).toBe(0);
    await drive(run);
    expect(seen).toEqual(['end main/b', 'start main/c', 'end main/c']);
  });

  it("name an agent stage's agent on its stage:start, and no agent on a group's", async () => {
    const echo = defineAgent({ id: 'echo', invoke: (text: string) => text });
    const macro = defineMacro({
      name: 'main',
      description: 'd',
      stages: [parallel('p', [agentStage('a', echo)])],
    });
    const run = new MacroOrchestrator({ agents: [echo], macros: [macro] }).run('main', { intent: 'x' });
    const events = recordEvents(run as MacroRun<unknown>);
    await drive(run);
    const starts = events.filter((e) => e.type === 'stage:start');
    expect(starts.map((e) => [e.path, e.agent])).toEqual([
      ['main/p', undefined],
      ['main/p/a', 'echo'],
    ]);
    expect(starts[0]).not.toHaveProperty('agent');
  });

  it('see stage:progress events from invocation.report()', async () => {
    const streamer = defineAgent({
      id: 'streamer',
      invoke: (text: string, { report }) => {
        for (const token of text.split(' ')) report({ token });
        return text;
      },
    });
    const macro = defineMacro({
      name: 'main',
      description: 'd',
      labels,
      stages: [agentStage('say', streamer)],
    });
    const orchestrator = new MacroOrchestrator({ agents: [streamer], macros: [macro] });
    const run = orchestrator.run('main', { intent: 'hello big world' });
    const events = recordEvents(run as MacroRun<unknown>);
    await drive(run);
    const progress = events.filter((e) => e.type === 'stage:progress');
    expect(progress.map((e) => e.data)).toEqual(
      ['hello', 'big', 'world'].map((token) => ({ type: 'custom', value: { token } })),
    );
    for (const e of progress) {
      expect(e).toMatchObject({ path: 'main/say', runId: run.runId, labels, attempt: 1, phase: 'draft' });
    }
    const kinds = events.map((e) => e.type);
    expect(kinds.indexOf('stage:progress')).toBeGreaterThan(kinds.indexOf('phase:start'));
    expect(kinds.lastIndexOf('stage:progress')).toBeLessThan(kinds.indexOf('phase:end'));
  });
});

describe('the async iterator', () => {
  it('ends after run:end', async () => {
    const { run } = start(scenarios['a failing agent without fallback']!);
    const types: string[] = [];
    const drained = (async () => {
      for await (const event of run) types.push(event.type);
    })();
    await drive(run);
    await drained;
    expect(types.at(-1)).toBe('run:end');
  });

  it('can stop early without stopping the run', async () => {
    const { run } = start(scenarios['a successful run']!);
    let first: MacroEvent | undefined;
    const drained = (async () => {
      for await (const event of run) {
        first = event;
        break;
      }
    })();
    const result = await drive(run);
    await drained;
    expect(first?.type).toBe('run:start');
    expect(result.status).toBe('succeeded');
  });
});

type Spec =
  | { kind: 'agent'; agent: 'echo' | 'broken' | 'waiting'; retry: boolean }
  | { kind: 'sequence' | 'parallel'; failure: 'fail-fast' | 'settle'; children: Spec[]; retry: boolean };

const { node: specArb } = fc.letrec<{ leaf: Spec; group: Spec; node: Spec }>((tie) => ({
  leaf: fc.record({
    kind: fc.constant('agent' as const),
    agent: fc.constantFrom('echo' as const, 'echo' as const, 'broken' as const, 'waiting' as const),
    retry: fc.boolean(),
  }),
  group: fc.record({
    kind: fc.constantFrom('sequence' as const, 'parallel' as const),
    failure: fc.constantFrom('fail-fast' as const, 'settle' as const),
    children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
    retry: fc.boolean(),
  }),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('group')),
}));

/** Turns a spec into a stage tree with unique ids; `waiting` agents time out after 5 ms. */
function build(spec: Spec, next: () => string): StageDefinition {
  const stage: StageDefinition =
    spec.kind === 'agent'
      ? agentStage(next(), spec.agent, spec.agent === 'waiting' ? { timeoutMs: 5 } : {})
      : spec.kind === 'sequence'
        ? { kind: 'sequence', id: next(), stages: spec.children.map((c) => build(c, next)) }
        : {
            kind: 'parallel',
            id: next(),
            failure: spec.failure,
            branches: spec.children.map((c) => build(c, next)),
          };
  return spec.retry ? retryableStage(stage, { retries: 1, minDelayMs: 1 }) : stage;
}

describe('any stage tree', () => {
  it('keeps events consistent and every started stage in the stored result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 3 }), async (specs) => {
        let id = 0;
        const next = () => `s${++id}`;
        const macro: MacroDefinition = {
          name: 'main',
          description: 'd',
          stages: specs.map((s) => build(s, next)),
        };
        const orchestrator = new MacroOrchestrator({ agents, macros: [macro], random: () => 0 });
        const run = orchestrator.run('main', { intent: 'go' }) as MacroRun<unknown>;
        const events = recordEvents(run);
        const iterated: MacroEvent[] = [];
        const drained = (async () => {
          for await (const event of run) iterated.push(event);
        })();
        const result = await drive(run);
        await drained;
        expect(['succeeded', 'failed', 'partial']).toContain(result.status);
        expect(unmatched(events)).toEqual({ open: [], orphanEnds: [] });
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(iterated).toEqual(events);
        const lastEnd = new Map<string, string>();
        for (const e of events) if (e.type === 'stage:end') lastEnd.set(e.path, e.status);
        for (const [path, status] of lastEnd) expect(result.stages[path]?.status).toBe(status);
        expect(await orchestrator.loadResult(result.runId)).toEqual(JSON.parse(JSON.stringify(result)));
      }),
      { numRuns: 60 },
    );
  });
});
