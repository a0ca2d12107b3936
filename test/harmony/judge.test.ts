import { describe, expect, it } from 'vitest';
import { defineAgent, type HarmonyJudgeInput, MacroOrchestrator } from '../../src/index.js';
import { branchAgents, decide, spyAgent, voteMacro } from './fixtures.js';

describe('judge agent', () => {
  it('chooses the variant the judge picks, with its rationale and scores', async () => {
    const { agent } = spyAgent('arbiter', () => ({
      winner: 1,
      rationale: 'b cites a source',
      scores: [1, 3, 2],
    }));
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'z'], {
      agents: [agent],
    });
    expect(result.output).toBe('y');
    expect(decision).toMatchObject({
      strategy: 'judge',
      winner: 1,
      rationale: 'b cites a source',
      scores: [1, 3, 2],
      losers: [0, 2],
    });
  });

  it('gives the judge the intent, the group path and every variant with its group', async () => {
    const { agent, inputs } = spyAgent('arbiter', () => ({ winner: 0, rationale: 'first' }));
    await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'x'], { agents: [agent] });
    expect(inputs).toEqual([
      {
        intent: 'pick one answer',
        path: 'vote/answers',
        variants: [
          { index: 0, branch: 'a', path: 'vote/answers/a', output: 'x', group: 0 },
          { index: 1, branch: 'b', path: 'vote/answers/b', output: 'y', group: 1 },
          { index: 2, branch: 'c', path: 'vote/answers/c', output: 'x', group: 0 },
        ],
      } satisfies HarmonyJudgeInput,
    ]);
  });

  it('returns the merge when the judge merges, and counts every variant that differs from it as a loser', async () => {
    const { agent } = spyAgent('arbiter', () => ({ output: 'x and y', rationale: 'both halves are right' }));
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'x'], {
      agents: [agent],
    });
    expect(result.output).toBe('x and y');
    expect(decision?.winner).toBeUndefined();
    expect(decision).toMatchObject({ output: 'x and y', losers: [0, 1, 2] });
  });

  it('is not called when every branch agrees', async () => {
    const { agent, inputs } = spyAgent('arbiter', () => ({ winner: 0, rationale: 'unused' }));
    const { result } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'x', 'x'], {
      agents: [agent],
    });
    expect(result.output).toBe('x');
    expect(inputs).toEqual([]);
  });
});

describe('a failing judge', () => {
  const throwing = defineAgent({
    id: 'arbiter',
    invoke: () => {
      throw new Error('model overloaded');
    },
  });

  it('falls back to majority vote by default, and the rationale says so', async () => {
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'y'], {
      agents: [throwing],
    });
    expect(result.status).toBe('succeeded');
    expect(result.output).toBe('y');
    expect(decision?.strategy).toBe('judge');
    expect(decision?.rationale).toBe(
      'Judge "arbiter" failed (Agent "arbiter" failed at vote/answers: model overloaded); fell back to majority vote. 2 of 3 variants agree (b, c); a differs.',
    );
  });

  it('records the judge error in the decision fallback', async () => {
    const { decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'y'], {
      agents: [throwing],
    });
    expect(decision?.fallback).toMatchObject({ strategy: 'majority', error: { code: 'AGENT_FAILED' } });
  });

  it('falls back to majority vote when the judge gives no rationale', async () => {
    const { agent } = spyAgent('arbiter', () => ({ winner: 0 }));
    const { result, decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'y'], {
      agents: [agent],
    });
    expect(result.output).toBe('y');
    expect(decision?.fallback?.error).toMatchObject({
      code: 'INVALID_AGENT_OUTPUT',
      message: 'Judge "arbiter" returned no rationale at vote/answers',
    });
  });

  it('falls back to majority vote when the judge picks a variant that does not exist', async () => {
    const { agent } = spyAgent('arbiter', () => ({ winner: 3, rationale: 'the fourth' }));
    const { decision } = await decide({ strategy: 'judge', judge: 'arbiter' }, ['x', 'y', 'y'], {
      agents: [agent],
    });
    expect(decision?.fallback?.error.message).toBe(
      'Judge "arbiter" returned winner 3, but there are 3 variants at vote/answers',
    );
  });

  it('fails the stage with HARMONY_FAILED when onJudgeFailure is fail', async () => {
    const { result } = await decide(
      { strategy: 'judge', judge: 'arbiter', onJudgeFailure: 'fail' },
      ['x', 'y', 'y'],
      {
        agents: [throwing],
      },
    );
    expect(result.status).toBe('failed');
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'HARMONY_FAILED',
      path: 'vote/answers',
      cause: { code: 'AGENT_FAILED' },
    });
    expect(result.decisions).toEqual([]);
  });

  it('does not fall back when the run is cancelled while the judge deliberates', async () => {
    let cancel: () => void = () => {};
    const hanging = defineAgent({
      id: 'arbiter',
      invoke: () => {
        cancel();
        return new Promise<never>(() => {});
      },
    });
    const orchestrator = new MacroOrchestrator({
      agents: [...branchAgents(['x', 'y', 'y']), hanging],
      macros: [voteMacro({ strategy: 'judge', judge: 'arbiter' })],
    });
    const run = orchestrator.run('vote', { intent: 'pick one answer' });
    cancel = () => run.cancel('operator stop');
    const result = await run;
    expect(result.status).toBe('cancelled');
    expect(result.decisions).toEqual([]);
  });
});
