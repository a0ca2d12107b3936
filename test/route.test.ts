import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  approval,
  defineMacro,
  forEach,
  InMemoryMemory,
  MacroConfigurationError,
  MacroOrchestrator,
  type MacroResult,
  macroToMermaid,
  route,
  type StageDefinition,
  sequence,
} from '../src/index.js';
import { recordEvents } from './support/index.js';

const errorOf = (result: MacroResult) => (result.status === 'succeeded' ? undefined : result.error);

/** Agents that tag their input with their id, and count their calls. */
function taggers(...ids: string[]) {
  const calls: string[] = [];
  const agents: Agent[] = ids.map((id) => ({
    id,
    invoke: (input: unknown) => {
      calls.push(id);
      return `${String(input)}>${id}`;
    },
  }));
  return { agents, calls };
}

const byScore = (score: number) => (score > 0.8 ? 'publish' : 'review');

function routed(stage: StageDefinition, agents: Agent[], memory = new InMemoryMemory()) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: [stage] });
  return new MacroOrchestrator({ agents, macros: [macro], memory });
}

describe('route', () => {
  it('runs only the case select names, on the route input, and outputs its output', async () => {
    const { agents, calls } = taggers('publisher', 'reviewer');
    const stage = route('decide', byScore, {
      publish: agentStage('publish', 'publisher'),
      review: agentStage('review', 'reviewer'),
    });
    const result = await routed(stage, agents).run('m', { intent: 'x' }, { input: 0.9 });
    expect(result.output).toBe('0.9>publisher');
    expect(calls).toEqual(['publisher']);
  });

  it('announces the choice as an event, an audit record and the route record’s case', async () => {
    const { agents } = taggers('publisher', 'reviewer');
    const memory = new InMemoryMemory();
    const stage = route('decide', byScore, {
      publish: agentStage('publish', 'publisher'),
      review: agentStage('review', 'reviewer'),
    });
    const run = routed(stage, agents, memory).run('m', { intent: 'x' }, { input: 0.2 });
    const events = recordEvents(run);
    const result = await run;
    expect(events.filter((e) => e.type === 'route')).toEqual([
      expect.objectContaining({ path: 'm/decide', case: 'review', selected: 'review', by: 'select' }),
    ]);
    expect(result.stages['m/decide']).toMatchObject({
      kind: 'route',
      case: 'review',
      output: '0.2>reviewer',
    });
    expect(result.stages['m/decide/review']?.status).toBe('succeeded');
    const audit = await memory.readAudit(result.runId);
    expect(audit.filter((a) => a.kind === 'route')).toEqual([
      expect.objectContaining({
        path: 'm/decide',
        data: { case: 'review', selected: 'review', by: 'select', attempt: 1 },
      }),
    ]);
  });

  it('awaits an async select, given the run context', async () => {
    const { agents } = taggers('a', 'b');
    const stage = route('r', async (_: unknown, context) => (context.intent === 'go-b' ? 'b' : 'a'), {
      a: agentStage('a', 'a'),
      b: agentStage('b', 'b'),
    });
    const result = await routed(stage, agents).run('m', { intent: 'go-b' }, { input: 'in' });
    expect(result.output).toBe('in>b');
  });

  it('asks an agent to select when select names one, and runs the case its output names', async () => {
    const { agents, calls } = taggers('a', 'b');
    const router: Agent = {
      id: 'router',
      invoke: (input: string) => (input.startsWith('urgent') ? 'b' : 'a'),
    };
    const stage = route('r', { agent: 'router' }, { a: agentStage('a', 'a'), b: agentStage('b', 'b') });
    const result = await routed(stage, [...agents, router]).run(
      'm',
      { intent: 'x' },
      { input: 'urgent: disk' },
    );
    expect(result.output).toBe('urgent: disk>b');
    expect(calls).toEqual(['b']);
  });

  it('runs the default case when select names none, and says so', async () => {
    const { agents } = taggers('a', 'b');
    const stage = route(
      'r',
      () => 'c',
      { a: agentStage('a', 'a'), b: agentStage('b', 'b') },
      { default: 'b' },
    );
    const run = routed(stage, agents).run('m', { intent: 'x' }, { input: 'in' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toBe('in>b');
    expect(events.find((e) => e.type === 'route')).toMatchObject({ case: 'b', selected: 'c', by: 'default' });
  });

  it('fails with ROUTE_NOT_FOUND, naming the case and the cases, when select names none and there is no default', async () => {
    const { agents, calls } = taggers('a', 'b');
    const stage = route('r', () => 'c', { a: agentStage('a', 'a'), b: agentStage('b', 'b') });
    const result = await routed(stage, agents).run('m', { intent: 'x' }, { input: 'in' });
    expect(errorOf(result)).toMatchObject({
      code: 'ROUTE_NOT_FOUND',
      path: 'm/r',
      message: 'No case "c" at m/r (cases: a, b) and no default',
    });
    expect(calls).toEqual([]);
  });

  it('does not take a name inherited from Object.prototype for a case', async () => {
    const { agents } = taggers('a');
    const stage = route('r', () => 'constructor', { a: agentStage('a', 'a') });
    const result = await routed(stage, agents).run('m', { intent: 'x' });
    expect(errorOf(result)?.code).toBe('ROUTE_NOT_FOUND');
  });

  it('fails with STAGE_FAILED when select throws or gives something that is not a name', async () => {
    const { agents } = taggers('a');
    const throwing = route(
      'r',
      () => {
        throw new Error('no idea');
      },
      { a: agentStage('a', 'a') },
    );
    const numeric = route('r', () => 7 as unknown as string, { a: agentStage('a', 'a') });
    const first = await routed(throwing, agents).run('m', { intent: 'x' });
    const second = await routed(numeric, agents).run('m', { intent: 'x' });
    expect(errorOf(first)).toMatchObject({ code: 'STAGE_FAILED', message: 'select failed at m/r: no idea' });
    expect(errorOf(second)).toMatchObject({ code: 'STAGE_FAILED', path: 'm/r' });
    expect(errorOf(second)?.message).toContain("The route's select must give a case name at m/r, got 7");
  });

  it('runs a group as a case, its stages under the case path', async () => {
    const { agents } = taggers('a', 'b');
    const stage = route('r', () => 'both', {
      one: agentStage('one', 'a'),
      both: sequence('both', [agentStage('first', 'a'), agentStage('second', 'b')]),
    });
    const result = await routed(stage, agents).run('m', { intent: 'x' }, { input: 'in' });
    expect(result.output).toBe('in>a>b');
    expect(result.stages['m/r/both/second']?.output).toBe('in>a>b');
  });

  it('is restored whole in a resumed run, without selecting again', async () => {
    const memory = new InMemoryMemory();
    let selections = 0;
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        route(
          'r',
          () => {
            selections += 1;
            return 'a';
          },
          { a: agentStage('a', 'a') },
        ),
        agentStage('after', 'after'),
      ],
    });
    const hang: Agent = {
      id: 'after',
      invoke: () => {
        reached();
        return new Promise(() => {});
      },
    };
    const { agents } = taggers('a');
    const first = new MacroOrchestrator({ agents: [...agents, hang], macros: [macro], memory });
    const { runId } = first.run('m', { intent: 'x' }, { input: 'in' });
    await stuck;
    await new Promise((resolve) => setImmediate(resolve));
    const done: Agent = { id: 'after', invoke: (input: string) => `${input}>after` };
    const second = new MacroOrchestrator({ agents: [...agents, done], macros: [macro], memory });
    const result = await second.resume(runId);
    expect(result.output).toBe('in>a>after');
    expect(selections).toBe(1);
    expect(result.stages['m/r']).toMatchObject({ status: 'restored', case: 'a' });
  });
});

describe('route definitions', () => {
  const issuesOf = (stage: StageDefinition) => {
    try {
      routed(stage, taggers('a', 'b').agents);
    } catch (error) {
      if (error instanceof MacroConfigurationError) return error.issues;
      throw error;
    }
    throw new Error('compiled');
  };

  it('refuses a default that names no case, at load', () => {
    const stage = route('r', () => 'a', { a: agentStage('a', 'a') }, { default: 'z' as 'a' });
    expect(issuesOf(stage)).toEqual([
      { path: 'macros[0].stages[0].default', message: 'Unknown default case "z" in macro "m" (cases: a)' },
    ]);
  });

  it('refuses a route without cases', () => {
    expect(issuesOf(route('r', () => 'a', {}) as never)).toEqual([
      expect.objectContaining({
        path: 'macros[0].stages[0].cases',
        message: 'a route needs at least one case',
      }),
    ]);
  });

  it('reports an unknown agent in a case with the path through its name', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [route('r', { agent: 'router' }, { fast: agentStage('f', 'nobody') })],
    });
    let issues: unknown;
    try {
      new MacroOrchestrator({ agents: [], macros: [macro], checkAgents: 'catalogue' });
    } catch (error) {
      issues = (error as MacroConfigurationError).issues;
    }
    expect(issues).toEqual([
      { path: 'macros[0].stages[0].cases.fast.agent', message: 'Unknown agent "nobody" in macro "m"' },
      { path: 'macros[0].stages[0].select.agent', message: 'Unknown route agent "router" in macro "m"' },
    ]);
  });

  it('is drawn with the agent that selects, and a forEach with how it joins', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        route('r', { agent: 'router' }, { a: agentStage('a', 'w') }),
        forEach('merged', agentStage('x', 'w'), { merge: (outputs: unknown[]) => outputs.length }),
        forEach('voted', agentStage('y', 'w'), { harmony: { strategy: 'majority' }, failure: 'settle' }),
      ],
    });
    const chart = macroToMermaid(macro);
    expect(chart).toContain('{"route · agent: router"}');
    expect(chart).toContain('[/"for each element · fail-fast"/]');
    expect(chart).toContain('[\\"merge"\\]');
    expect(chart).toContain('[/"for each element · settle"/]');
    expect(chart).toContain('[\\"harmony: majority"\\]');
  });

  it('draws an approval as a stage that waits, with its prompt', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('draft', 'w'), approval('sign-off', { prompt: 'Publish?' })],
    });
    expect(macroToMermaid(macro)).toContain('>"sign-off · approval: Publish?"]');
  });

  it('is drawn as a choice between its cases', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [route('r', () => 'a', { a: agentStage('a', 'w'), b: agentStage('b', 'w') }, { default: 'b' })],
    });
    const chart = macroToMermaid(macro);
    expect(chart).toContain('{"route · select · default: b"}');
    expect(chart).toContain('-->|"a"|');
    expect(chart).toContain('-->|"b"|');
  });
});
