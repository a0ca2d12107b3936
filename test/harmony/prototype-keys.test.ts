import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type DecisionEvent,
  defineMacro,
  type HarmonyOptions,
  MacroOrchestrator,
  parallel,
} from '../../src/index.js';
import { fnAgent, recordEvents } from '../support/index.js';
import { decide } from './fixtures.js';

/** An agent's JSON answer with an own `__proto__` key: the hidden payload. */
const hidden = () => JSON.parse('{"v":1,"__proto__":{"x":"token"}}') as { v: number };

/** Runs a parallel group of two branches, `plain` and `smuggler`, with `harmony`. */
async function twoBranches(harmony: HarmonyOptions, first: unknown, second: unknown) {
  const macro = defineMacro({
    name: 'pair',
    description: 'two answers, one output',
    stages: [parallel('answers', [agentStage('a', 'a'), agentStage('b', 'b')], { harmony })],
  });
  const orchestrator = new MacroOrchestrator({
    agents: [fnAgent('a', () => first), fnAgent('b', () => second)],
    macros: [macro],
  });
  const run = orchestrator.run('pair', { intent: 'pick one answer' });
  const events = recordEvents(run);
  const result = await run;
  return { result, events, audit: await orchestrator.memory.readAudit(result.runId) };
}

describe('an own __proto__ key in a branch output', () => {
  it('makes two outputs that differ only in it a conflict with a decision', async () => {
    const { result } = await twoBranches({ strategy: 'majority' }, { v: 1 }, hidden());
    expect(result.decisions).toHaveLength(1);
    expect(result.decisions[0]).toMatchObject({ path: 'pair/answers', losers: [1] });
  });

  it('emits a decision event for that conflict', async () => {
    const { events } = await twoBranches({ strategy: 'majority' }, { v: 1 }, hidden());
    const decisions = events.filter((e): e is DecisionEvent => e.type === 'decision');
    expect(decisions.map((d) => [d.id, d.path])).toEqual([['d1', 'pair/answers']]);
  });

  it('appends that decision to the audit trail', async () => {
    const { audit } = await twoBranches({ strategy: 'majority' }, { v: 1 }, hidden());
    expect(audit.map((a) => [a.kind, a.path])).toEqual([['decision', 'pair/answers']]);
  });

  it('is not returned when the other branches agree without it', async () => {
    const { result } = await decide({ strategy: 'majority' }, [hidden(), { v: 1 }, { v: 1 }]);
    expect(result.status === 'succeeded' && Object.hasOwn(result.output as object, '__proto__')).toBe(false);
    expect(result.decisions[0]?.losers).toEqual([0]);
  });

  it('gives the output a hash of its own', async () => {
    const { decision } = await decide({ strategy: 'majority' }, [{ v: 1 }, hidden(), { v: 1 }]);
    const [a, b, c] = decision?.variants.map((v) => v.hash) ?? [];
    expect(a).toBe(c);
    expect(b).not.toBe(a);
  });

  it('is listed as a field the losing output differs in, even when its value is an empty object', async () => {
    const emptyProto = JSON.parse('{"v":1,"__proto__":{}}');
    const { decision } = await decide({ strategy: 'majority' }, [{ v: 1 }, emptyProto, { v: 1 }]);
    expect(decision?.variants[1]?.differs).toEqual(['__proto__']);
  });

  it('is compared when compare lists it, instead of the prototype of an output without it', async () => {
    const emptyProto = JSON.parse('{"__proto__":{}}');
    const { decision } = await decide({ strategy: 'majority', compare: { fields: ['__proto__'] } }, [
      {},
      emptyProto,
      {},
    ]);
    expect(decision).toMatchObject({
      comparison: 'fields',
      losers: [1],
      variants: [{}, { differs: ['__proto__'] }, {}],
    });
  });
});

describe('a judge answer', () => {
  it('is a pick, not a merge, when its output property is only inherited', async () => {
    const answer = Object.assign(Object.create({ output: 'inherited' }), { winner: 1, rationale: 'b' });
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'z'], {
      agents: [fnAgent('arbiter', () => answer)],
    });
    expect(result.status === 'succeeded' && result.output).toBe('y');
    expect(decision).toMatchObject({ winner: 1, rationale: 'b' });
    expect(decision?.fallback).toBeUndefined();
  });

  it('is a merge, not a pick, when its winner property is only inherited', async () => {
    const answer = Object.assign(Object.create({ winner: 0 }), { output: 'x and y', rationale: 'both' });
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'z'], {
      agents: [fnAgent('arbiter', () => answer)],
    });
    expect(result.status === 'succeeded' && result.output).toBe('x and y');
    expect(decision?.winner).toBeUndefined();
    expect(decision?.fallback).toBeUndefined();
  });
});
