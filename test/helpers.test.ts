import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  type MacroDefinition,
  MacroOrchestrator,
  parallel,
  predicateGate,
  retryableStage,
  sequence,
  subMacro,
} from '../src/index.js';
import { drive, flakyAgent, fnAgent, recordEvents } from './support/index.js';

const double = fnAgent('double', (n: number) => n * 2);
const inc = fnAgent('inc', (n: number) => n + 1);

function orchestrate(...macros: MacroDefinition[]) {
  return new MacroOrchestrator({ agents: [double, inc], macros, random: () => 0 });
}

describe('agentStage', () => {
  it('builds an agent stage from an agent id and options', () => {
    const deliver = () => [];
    expect(agentStage('draft', 'writer', { timeoutMs: 50, maxRefinements: 1, deliver })).toEqual({
      kind: 'agent',
      id: 'draft',
      agent: 'writer',
      timeoutMs: 50,
      maxRefinements: 1,
      deliver,
    });
  });

  it('takes the id of an agent object', () => {
    expect(agentStage('twice', double)).toEqual({ kind: 'agent', id: 'twice', agent: 'double' });
  });

  it('runs its agent on the run input and records the output', async () => {
    const orchestrator = orchestrate(
      defineMacro({ name: 'm', description: 'd', stages: [agentStage('a', double)] }),
    );
    const result = await orchestrator.run('m', { intent: 'x' }, { input: 21 });
    expect(result.status).toBe('succeeded');
    expect(result.output).toBe(42);
    expect(result.stages['m/a']).toMatchObject({
      kind: 'agent',
      status: 'succeeded',
      output: 42,
      agent: 'double',
    });
  });

  it('maps the previous output through its input function', async () => {
    const stage = agentStage('a', double, { input: (previous: { n: number }) => previous.n });
    const orchestrator = orchestrate(defineMacro({ name: 'm', description: 'd', stages: [stage] }));
    const result = await orchestrator.run('m', { intent: 'x' }, { input: { n: 5 } });
    expect(result.output).toBe(10);
  });
});

describe('sequence', () => {
  it('builds a sequence definition holding its stages in order', () => {
    const a = agentStage('a', 'double');
    const b = agentStage('b', 'inc');
    expect(sequence('s', [a, b], { timeoutMs: 100 })).toEqual({
      kind: 'sequence',
      id: 's',
      stages: [a, b],
      timeoutMs: 100,
    });
  });

  it('feeds each output into the next stage and outputs the last one', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [sequence('s', [agentStage('a', double), agentStage('b', inc), agentStage('c', double)])],
    });
    const result = await orchestrate(macro).run('m', { intent: 'x' }, { input: 3 });
    expect(result.output).toBe(14);
    expect(result.stages['m/s/a']?.output).toBe(6);
    expect(result.stages['m/s/b']?.output).toBe(7);
    expect(result.stages['m/s']).toMatchObject({ kind: 'sequence', status: 'succeeded', output: 14 });
  });

  it('feeds the output of one top-level stage into the next', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('a', inc), agentStage('b', double)],
    });
    const result = await orchestrate(macro).run('m', { intent: 'x' }, { input: 1 });
    expect(result.output).toBe(4);
  });
});

describe('parallel', () => {
  it('builds a parallel definition without merge', () => {
    const a = agentStage('a', 'double');
    const b = agentStage('b', 'inc');
    expect(parallel('p', [a, b], { failure: 'settle' })).toEqual({
      kind: 'parallel',
      id: 'p',
      branches: [a, b],
      failure: 'settle',
    });
  });

  it('builds a parallel definition that keeps its merge function', () => {
    const merge = ([x, y]: [number, number]) => x + y;
    const def = parallel('p', [agentStage('a', double), agentStage('b', inc)], { merge });
    expect(def.merge).toBe(merge);
    expect(def.branches.map((b) => (b.kind === 'agent' ? b.id : ''))).toEqual(['a', 'b']);
  });

  it('gives every branch the same input and outputs the tuple of branch outputs', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [parallel('p', [agentStage('a', double), agentStage('b', inc)])],
    });
    const result = await orchestrate(macro).run('m', { intent: 'x' }, { input: 10 });
    expect(result.output).toEqual([20, 11]);
  });

  it('outputs what merge makes of the branch outputs', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        parallel('p', [agentStage('a', double), agentStage('b', inc)], {
          merge: ([x, y], context) => `${context.intent}:${x + y}`,
        }),
      ],
    });
    const result = await orchestrate(macro).run('m', { intent: 'sum' }, { input: 10 });
    expect(result.output).toBe('sum:31');
  });

  /** Runs a two-branch group (input 1: outputs 2 and 2) merged by `combine`. */
  const runWithMerge = (combine: (x: number, y: number) => Promise<number>) =>
    orchestrate(
      defineMacro({
        name: 'm',
        description: 'd',
        stages: [
          parallel('p', [agentStage('a', double), agentStage('b', inc)], {
            merge: ([x, y]) => combine(x, y),
          }),
        ],
      }),
    ).run('m', { intent: 'x' }, { input: 1 });

  it('fails the group with STAGE_FAILED naming the merge when merge throws', async () => {
    const boom = new Error('cannot merge');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        parallel('p', [agentStage('a', double), agentStage('b', inc)], {
          merge: (): number => {
            throw boom;
          },
        }),
      ],
    });
    const result = await orchestrate(macro).run('m', { intent: 'x' }, { input: 1 });
    expect(result.status).toBe('failed');
    expect(result.stages['m/p']?.error).toMatchObject({ code: 'STAGE_FAILED', path: 'm/p' });
    expect(result.stages['m/p']?.error?.message).toContain('merge failed at m/p: cannot merge');
  });

  it('outputs what an async merge resolves to', async () => {
    const result = await runWithMerge(async (x, y) => x * 10 + y);
    expect(result.output).toBe(22);
  });

  it('fails the group with STAGE_FAILED naming the merge when an async merge rejects', async () => {
    const result = await runWithMerge(() => Promise.reject(new Error('later')));
    expect(result.stages['m/p']?.error).toMatchObject({ code: 'STAGE_FAILED', path: 'm/p' });
    expect(result.stages['m/p']?.error?.message).toContain('merge failed at m/p: later');
  });

  it('keeps the tuple in branch order when branches finish out of order', async () => {
    let release = () => {};
    const fastDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineAgent({ id: 'slow', invoke: () => fastDone.then(() => 'slow') });
    const fast = fnAgent('fast', () => {
      release();
      return 'fast';
    });
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [parallel('p', [agentStage('a', slow), agentStage('b', fast)])],
    });
    const orchestrator = new MacroOrchestrator({ agents: [slow, fast], macros: [macro] });
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.output).toEqual(['slow', 'fast']);
  });
});

describe('retryableStage', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('wraps a stage with its retry policy', () => {
    const inner = agentStage('a', 'double');
    expect(retryableStage(inner, { retries: 3, minDelayMs: 10 })).toEqual({
      kind: 'retryable',
      stage: inner,
      retry: { retries: 3, minDelayMs: 10 },
    });
  });

  it('defaults to an empty retry policy', () => {
    expect(retryableStage(agentStage('a', 'x')).retry).toEqual({});
  });

  it('retries a failing agent until it succeeds', async () => {
    const flaky = flakyAgent('flaky', 2, 'ok');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [retryableStage(agentStage('a', flaky), { retries: 2, minDelayMs: 10, jitter: false })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [flaky], macros: [macro] });
    const run = orchestrator.run('m', { intent: 'x' });
    const events = recordEvents(run);
    const result = await drive(run);
    expect(result.status).toBe('succeeded');
    expect(flaky.calls).toHaveLength(3);
    expect(result.stages['m/a']).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(events.filter((e) => e.type === 'retry').map((e) => (e.type === 'retry' ? e.delayMs : 0))).toEqual(
      [10, 20],
    );
  });

  it('fails the stage once its retries are spent', async () => {
    const flaky = flakyAgent('flaky', 5, 'ok');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [retryableStage(agentStage('a', flaky), { retries: 1, minDelayMs: 5 })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [flaky], macros: [macro], random: () => 0 });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    expect(result.status).toBe('failed');
    expect(flaky.calls).toHaveLength(2);
    expect(result.stages['m/a']).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('retries a whole sequence from its first stage', async () => {
    const counted = fnAgent('counted', (n: number) => n);
    const flaky = flakyAgent('flaky', 1, 'done');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        retryableStage(sequence('s', [agentStage('first', counted), agentStage('second', flaky)]), {
          retries: 1,
          minDelayMs: 1,
        }),
      ],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [counted, flaky],
      macros: [macro],
      random: () => 0,
    });
    const run = orchestrator.run('m', { intent: 'x' }, { input: 1 });
    const events = recordEvents(run);
    const result = await drive(run);
    expect(result.output).toBe('done');
    const firstStarts = events.filter((e) => e.type === 'stage:start' && e.path === 'm/s/first');
    expect(firstStarts).toHaveLength(2);
    expect(result.stages['m/s']).toMatchObject({ attempts: 2, status: 'succeeded' });
  });
});

describe('subMacro', () => {
  const inner = defineMacro({
    name: 'inner',
    description: 'doubles then increments',
    stages: [agentStage('x', double), agentStage('y', inc)],
  });

  it('builds a macro stage from a macro definition or a name', () => {
    expect(subMacro('nested', inner)).toEqual({ kind: 'macro', id: 'nested', macro: 'inner' });
    expect(subMacro('nested', 'inner', { timeoutMs: 5 })).toEqual({
      kind: 'macro',
      id: 'nested',
      macro: 'inner',
      timeoutMs: 5,
    });
  });

  it("runs the other macro's stages under the parent's path and outputs its output", async () => {
    const outer = defineMacro({
      name: 'outer',
      description: 'd',
      stages: [subMacro('nested', inner), agentStage('after', double)],
    });
    const run = orchestrate(inner, outer).run('outer', { intent: 'x' }, { input: 2 });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toBe(10);
    expect(result.stages['outer/nested']).toMatchObject({ kind: 'macro', output: 5 });
    expect(result.stages['outer/nested/x']?.output).toBe(4);
    expect(result.stages['outer/nested/y']?.output).toBe(5);
    const started = events.filter((e) => e.type === 'stage:start').map((e) => e.path);
    expect(started).toEqual(['outer/nested', 'outer/nested/x', 'outer/nested/y', 'outer/after']);
    expect(Object.keys(result.stages).some((path) => path.startsWith('inner/'))).toBe(false);
  });

  /** `inner` with a gate of its own: the output must be even (inner outputs 2n + 1). */
  const gated = (check: (output: unknown) => boolean) =>
    defineMacro({
      name: 'inner',
      description: 'doubles then increments, gated',
      stages: [agentStage('x', double), agentStage('y', inc)],
      gates: [predicateGate('even', check, 'the output must be even')],
    });
  const outer = defineMacro({
    name: 'outer',
    description: 'd',
    stages: [subMacro('nested', 'inner'), agentStage('after', double)],
  });

  it("fails its stage with QUALITY_GATE_FAILED when the sub-macro's own gate fails", async () => {
    const run = orchestrate(
      gated((v) => (v as number) % 2 === 0),
      outer,
    ).run('outer', { intent: 'x' }, { input: 2 });
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.stages['outer/nested']?.error).toMatchObject({
      code: 'QUALITY_GATE_FAILED',
      path: 'outer/nested',
    });
    expect(result.stages['outer/after']).toBeUndefined();
  });

  it("records the sub-macro's gate verdicts at its stage's path, and goes on when they pass", async () => {
    const run = orchestrate(
      gated((v) => typeof v === 'number'),
      outer,
    ).run('outer', { intent: 'x' }, { input: 2 });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toBe(10);
    expect(result.qa.verdicts).toEqual([{ gate: 'even', path: 'outer/nested', pass: 1, passed: true }]);
    expect(events.filter((e) => e.type === 'gate').map((e) => e.path)).toEqual(['outer/nested']);
  });
});

describe('defineMacro', () => {
  it('returns the definition unchanged', () => {
    const definition = {
      name: 'm',
      description: 'd',
      labels: { team: 'core' },
      stages: [agentStage('a', 'double')] as const,
    };
    expect(defineMacro(definition)).toBe(definition);
  });

  it('produces a definition the orchestrator accepts and runs', async () => {
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('a', double)] });
    const orchestrator = orchestrate(macro);
    expect(orchestrator.macroNames).toEqual(['m']);
    expect((await orchestrator.run('m', { intent: 'x' }, { input: 1 })).status).toBe('succeeded');
  });
});

describe('stage helpers given input they cannot read', () => {
  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const throwing = (error: Error) => ({
    get timeoutMs(): number {
      throw error;
    },
  });

  it('agentStage refuses an agent that is a revoked proxy, with the TypeError as the cause', () => {
    expect(() => agentStage('draft', revoked() as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('agentStage "draft"'),
        cause: expect.any(TypeError),
      }),
    );
  });

  it('agentStage refuses an agent that is null or a number, naming the stage', () => {
    for (const agent of [null, undefined, 42]) {
      expect(() => agentStage('draft', agent as never)).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('agentStage "draft"'),
        }),
      );
    }
  });

  it('agentStage refuses options whose getter throws, with its error as the cause', () => {
    const boom = new Error('boom');
    expect(() => agentStage('draft', 'writer', throwing(boom))).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: boom }),
    );
  });

  it('refuses options that are no object instead of dropping them', () => {
    const stage = agentStage('a', 'writer');
    const builds = [
      () => agentStage('a', 'writer', 42 as never),
      () => sequence('s', [stage], null as never),
      () => parallel('p', [stage], 'fail-fast' as never),
      () => subMacro('m', 'inner', [] as never),
    ];
    for (const build of builds) {
      expect(build).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('options') }),
      );
    }
  });

  it('sequence, parallel and subMacro refuse options that are a revoked proxy, naming the helper', () => {
    const stage = agentStage('a', 'writer');
    const cases: [string, () => unknown][] = [
      ['sequence "s"', () => sequence('s', [stage], revoked() as never)],
      ['parallel "p"', () => parallel('p', [stage], revoked() as never)],
      ['subMacro "m"', () => subMacro('m', 'inner', revoked() as never)],
    ];
    for (const [name, build] of cases) {
      expect(build).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining(name),
          cause: expect.any(TypeError),
        }),
      );
    }
  });

  it('subMacro refuses a macro that is a revoked proxy or whose name getter throws', () => {
    const boom = new Error('boom');
    const macro = {
      get name(): string {
        throw boom;
      },
    };
    expect(() => subMacro('m', revoked() as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: expect.any(TypeError) }),
    );
    expect(() => subMacro('m', macro as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: boom }),
    );
  });
});
