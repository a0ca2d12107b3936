import { describe, expect, it } from 'vitest';
import { decide } from './fixtures.js';

describe('agent priority', () => {
  it('chooses the first branch in the priority order even against a majority', async () => {
    const { result, decision } = await decide({ strategy: 'priority', order: ['c', 'a'] }, ['x', 'x', 'y']);
    expect(result.output).toBe('y');
    expect(decision).toMatchObject({ strategy: 'priority', winner: 2, losers: [0, 1], tie: false });
    expect(decision?.rationale).toBe(
      'c ranks highest in the priority order (c > a) among the branches that succeeded.',
    );
  });

  it('moves down the order when the preferred branch failed', async () => {
    const { result, decision } = await decide(
      { strategy: 'priority', order: ['c', 'b'] },
      ['x', 'y', new Error('down')],
      {
        failure: 'settle',
        minSuccesses: 2,
      },
    );
    expect(result.output).toBe('y');
    expect(decision?.winner).toBe(1);
  });

  it('falls back to branch order when no listed branch succeeded', async () => {
    const { result, decision } = await decide(
      { strategy: 'priority', order: ['c'] },
      ['x', 'y', new Error('down')],
      {
        failure: 'settle',
        minSuccesses: 2,
      },
    );
    expect(result.output).toBe('x');
    expect(decision?.rationale).toBe(
      'No branch in the priority order (c) succeeded; a is the first branch by position.',
    );
  });
});
