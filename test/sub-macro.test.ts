/**
 * A sub-macro stage runs its macro as a macro runs: its stages, its own gates, and, while
 * that fails, its fallback, then that one's, at `<stage path>/~<fallback>`.
 */
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineMacro,
  forEach,
  InMemoryMemory,
  MacroConfigurationError,
  type MacroDefinition,
  type MacroEvent,
  MacroOrchestrator,
  type MacroResult,
  predicateGate,
  subMacro,
} from '../src/index.js';
import { okAgent, recordEvents, scriptedAgent, throwingAgent } from './support/index.js';

const errorOf = (result: MacroResult) => (result.status === 'succeeded' ? undefined : result.error);

const inner = defineMacro({
  name: 'inner',
  description: 'fails',
  fallback: 'plan-b',
  stages: [agentStage('work', 'broken')],
});
const planB = defineMacro({
  name: 'plan-b',
  description: 'recovers',
  stages: [agentStage('rescue', 'rescuer')],
});
const outer = defineMacro({
  name: 'outer',
  description: 'a sub-macro, then a stage on its output',
  stages: [subMacro('sub', inner), agentStage('after', 'echo')],
});
const echo = scriptedAgent('echo', (_n, input) => `${String(input)}!`);

function build(
  macros: MacroDefinition[],
  agents = [throwingAgent('broken', new Error('down')), okAgent('rescuer', 'rescued'), echo],
  options = {},
) {
  return new MacroOrchestrator({ agents, macros, ...options });
}

describe('a sub-macro stage whose macro fails', () => {
  it("runs the macro's fallback in its place, and goes on with that output", async () => {
    const result = await build([outer, inner, planB]).run('outer', { intent: 'x' });
    expect(result.status).toBe('succeeded');
    expect(result.status === 'succeeded' && result.output).toBe('rescued!');
    expect(result.stages['outer/sub']).toMatchObject({ status: 'succeeded', output: 'rescued' });
    expect(result.stages['outer/sub/~plan-b/rescue']).toMatchObject({
      status: 'succeeded',
      output: 'rescued',
    });
    expect(result.stages['outer/sub/work']?.status).toBe('failed');
  });

  it('announces the fallback as an event and an audit record at the stage path', async () => {
    const memory = new InMemoryMemory();
    const run = build([outer, inner, planB], undefined, { memory }).run('outer', { intent: 'x' });
    const events = recordEvents(run);
    const result = await run;
    expect(events.filter((e) => e.type === 'fallback')).toEqual([
      expect.objectContaining({
        path: 'outer/sub',
        from: 'inner',
        to: 'plan-b',
        depth: 1,
        error: expect.objectContaining({ code: 'AGENT_FAILED' }),
      }),
    ]);
    const audit = await memory.readAudit(result.runId);
    expect(audit.filter((a) => a.kind === 'fallback').map((a) => a.path)).toEqual(['outer/sub']);
  });

  it("takes the fallback's fallback when the fallback fails too", async () => {
    const planA = defineMacro({
      name: 'plan-a',
      description: 'fails too',
      fallback: 'plan-b',
      stages: [agentStage('try', 'broken')],
    });
    const first = { ...inner, fallback: 'plan-a' } as MacroDefinition;
    const run = build([outer, first, planA, planB]).run('outer', { intent: 'x' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status === 'succeeded' && result.output).toBe('rescued!');
    expect(events.filter((e) => e.type === 'fallback').map((e) => [e.from, e.to, e.depth])).toEqual([
      ['inner', 'plan-a', 1],
      ['plan-a', 'plan-b', 2],
    ]);
  });

  it('fails with the last failure when every fallback fails', async () => {
    const failing = { ...planB, stages: [agentStage('rescue', 'broken')] } as MacroDefinition;
    const result = await build([outer, inner, failing]).run('outer', { intent: 'x' });
    expect(errorOf(result)).toMatchObject({ code: 'AGENT_FAILED', path: 'outer/sub/~plan-b/rescue' });
  });

  it("takes the fallback when the macro's own gates fail its output", async () => {
    const gated = defineMacro({
      name: 'inner',
      description: 'a gate its output fails',
      fallback: 'plan-b',
      gates: [predicateGate('never', () => false)],
      stages: [agentStage('work', 'rescuer')],
    });
    const result = await build([outer, gated, planB]).run('outer', { intent: 'x' });
    expect(result.status === 'succeeded' && result.output).toBe('rescued!');
  });

  it('takes no more fallbacks than maxFallbackDepth', async () => {
    const planA = defineMacro({
      name: 'plan-a',
      description: 'd',
      fallback: 'plan-b',
      stages: [agentStage('t', 'broken')],
    });
    const first = { ...inner, fallback: 'plan-a' } as MacroDefinition;
    const result = await build([outer, first, planA, planB], undefined, { maxFallbackDepth: 1 }).run(
      'outer',
      {
        intent: 'x',
      },
    );
    expect(errorOf(result)).toMatchObject({ code: 'AGENT_FAILED', path: 'outer/sub/~plan-a/t' });
  });

  it('takes no fallback once the stage is out of time', async () => {
    const hanging = scriptedAgent('broken', () => new Promise(() => {}));
    const timed = defineMacro({
      name: 'outer',
      description: 'd',
      stages: [subMacro('sub', inner, { timeoutMs: 5 }), agentStage('after', 'echo')],
    });
    const run = build([timed, inner, planB], [hanging, okAgent('rescuer'), echo]).run('outer', {
      intent: 'x',
    });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('partial');
    expect(events.some((e) => e.type === 'fallback')).toBe(false);
  });

  it('is restored whole in a resumed run, with the fallback stages it ran', async () => {
    const memory = new InMemoryMemory();
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const hang = scriptedAgent('echo', () => {
      reached();
      return new Promise(() => {});
    });
    build(
      [outer, inner, planB],
      [throwingAgent('broken', new Error('down')), okAgent('rescuer', 'rescued'), hang],
      {
        memory,
      },
    ).run('outer', { intent: 'x' });
    await stuck;
    await new Promise((resolve) => setImmediate(resolve));
    const rescuer = okAgent('rescuer', 'rescued again');
    const resumed = build(
      [outer, inner, planB],
      [throwingAgent('broken', new Error('down')), rescuer, echo],
      {
        memory,
      },
    );
    const [runId] = (await memory.listRuns()).map((run) => run.runId);
    const result = await resumed.resume(runId as string);
    expect(result.status === 'succeeded' && result.output).toBe('rescued!');
    expect(rescuer.calls).toHaveLength(0);
    expect(result.stages['outer/sub']).toMatchObject({ status: 'restored', output: 'rescued' });
    expect(result.stages['outer/sub/~plan-b/rescue']?.status).toBe('restored');
  });
});

describe('sub-macro fallbacks in the catalogue', () => {
  it('refuses a macro whose sub-macro falls back to it: running it would never end', () => {
    const loop = defineMacro({ name: 'loop', description: 'd', stages: [subMacro('s', 'inner')] });
    const back = { ...inner, fallback: 'loop' } as MacroDefinition;
    expect(() => build([loop, back])).toThrow(MacroConfigurationError);
    try {
      build([loop, back]);
    } catch (error) {
      expect((error as MacroConfigurationError).issues).toContainEqual({
        path: 'macros[0].stages',
        message: 'Sub-macro cycle: loop → loop',
      });
    }
  });
});

describe("a sub-macro's labels", () => {
  const labelled = defineMacro({
    name: 'inner',
    description: 'labelled',
    labels: { component: 'search', team: 'search' },
    fallback: 'plan-b',
    stages: [agentStage('work', 'worker')],
  });
  const rescue = { ...planB, labels: { component: 'rescue' } } as MacroDefinition;
  const caller = defineMacro({
    name: 'outer',
    description: 'd',
    labels: { team: 'sre' },
    stages: [subMacro('sub', 'inner'), forEach('each', subMacro('per', 'inner'), { items: () => [1] })],
  });
  const labelsOf = (events: MacroEvent[], path: string) =>
    events.find((e) => e.type === 'stage:start' && e.path === path)?.labels;

  it("are on its stages' events, merged under the caller's, whose labels win", async () => {
    const run = build([caller, labelled, rescue], [okAgent('worker'), okAgent('rescuer'), echo]).run(
      'outer',
      {
        intent: 'x',
      },
    );
    const events = recordEvents(run);
    await run;
    expect(labelsOf(events, 'outer/sub/work')).toEqual({ macro: 'outer', team: 'sre', component: 'search' });
    expect(labelsOf(events, 'outer/each[0]/work')).toEqual({
      macro: 'outer',
      team: 'sre',
      component: 'search',
    });
  });

  it("are not on the sub-macro stage's own events, which are its caller's", async () => {
    const run = build([caller, labelled, rescue], [okAgent('worker'), okAgent('rescuer'), echo]).run(
      'outer',
      {
        intent: 'x',
      },
    );
    const events = recordEvents(run);
    await run;
    expect(labelsOf(events, 'outer/sub')).toEqual({ macro: 'outer', team: 'sre' });
  });

  it("of the caller are on an unlabelled fallback's stages, not the sub-macro's", async () => {
    const plain = { ...planB, labels: undefined } as unknown as MacroDefinition;
    const run = build(
      [caller, labelled, plain],
      [throwingAgent('worker', new Error('down')), okAgent('rescuer'), echo],
    ).run('outer', { intent: 'x' });
    const events = recordEvents(run);
    await run;
    expect(labelsOf(events, 'outer/sub/~plan-b/rescue')).toEqual({ macro: 'outer', team: 'sre' });
  });

  it("of a fallback are on the fallback's stages", async () => {
    const run = build(
      [caller, labelled, rescue],
      [throwingAgent('worker', new Error('down')), okAgent('rescuer'), echo],
    ).run('outer', { intent: 'x' });
    const events = recordEvents(run);
    await run;
    expect(labelsOf(events, 'outer/sub/~plan-b/rescue')).toEqual({
      macro: 'outer',
      team: 'sre',
      component: 'rescue',
    });
  });
});
