import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type HarmonyOptions,
  MacroConfigurationError,
  MacroOrchestrator,
  parallel,
  retryableStage,
} from '../../src/index.js';
import { branchAgents } from './fixtures.js';

const agents = branchAgents(['x', 'y', 'z']);

/** The issues of a catalogue holding one macro with `group` as its only stage. */
function issues(group: unknown) {
  try {
    new MacroOrchestrator({
      agents,
      checkAgents: 'catalogue',
      macros: [{ name: 'vote', description: 'vote', stages: [group] }] as never,
    });
  } catch (error) {
    expect(error).toBeInstanceOf(MacroConfigurationError);
    return (error as MacroConfigurationError).issues;
  }
  return [];
}

const branches = [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')] as const;
const group = (options: object) => ({ kind: 'parallel', id: 'answers', branches, ...options });

describe('harmony configuration', () => {
  it('rejects a judge agent that is not registered, at its path', () => {
    expect(issues(group({ harmony: { strategy: 'judge', judge: 'nobody' } }))).toEqual([
      { path: 'macros[0].stages[0].harmony.judge', message: 'Unknown judge agent "nobody" in macro "vote"' },
    ]);
  });

  it('rejects a priority order naming a branch the group does not have', () => {
    expect(issues(group({ harmony: { strategy: 'priority', order: ['a', 'z'] } }))).toEqual([
      {
        path: 'macros[0].stages[0].harmony.order[1]',
        message: 'Unknown branch "z" in the priority order in macro "vote" (branches: a, b, c)',
      },
    ]);
  });

  it('rejects a priority order that lists a branch twice', () => {
    expect(issues(group({ harmony: { strategy: 'priority', order: ['a', 'a'] } }))[0]?.path).toBe(
      'macros[0].stages[0].harmony.order[1]',
    );
  });

  it('accepts a priority order naming a retryable branch by its stage id', () => {
    const retried = parallel('answers', [retryableStage(agentStage('a', 'a')), agentStage('b', 'b')], {
      harmony: { strategy: 'priority', order: ['a', 'b'] },
    });
    expect(issues(retried)).toEqual([]);
  });

  it('rejects an unknown strategy at the strategy field', () => {
    expect(issues(group({ harmony: { strategy: 'coin-flip' } })).map((i) => i.path)).toEqual([
      'macros[0].stages[0].harmony.strategy',
    ]);
  });

  it('rejects an empty list of compared fields', () => {
    expect(
      issues(group({ harmony: { strategy: 'majority', compare: { fields: [] } } })).map((i) => i.path),
    ).toEqual(['macros[0].stages[0].harmony.compare.fields']);
  });

  it('rejects merge next to harmony', () => {
    expect(issues(group({ harmony: { strategy: 'majority' }, merge: () => 1 })).map((i) => i.path)).toEqual([
      'macros[0].stages[0].merge',
    ]);
  });

  it('rejects minSuccesses without failure settle', () => {
    expect(issues(group({ harmony: { strategy: 'majority' }, minSuccesses: 2 }))).toEqual([
      {
        path: 'macros[0].stages[0].minSuccesses',
        message: `minSuccesses needs failure: 'settle' in macro "vote": fail-fast stops at the first failure`,
      },
    ]);
  });

  it('rejects minSuccesses without harmony', () => {
    expect(issues(group({ failure: 'settle', minSuccesses: 2 })).map((i) => i.message)).toEqual([
      `minSuccesses needs harmony in macro "vote": without it the output is every branch's output`,
    ]);
  });

  it('rejects minSuccesses larger than the number of branches', () => {
    const harmony: HarmonyOptions = { strategy: 'majority' };
    expect(issues(group({ harmony, failure: 'settle', minSuccesses: 4 })).map((i) => i.message)).toEqual([
      'minSuccesses (4) is more than the 3 branches in macro "vote"',
    ]);
  });
});
