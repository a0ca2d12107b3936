import { describe, expect, it } from 'vitest';
import { decide } from './fixtures.js';

const down = () => new Error('branch down');

describe('settle with a quorum', () => {
  it('decides over the branches that succeeded and lists the failed ones as excluded', async () => {
    const { result, decision } = await decide({ strategy: 'majority' }, ['x', down(), 'y'], {
      failure: 'settle',
      minSuccesses: 2,
    });
    expect(result.status).toBe('succeeded');
    expect(decision?.variants.map((v) => v.branch)).toEqual(['a', 'c']);
    expect(decision?.excluded).toEqual([
      {
        branch: 'b',
        path: 'vote/answers/b',
        error: expect.objectContaining({
          code: 'AGENT_FAILED',
          message: expect.stringContaining('branch down'),
        }),
      },
    ]);
  });

  it('returns the survivors output without a decision when they agree', async () => {
    const { result } = await decide({ strategy: 'majority' }, ['x', down(), 'x'], {
      failure: 'settle',
      minSuccesses: 2,
    });
    expect(result.output).toBe('x');
    expect(result.decisions).toEqual([]);
  });

  it('keeps the failed branch in the result errors and stage records', async () => {
    const { result } = await decide({ strategy: 'majority' }, ['x', down(), 'x'], {
      failure: 'settle',
      minSuccesses: 2,
    });
    expect(result.stages['vote/answers/b']?.status).toBe('failed');
    expect(result.errors.map((e) => e.path)).toEqual(['vote/answers/b']);
  });

  it('fails the group with PARALLEL_FAILED when fewer branches succeed than the quorum', async () => {
    const { result } = await decide({ strategy: 'majority' }, ['x', down(), down()], {
      failure: 'settle',
      minSuccesses: 2,
    });
    expect(result.status).toBe('failed');
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'PARALLEL_FAILED',
      path: 'vote/answers',
      message: 'Quorum not reached at vote/answers: 1 of 3 branches succeeded, 2 needed',
      cause: { code: 'AGENT_FAILED' },
    });
  });

  it('fails the group with the branch error when no quorum is set and a branch fails', async () => {
    const { result } = await decide({ strategy: 'majority' }, ['x', down(), 'x'], { failure: 'settle' });
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'AGENT_FAILED',
      path: 'vote/answers/b',
    });
  });
});
