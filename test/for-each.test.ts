import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  agentStage,
  defineMacro,
  forEach,
  InMemoryMemory,
  MacroConfigurationError,
  type MacroDefinition,
  MacroOrchestrator,
  type MacroResult,
  retryableStage,
  type StageDefinition,
  sequence,
} from '../src/index.js';
import { recordEvents } from './support/index.js';

/** The run's error, when it has one. */
const errorOf = (result: MacroResult) => (result.status === 'succeeded' ? undefined : result.error);

const echo: Agent = { id: 'echo', invoke: (n: unknown) => n };
const plan = (items: unknown): Agent => ({ id: 'planner', invoke: () => items });

/** A macro `m`: the planner's output, then `each` over it. */
function fanOver(each: StageDefinition, planner: Agent, ...agents: Agent[]) {
  const macro = defineMacro({
    name: 'm',
    description: 'a planner, then one stage per planned element',
    stages: [agentStage('plan', 'planner'), each],
  });
  return new MacroOrchestrator({ agents: [planner, ...agents], macros: [macro] });
}

/** An agent that counts calls in flight and waits for `release` before answering. */
function gatedAgent(id: string) {
  const waiting: Array<() => void> = [];
  const state = { inFlight: 0, most: 0, calls: [] as unknown[] };
  const agent: Agent = {
    id,
    invoke: (input: unknown) => {
      state.calls.push(input);
      state.inFlight += 1;
      state.most = Math.max(state.most, state.inFlight);
      return new Promise((resolve) =>
        waiting.push(() => {
          state.inFlight -= 1;
          resolve(input);
        }),
      );
    },
  };
  /** Answers every waiting call, turn after turn, until `settled` has settled. */
  const releaseUntil = async (settled: Promise<unknown>) => {
    let done = false;
    void settled.finally(() => {
      done = true;
    });
    while (!done) {
      for (const release of waiting.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { agent, state, releaseUntil };
}

describe('forEach', () => {
  it('runs its stage once per element of the previous output, in order, at paths id[i]', async () => {
    const orchestrator = fanOver(forEach('each', agentStage('shout', 'upper')), plan(['a', 'b', 'c']), {
      id: 'upper',
      invoke: (s: string) => s.toUpperCase(),
    });
    const run = orchestrator.run('m', { intent: 'go' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toEqual(['A', 'B', 'C']);
    const ends = events.filter((e) => e.type === 'stage:end').map((e) => e.path);
    expect(ends).toEqual(['m/plan', 'm/each[0]', 'm/each[1]', 'm/each[2]', 'm/each']);
    expect(result.stages['m/each[1]']).toMatchObject({ id: 'each[1]', output: 'B', status: 'succeeded' });
  });

  it('outputs an empty array over no elements, without calling the element agent', async () => {
    const never: Agent = {
      id: 'never',
      invoke: () => {
        throw new Error('called');
      },
    };
    const result = await fanOver(forEach('each', agentStage('e', 'never')), plan([]), never).run('m', {
      intent: 'go',
    });
    expect(result.status).toBe('succeeded');
    expect(result.output).toEqual([]);
  });

  it('runs a single element', async () => {
    const result = await fanOver(forEach('each', agentStage('e', 'echo')), plan(['only']), echo).run('m', {
      intent: 'go',
    });
    expect(result.output).toEqual(['only']);
  });

  it('runs 10,000 elements and returns their outputs in element order', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const result = await fanOver(forEach('each', agentStage('e', 'echo')), plan(items), echo).run('m', {
      intent: 'go',
    });
    expect(result.status).toBe('succeeded');
    expect(result.output).toEqual(items);
    expect(result.stages['m/each[9999]']?.output).toBe(9999);
  });

  it('maps the previous output to its elements with items, given the run context', async () => {
    let seen: unknown;
    const each = forEach('each', agentStage('e', 'echo'), {
      items: (plan: { topics: string[] }, context) => {
        seen = context.intent;
        return plan.topics;
      },
    });
    const result = await fanOver(each, plan({ topics: ['x', 'y'] }), echo).run('m', { intent: 'study' });
    expect(result.output).toEqual(['x', 'y']);
    expect(seen).toBe('study');
  });

  it('runs every stage kind as its element stage, nested paths under the element', async () => {
    const each = forEach('each', sequence('twice', [agentStage('one', 'bang'), agentStage('two', 'bang')]));
    const bang: Agent = { id: 'bang', invoke: (s: string) => `${s}!` };
    const result = await fanOver(each, plan(['a', 'b']), bang).run('m', { intent: 'go' });
    expect(result.output).toEqual(['a!!', 'b!!']);
    expect(result.stages['m/each[1]/two']?.output).toBe('b!!');
  });

  it('nests: a forEach element that is itself a forEach runs at path id[i][j]', async () => {
    const each = forEach('outer', forEach('inner', agentStage('e', 'echo')));
    const result = await fanOver(
      each,
      plan([
        [1, 2],
        [3, 4, 5],
      ]),
      echo,
    ).run('m', { intent: 'go' });
    expect(result.output).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(result.stages['m/outer[1][2]']?.output).toBe(5);
  });

  it('fails with STAGE_FAILED, naming its path, when its input is not an array', async () => {
    const result = await fanOver(forEach('each', agentStage('e', 'echo')), plan('not a list'), echo).run(
      'm',
      {
        intent: 'go',
      },
    );
    expect(result.status).toBe('failed');
    expect(errorOf(result)).toMatchObject({ code: 'STAGE_FAILED', path: 'm/each' });
    expect(errorOf(result)?.message).toContain('forEach needs an array of elements at m/each');
    expect(errorOf(result)?.message).toContain('items');
  });

  it('fails with STAGE_FAILED when its items mapper gives something that is not an array', async () => {
    const each = forEach('each', agentStage('e', 'echo'), { items: () => 'abc' as never });
    const result = await fanOver(each, plan([]), echo).run('m', { intent: 'go' });
    expect(errorOf(result)?.message).toBe('forEach needs an array of elements at m/each, got abc from items');
  });

  it('fails with STAGE_FAILED when its items mapper throws', async () => {
    const each = forEach('each', agentStage('e', 'echo'), {
      items: () => {
        throw new Error('no plan');
      },
    });
    const result = await fanOver(each, plan([]), echo).run('m', { intent: 'go' });
    expect(errorOf(result)).toMatchObject({ code: 'STAGE_FAILED', path: 'm/each' });
    expect(errorOf(result)?.message).toContain('items failed at m/each: no plan');
  });

  it('awaits an async items mapper', async () => {
    const each = forEach('each', agentStage('e', 'echo'), { items: async () => [7, 8] });
    const result = await fanOver(each, plan([]), echo).run('m', { intent: 'go' });
    expect(result.output).toEqual([7, 8]);
  });

  it('keeps the elements it was given: changing the array afterwards does not reach the run', async () => {
    const list = [1, 2, 3];
    const each = forEach('each', agentStage('e', 'slow'), { items: () => list });
    const slow: Agent = {
      id: 'slow',
      invoke: async (n: number) => {
        list.length = 0;
        return n;
      },
    };
    const result = await fanOver(each, plan([]), slow).run('m', { intent: 'go' });
    expect(result.output).toEqual([1, 2, 3]);
  });

  it('has at most `concurrency` elements in flight', async () => {
    const gated = gatedAgent('gated');
    const run = fanOver(
      forEach('each', agentStage('e', 'gated'), { concurrency: 3 }),
      plan(Array.from({ length: 10 }, (_, i) => i)),
      gated.agent,
    ).run('m', { intent: 'go' });
    await gated.releaseUntil(run.result);
    const result = await run;
    expect(result.output).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(gated.state.most).toBe(3);
  });

  it('under fail-fast, starts no element after one fails and cancels those in flight', async () => {
    const calls: number[] = [];
    const failing: Agent = {
      id: 'f',
      invoke: async (n: number, invocation: AgentInvocation) => {
        calls.push(n);
        if (n === 2) throw new Error('element 2 fails');
        await new Promise((_, reject) =>
          invocation.signal.addEventListener('abort', () => reject(invocation.signal.reason)),
        );
      },
    };
    const run = fanOver(
      forEach('each', agentStage('e', 'f'), { concurrency: 3 }),
      plan([0, 1, 2, 3, 4, 5]),
      failing,
    ).run('m', { intent: 'go' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('failed');
    expect(errorOf(result)?.message).toContain('element 2 fails');
    expect(calls).toEqual([0, 1, 2]);
    const statuses = Object.fromEntries(
      events.filter((e) => e.type === 'stage:end').map((e) => [e.path, (e as { status: string }).status]),
    );
    expect(statuses).toMatchObject({
      'm/each[0]': 'cancelled',
      'm/each[1]': 'cancelled',
      'm/each[2]': 'failed',
    });
  });

  it('under settle, runs every element and then fails with the first failure', async () => {
    const calls: number[] = [];
    const failing: Agent = {
      id: 'f',
      invoke: (n: number) => {
        calls.push(n);
        if (n % 2 === 1) throw new Error(`element ${n} fails`);
        return n;
      },
    };
    const result = await fanOver(
      forEach('each', agentStage('e', 'f'), { failure: 'settle', concurrency: 2 }),
      plan([0, 1, 2, 3]),
      failing,
    ).run('m', { intent: 'go' });
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(result.status).toBe('failed');
    expect(errorOf(result)?.message).toContain('element 1 fails');
    expect(result.stages['m/each[2]']).toMatchObject({ status: 'succeeded', output: 2 });
  });

  it('with settle, harmony and minSuccesses, leaves failed elements out of the decision', async () => {
    const votes: Agent = {
      id: 'v',
      invoke: (n: number) => {
        if (n === 0) throw new Error('no vote');
        return n === 3 ? 'no' : 'yes';
      },
    };
    const each = forEach('each', agentStage('e', 'v'), {
      failure: 'settle',
      harmony: { strategy: 'majority' },
      minSuccesses: 2,
    });
    const result = await fanOver(each, plan([0, 1, 2, 3]), votes).run('m', { intent: 'go' });
    expect(result.status).toBe('succeeded');
    expect(result.output).toBe('yes');
    const decision = result.decisions[0];
    expect(decision?.path).toBe('m/each');
    expect(decision?.excluded).toEqual([expect.objectContaining({ branch: 'each[0]', path: 'm/each[0]' })]);
  });

  it('fails with HARMONY_FAILED when harmony has no element to choose from', async () => {
    const each = forEach('each', agentStage('e', 'echo'), { harmony: { strategy: 'majority' } });
    const result = await fanOver(each, plan([]), echo).run('m', { intent: 'go' });
    expect(errorOf(result)).toMatchObject({ code: 'HARMONY_FAILED', path: 'm/each' });
  });

  it('passes the element outputs, in order, to merge', async () => {
    const each = forEach('each', agentStage('e', 'echo'), {
      merge: (outputs: unknown[]) => outputs.join('+'),
    });
    const result = await fanOver(each, plan(['a', 'b', 'c']), echo).run('m', { intent: 'go' });
    expect(result.output).toBe('a+b+c');
  });

  it('retries an element under its own retry policy, at its own path', async () => {
    let calls = 0;
    const flaky: Agent = {
      id: 'flaky',
      invoke: (n: number) => {
        calls += 1;
        if (n === 1 && calls === 2) throw new Error('once');
        return n;
      },
    };
    const each = forEach('each', retryableStage(agentStage('e', 'flaky'), { retries: 1, minDelayMs: 1 }), {
      concurrency: 1,
    });
    const run = fanOver(each, plan([0, 1, 2]), flaky).run('m', { intent: 'go' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.path)).toEqual(['m/each[1]']);
  });

  it('stops starting elements once the run is cancelled, and ends cancelled', async () => {
    const gated = gatedAgent('gated');
    const run = fanOver(
      forEach('each', agentStage('e', 'gated'), { concurrency: 2 }),
      plan([0, 1, 2, 3, 4]),
      gated.agent,
    ).run('m', { intent: 'go' });
    while (gated.state.calls.length < 2) await new Promise((resolve) => setImmediate(resolve));
    run.cancel();
    const result = await run;
    expect(result.status).toBe('cancelled');
    expect(gated.state.calls).toEqual([0, 1]);
  });
});

describe('a forEach in a resumed run', () => {
  it('restores the elements that finished and runs only the unfinished ones', async () => {
    const memory = new InMemoryMemory();
    const calls = new Map<number, number>();
    const macro: MacroDefinition = defineMacro({
      name: 'm',
      description: 'a planner, then one stage per element',
      stages: [agentStage('plan', 'planner'), forEach('each', agentStage('e', 'worker'))],
    });
    const worker = (hang: number | undefined, reached?: () => void): Agent => ({
      id: 'worker',
      invoke: (n: number) => {
        calls.set(n, (calls.get(n) ?? 0) + 1);
        if (n === hang) {
          reached?.();
          return new Promise(() => {});
        }
        return n * 10;
      },
    });
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const crashed = new MacroOrchestrator({
      agents: [plan([0, 1, 2, 3]), worker(2, reached)],
      macros: [macro],
      memory,
    });
    const { runId } = crashed.run('m', { intent: 'go' });
    await stuck;
    await new Promise((resolve) => setImmediate(resolve));

    const restarted = new MacroOrchestrator({
      agents: [plan([0, 1, 2, 3]), worker(undefined)],
      macros: [macro],
      memory,
    });
    const run = restarted.resume(runId);
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('succeeded');
    expect(result.output).toEqual([0, 10, 20, 30]);
    expect(Object.fromEntries(calls)).toEqual({ 0: 1, 1: 1, 2: 2, 3: 1 });
    const restored = events
      .filter((e) => e.type === 'stage:end' && (e as { status: string }).status === 'restored')
      .map((e) => e.path);
    expect(restored).toEqual(['m/plan', 'm/each[0]', 'm/each[1]', 'm/each[3]']);
  });
});

describe('a forEach with merge in a resumed run', () => {
  it('is restored whole once it finished, with its elements, and merges nothing again', async () => {
    const memory = new InMemoryMemory();
    let merges = 0;
    const macro: MacroDefinition = defineMacro({
      name: 'm',
      description: 'a planner, a merged forEach, then a stage that hangs the first time',
      stages: [
        agentStage('plan', 'planner'),
        forEach('each', agentStage('e', 'echo'), {
          merge: (outputs: unknown[]) => {
            merges += 1;
            return outputs.join('+');
          },
        }),
        agentStage('after', 'after'),
      ],
    });
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const hang: Agent = {
      id: 'after',
      invoke: () => {
        reached();
        return new Promise(() => {});
      },
    };
    const first = new MacroOrchestrator({ agents: [plan(['x', 'y']), echo, hang], macros: [macro], memory });
    const { runId } = first.run('m', { intent: 'go' });
    await stuck;
    await new Promise((resolve) => setImmediate(resolve));
    const done: Agent = { id: 'after', invoke: (s: string) => `${s}!` };
    const run = new MacroOrchestrator({
      agents: [plan(['x', 'y']), echo, done],
      macros: [macro],
      memory,
    }).resume(runId);
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toBe('x+y!');
    expect(merges).toBe(1);
    const restored = events
      .filter((e) => e.type === 'stage:end' && (e as { status: string }).status === 'restored')
      .map((e) => e.path);
    expect(restored).toEqual(['m/plan', 'm/each[0]', 'm/each[1]', 'm/each']);
    expect(result.stages['m/each[1]']).toMatchObject({ status: 'restored', output: 'y' });
  });
});

describe('forEach definitions', () => {
  const build = (each: StageDefinition) =>
    new MacroOrchestrator({
      agents: [echo, plan([])],
      checkAgents: 'catalogue',
      macros: [defineMacro({ name: 'm', description: 'd', stages: [agentStage('plan', 'planner'), each] })],
    });
  const issuesOf = (each: StageDefinition) => {
    try {
      build(each);
    } catch (error) {
      if (error instanceof MacroConfigurationError) return error.issues;
      throw error;
    }
    throw new Error('compiled');
  };

  it('reports an unknown agent of its element stage with the path through `stage`', () => {
    expect(issuesOf(forEach('each', agentStage('e', 'nobody')))).toContainEqual({
      path: 'macros[0].stages[1].stage.agent',
      message: 'Unknown agent "nobody" in macro "m"',
    });
  });

  it('refuses a priority Harmony order, which cannot name elements known only at run time', () => {
    const each = forEach('each', agentStage('e', 'echo'), {
      harmony: { strategy: 'priority', order: ['x'] },
    });
    expect(issuesOf(each)).toEqual([
      expect.objectContaining({ path: 'macros[0].stages[1].harmony.strategy' }),
    ]);
  });

  it('refuses minSuccesses without settle and harmony, as a parallel group does', () => {
    const each = forEach('each', agentStage('e', 'echo'), { minSuccesses: 1 } as never);
    expect(issuesOf(each).map((issue) => issue.path)).toEqual([
      'macros[0].stages[1].minSuccesses',
      'macros[0].stages[1].minSuccesses',
    ]);
  });

  it('refuses a concurrency below 1', () => {
    expect(issuesOf(forEach('each', agentStage('e', 'echo'), { concurrency: 0 }))).toEqual([
      expect.objectContaining({ path: 'macros[0].stages[1].concurrency' }),
    ]);
  });

  it('refuses an element stage id used elsewhere in the macro', () => {
    expect(issuesOf(forEach('plan', agentStage('plan', 'echo'))).map((issue) => issue.message)).toContain(
      'Duplicate stage id "plan" in macro "m"',
    );
  });

  it('fails with STAGE_FAILED, never a bare TypeError, when its items are a revoked proxy', async () => {
    const revoked = Proxy.revocable([], {});
    revoked.revoke();
    const result = await fanOver(
      forEach('each', agentStage('e', 'echo'), { items: () => revoked.proxy }),
      plan([]),
      echo,
    ).run('m', { intent: 'go' });
    expect(errorOf(result)).toMatchObject({ code: 'STAGE_FAILED', path: 'm/each' });
    expect(errorOf(result)?.message).toContain('revoked');
  });

  it('fails with STAGE_FAILED when reading an element throws', async () => {
    const hostile = new Proxy([1, 2], {
      get(target, key, receiver) {
        if (key === '1') throw new Error('hostile element');
        return Reflect.get(target, key, receiver);
      },
    });
    const result = await fanOver(
      forEach('each', agentStage('e', 'echo'), { items: () => hostile }),
      plan([]),
      echo,
    ).run('m', { intent: 'go' });
    expect(errorOf(result)).toMatchObject({ code: 'STAGE_FAILED', path: 'm/each' });
    expect(errorOf(result)?.message).toBe('reading the elements failed at m/each: hostile element');
  });
});
