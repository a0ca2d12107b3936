import { describe, expect, it } from 'vitest';
import { Harmony, type HarmonyServices } from '../../src/protocol/harmony.js';
import { decide } from './fixtures.js';

describe('majority vote', () => {
  it('chooses the output most branches agree on', async () => {
    const { result, decision } = await decide({ strategy: 'majority' }, ['x', 'y', 'x']);
    expect(result.status).toBe('succeeded');
    expect(result.output).toBe('x');
    expect(decision).toMatchObject({
      strategy: 'majority',
      winner: 0,
      scores: [2, 1, 2],
      losers: [1],
      tie: false,
    });
  });

  it('says in the rationale which branches agree and which differ', async () => {
    const { decision } = await decide({ strategy: 'majority' }, ['x', 'y', 'x']);
    expect(decision?.rationale).toBe('2 of 3 variants agree (a, c); b differs.');
  });

  it('breaks a tie in favour of the group with the earliest branch', async () => {
    const { result, decision } = await decide({ strategy: 'majority' }, ['x', 'y', 'z']);
    expect(result.output).toBe('x');
    expect(decision).toMatchObject({ winner: 0, tie: true, losers: [1, 2] });
    expect(decision?.rationale).toContain('the tie goes to the earliest branch, a');
  });

  it('treats objects that differ only in key order as equal', async () => {
    const { result, decision } = await decide({ strategy: 'majority' }, [
      { answer: 42, unit: 'm' },
      { unit: 's', answer: 7 },
      { unit: 'm', answer: 42 },
    ]);
    expect(result.output).toEqual({ answer: 42, unit: 'm' });
    expect(decision?.variants.map((v) => v.group)).toEqual([0, 1, 0]);
    expect(decision?.variants[0]?.hash).toBe(decision?.variants[2]?.hash);
  });

  it('compares only the declared fields when compare lists fields', async () => {
    const { result, decision } = await decide({ strategy: 'majority', compare: { fields: ['verdict'] } }, [
      { verdict: 'approve', note: 'fine' },
      { verdict: 'reject', note: 'no' },
      { verdict: 'approve', note: 'looks good' },
    ]);
    expect(result.output).toEqual({ verdict: 'approve', note: 'fine' });
    expect(decision).toMatchObject({ comparison: 'fields', fields: ['verdict'], losers: [1] });
  });

  it('lists the compared fields in which a losing variant differs', async () => {
    const { decision } = await decide({ strategy: 'majority', compare: { fields: ['verdict', 'score'] } }, [
      { verdict: 'approve', score: 1 },
      { verdict: 'reject', score: 1, note: 'x' },
      { verdict: 'approve', score: 1 },
    ]);
    expect(decision?.variants[1]?.differs).toEqual(['verdict']);
    expect(decision?.variants[2]?.differs).toBeUndefined();
  });

  it('groups outputs with a comparator function', async () => {
    const sameWord = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();
    const { result, decision } = await decide({ strategy: 'majority', compare: sameWord }, [
      'no',
      'Yes',
      'YES',
    ]);
    expect(result.output).toBe('Yes');
    expect(decision).toMatchObject({ comparison: 'comparator', winner: 1, losers: [0] });
  });

  it('fails the stage with HARMONY_FAILED when the comparator throws', async () => {
    const compare = () => {
      throw new Error('bad comparator');
    };
    const { result } = await decide({ strategy: 'majority', compare }, ['x', 'y', 'z']);
    expect(result.status).toBe('failed');
    expect(result.status !== 'succeeded' && result.error).toMatchObject({
      code: 'HARMONY_FAILED',
      path: 'vote/answers',
      message: expect.stringContaining('compare threw: bad comparator'),
    });
  });
});

describe('outputs JSON cannot represent', () => {
  const branches = ['a', 'b', 'c'].map((id) => ({ id, path: `vote/answers/${id}` }));
  const services: HarmonyServices = {
    context: { intent: 'i', guidance: '', knowledge: [], metadata: {} },
    signal: new AbortController().signal,
    judge: () => Promise.reject(new Error('no judge')),
  };

  it('are decided when a comparator compares them', async () => {
    const cyclic = (name: string) => {
      const node: { name: string; self?: unknown } = { name };
      node.self = node;
      return node;
    };
    const sameName = (a: { name: string }, b: { name: string }) => a.name === b.name;
    const harmony = new Harmony({ strategy: 'majority', compare: sameName }, 'vote/answers', branches, 3);
    const { decision } = await harmony.resolve([cyclic('x'), cyclic('y'), cyclic('x')], new Map(), services);
    expect(decision).toMatchObject({ winner: 0, losers: [1] });
  });

  it('fail with HARMONY_FAILED when compared by equality', async () => {
    const harmony = new Harmony({ strategy: 'majority' }, 'vote/answers', branches, 3);
    const outputs = [{ n: 1n }, { n: 2n }, { n: 1n }];
    await expect(harmony.resolve(outputs, new Map(), services)).rejects.toMatchObject({
      code: 'HARMONY_FAILED',
      message: expect.stringContaining('outputs must be JSON-serialisable to be compared'),
    });
  });
});
