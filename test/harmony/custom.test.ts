import { describe, expect, it, vi } from 'vitest';
import type { HarmonyChoice } from '../../src/index.js';
import { decide } from './fixtures.js';

describe('custom resolver', () => {
  it('chooses the variant the resolver picks', async () => {
    const { result, decision } = await decide({ strategy: 'custom', resolve: () => ({ winner: 2 }) }, [
      'x',
      'y',
      'z',
    ]);
    expect(result.output).toBe('z');
    expect(decision).toMatchObject({
      strategy: 'custom',
      winner: 2,
      rationale: 'Decided by the custom resolver.',
    });
  });

  it('returns the merge the resolver makes', async () => {
    const resolve = (variants: readonly { output: unknown }[]): HarmonyChoice => ({
      output: variants.map((v) => v.output).join('+'),
      rationale: 'concatenated',
    });
    const { result, decision } = await decide({ strategy: 'custom', resolve }, ['x', 'y', 'z']);
    expect(result.output).toBe('x+y+z');
    expect(decision).toMatchObject({ output: 'x+y+z', rationale: 'concatenated', losers: [0, 1, 2] });
  });

  it('receives the variants with their groups and the run context', async () => {
    const resolve = vi.fn(() => ({ winner: 0 }));
    await decide({ strategy: 'custom', resolve }, ['x', 'y', 'x']);
    expect(resolve).toHaveBeenCalledWith(
      [
        { index: 0, branch: 'a', path: 'vote/answers/a', output: 'x', group: 0 },
        { index: 1, branch: 'b', path: 'vote/answers/b', output: 'y', group: 1 },
        { index: 2, branch: 'c', path: 'vote/answers/c', output: 'x', group: 0 },
      ],
      expect.objectContaining({ intent: 'pick one answer' }),
    );
  });

  it('fails the stage with HARMONY_FAILED when the resolver throws', async () => {
    const resolve = () => {
      throw new Error('cannot merge');
    };
    const { result } = await decide({ strategy: 'custom', resolve }, ['x', 'y', 'z']);
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'HARMONY_FAILED',
      message: 'Harmony could not decide at vote/answers: resolve threw: cannot merge',
    });
  });

  it('fails the stage with HARMONY_FAILED when the resolver returns neither a winner nor an output', async () => {
    const { result } = await decide({ strategy: 'custom', resolve: () => ({}) as HarmonyChoice }, [
      'x',
      'y',
      'z',
    ]);
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'HARMONY_FAILED',
      message: expect.stringContaining('resolve returned both or neither of { winner } and { output }'),
    });
  });
});
