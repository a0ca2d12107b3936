import { describe, expect, it, vi } from 'vitest';
import { decide } from './fixtures.js';

interface Answer {
  readonly answer: string;
  readonly confidence: number;
}
const confidence = (output: Answer) => output.confidence;
const byAnswer = { fields: ['answer'] } as const;

describe('confidence-weighted vote', () => {
  it('lets one confident branch outweigh two unsure ones', async () => {
    const { result, decision } = await decide({ strategy: 'weighted', confidence, compare: byAnswer }, [
      { answer: 'x', confidence: 0.2 },
      { answer: 'x', confidence: 0.2 },
      { answer: 'y', confidence: 0.9 },
    ]);
    expect(result.output).toEqual({ answer: 'y', confidence: 0.9 });
    expect(decision).toMatchObject({ strategy: 'weighted', winner: 2, scores: [0.2, 0.2, 0.9], tie: false });
  });

  it('chooses the most confident variant of the winning group', async () => {
    const { decision } = await decide({ strategy: 'weighted', confidence, compare: byAnswer }, [
      { answer: 'x', confidence: 0.5 },
      { answer: 'x', confidence: 0.9 },
      { answer: 'y', confidence: 0.1 },
    ]);
    expect(decision).toMatchObject({ winner: 1, losers: [2] });
  });

  it('breaks a tie in total confidence in favour of the earliest branch', async () => {
    const { decision } = await decide({ strategy: 'weighted', confidence, compare: byAnswer }, [
      { answer: 'x', confidence: 0.5 },
      { answer: 'y', confidence: 0.5 },
      { answer: 'z', confidence: 0.25 },
    ]);
    expect(decision).toMatchObject({ winner: 0, tie: true });
  });

  it('passes each output and its branch id to confidence', async () => {
    const spy = vi.fn((_output: unknown, branch: string) => (branch === 'b' ? 1 : 0));
    const { decision } = await decide({ strategy: 'weighted', confidence: spy }, ['x', 'y', 'z']);
    expect(spy.mock.calls).toEqual([
      ['x', 'a'],
      ['y', 'b'],
      ['z', 'c'],
    ]);
    expect(decision?.winner).toBe(1);
  });

  it('fails the stage with HARMONY_FAILED when a confidence is not a finite number of at least 0', async () => {
    const { result } = await decide({ strategy: 'weighted', confidence: () => Number.NaN }, ['x', 'y', 'z']);
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'HARMONY_FAILED',
      message: expect.stringContaining('confidence of branch "a" must be a finite number ≥ 0, got null'),
    });
  });

  it('fails the stage with HARMONY_FAILED when confidence throws', async () => {
    const throwing = () => {
      throw new Error('no score');
    };
    const { result } = await decide({ strategy: 'weighted', confidence: throwing }, ['x', 'y', 'z']);
    expect(result.status !== 'succeeded' && result.error).toMatchObject({ code: 'HARMONY_FAILED' });
    expect(result.decisions).toEqual([]);
  });
});
