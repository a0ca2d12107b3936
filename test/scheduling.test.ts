import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  defineAgent,
  defineMacro,
  isMacroError,
  MacroOrchestrator,
  parallel,
  type SchedulingPolicyInput,
  type StageDefinition,
  sequence,
} from '../src/index.js';

/** Agents that count their calls in flight: each call lasts a few event-loop turns. */
function tracked(ids: readonly string[]) {
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  let total = 0;
  let peakTotal = 0;
  const agents: Agent[] = ids.map((id) =>
    defineAgent({
      id,
      invoke: async (input: unknown) => {
        const now = (inFlight.get(id) ?? 0) + 1;
        inFlight.set(id, now);
        peak.set(id, Math.max(peak.get(id) ?? 0, now));
        total += 1;
        peakTotal = Math.max(peakTotal, total);
        for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        inFlight.set(id, (inFlight.get(id) ?? 1) - 1);
        total -= 1;
        return input;
      },
    }),
  );
  return { agents, peak, peakTotal: () => peakTotal };
}

/** `count` agent stages on `agent`, ids `${prefix}0`…, as the non-empty list `parallel` takes. */
function stages(agent: string, count: number, prefix: string): [StageDefinition, ...StageDefinition[]] {
  const [first, ...rest] = Array.from({ length: count }, (_, i) => agentStage(`${prefix}${i}`, agent));
  return [first as StageDefinition, ...rest];
}

const fan = (agent: string, branches: number, name = 'fan') =>
  defineMacro({
    name,
    description: `${branches} branches on ${agent}`,
    stages: [parallel('p', stages(agent, branches, 'b'))],
  });

describe('scheduling policies', () => {
  it('runs at most `concurrency` agent calls at once across the branches of a group', async () => {
    const { agents, peakTotal } = tracked(['a']);
    const orchestrator = new MacroOrchestrator({
      agents,
      macros: [fan('a', 10)],
      scheduling: { concurrency: 3 },
    });
    const result = await orchestrator.run('fan', { intent: 'x' }, { input: 1 });
    expect(result.status).toBe('succeeded');
    expect(peakTotal()).toBe(3);
  });

  /** Runs `each` branches on `slow` beside `each` on `fast` under `scheduling`; returns the peaks. */
  async function slowBesideFast(each: number, scheduling: SchedulingPolicyInput) {
    const { agents, peak, peakTotal } = tracked(['slow', 'fast']);
    const mixed = defineMacro({
      name: 'mixed',
      description: `${each} branches on each agent`,
      stages: [parallel('p', [...stages('slow', each, 's'), ...stages('fast', each, 'f')])],
    });
    const orchestrator = new MacroOrchestrator({ agents, macros: [mixed], scheduling });
    expect((await orchestrator.run('mixed', { intent: 'x' }, { input: 1 })).status).toBe('succeeded');
    return { slow: peak.get('slow'), fast: peak.get('fast'), total: peakTotal() };
  }

  it('holds an agent to its perAgent limit while other agents run alongside it', async () => {
    expect(await slowBesideFast(4, { perAgent: { slow: 1 } })).toEqual({ slow: 1, fast: 4, total: 5 });
  });

  it('applies the global limit and a perAgent limit together', async () => {
    const peaks = await slowBesideFast(3, { concurrency: 2, perAgent: { slow: 1 } });
    expect(peaks.slow).toBe(1);
    expect(peaks.total).toBe(2);
  });

  it('shares one budget between the runs of an orchestrator', async () => {
    const { agents, peakTotal } = tracked(['a']);
    const orchestrator = new MacroOrchestrator({
      agents,
      macros: [fan('a', 4)],
      scheduling: { concurrency: 2 },
    });
    const runs = [1, 2, 3].map(() => orchestrator.run('fan', { intent: 'x' }, { input: 1 }));
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(peakTotal()).toBe(2);
  });

  it('gives composite stages no slot, so nested groups under a limit of 1 cannot deadlock', async () => {
    const { agents, peakTotal } = tracked(['a']);
    const nested = defineMacro({
      name: 'nested',
      description: 'parallels inside a parallel inside a sequence',
      stages: [
        sequence('s', [
          parallel('outer', [
            parallel('left', [agentStage('l1', 'a'), agentStage('l2', 'a')]),
            parallel('right', [agentStage('r1', 'a'), agentStage('r2', 'a')]),
          ]),
        ]),
      ],
    });
    const orchestrator = new MacroOrchestrator({ agents, macros: [nested], scheduling: { concurrency: 1 } });
    const result = await orchestrator.run('nested', { intent: 'x' }, { input: 1 });
    expect(result.status).toBe('succeeded');
    expect(peakTotal()).toBe(1);
  });

  it('refuses a concurrency below 1 with INVALID_OPTIONS naming scheduling.concurrency', () => {
    let caught: unknown;
    try {
      new MacroOrchestrator({ agents: [], macros: [], scheduling: { concurrency: 0 } });
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('INVALID_OPTIONS');
    expect(String((caught as Error).message)).toContain('scheduling.concurrency');
  });
});
