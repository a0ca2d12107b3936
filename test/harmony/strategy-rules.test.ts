/**
 * Each Harmony strategy's rule on its own (src/protocol/harmony/strategies/): the messages
 * of its schema and catalogue check, the agent it names, and the edges of its decision.
 */
import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/errors.js';
import type { HarmonyVariant } from '../../src/index.js';
import { checkHarmony } from '../../src/protocol/harmony/check.js';
import { custom } from '../../src/protocol/harmony/strategies/custom.js';
import { judge } from '../../src/protocol/harmony/strategies/judge.js';
import { priority } from '../../src/protocol/harmony/strategies/priority.js';
import { weighted } from '../../src/protocol/harmony/strategies/weighted.js';
import { HarmonySchema, harmonyAgent } from '../../src/protocol/harmony/strategies.js';
import type { HarmonyServices } from '../../src/protocol/harmony/types.js';

const variants: HarmonyVariant[] = [
  { index: 0, branch: 'a', path: 'g/a', output: 'x', group: 0 },
  { index: 1, branch: 'b', path: 'g/b', output: 'y', group: 1 },
];
const services = (answer: () => Promise<unknown>): HarmonyServices => ({
  context: { intent: 'test', guidance: '', knowledge: [], metadata: {} } as never,
  signal: new AbortController().signal,
  judge: answer,
});
const messages = (options: unknown) => {
  const parsed = HarmonySchema.safeParse(options);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
};
const noAgent = () => {};

describe('Harmony strategy rules', () => {
  it('names the judge agent of a judge strategy, and none for the others or no strategy', () => {
    expect(harmonyAgent({ strategy: 'judge', judge: 'arbiter' })).toBe('arbiter');
    expect(harmonyAgent({ strategy: 'majority' })).toBeUndefined();
    expect(harmonyAgent(undefined)).toBeUndefined();
  });

  it('says which option must be a function, and that a judge id must not be empty', () => {
    expect(messages({ strategy: 'weighted', confidence: 1 })).toEqual([
      'Expected confidence to be a function',
    ]);
    expect(messages({ strategy: 'custom', resolve: 'x' })).toEqual(['Expected resolve to be a function']);
    expect(messages({ strategy: 'judge', judge: '' })).toEqual(['judge agent id must not be empty']);
  });

  it('explains why a forEach cannot use a priority order', () => {
    const issues: ConfigIssue[] = [];
    priority.check?.(
      { strategy: 'priority', order: ['a'] },
      { kind: 'forEach', branches: undefined, path: 'p.harmony', where: 'in macro "m"' },
      issues,
    );
    expect(issues).toEqual([
      {
        path: 'p.harmony.strategy',
        message:
          'A priority order cannot name a forEach\'s elements in macro "m": they are known only at run time; use majority, weighted, judge or custom',
      },
    ]);
  });

  it('says a branch is listed twice in a priority order', () => {
    const issues: ConfigIssue[] = [];
    priority.check?.(
      { strategy: 'priority', order: ['a', 'a'] },
      { kind: 'parallel', branches: ['a', 'b'], path: 'p.harmony', where: 'in macro "m"' },
      issues,
    );
    expect(issues).toEqual([
      {
        path: 'p.harmony.order[1]',
        message: 'Branch "a" is listed twice in the priority order in macro "m"',
      },
    ]);
  });

  it('names the order in its rationale when no branch of it succeeded', async () => {
    const pick = await priority.decide(
      { strategy: 'priority', order: ['c', 'd'] },
      variants,
      services(async () => 0),
      'g',
    );
    expect(pick.rationale).toBe(
      'No branch in the priority order (c > d) succeeded; a is the first branch by position.',
    );
  });

  it('says merge and harmony are exclusive, and accepts a quorum of every branch', () => {
    const issues: ConfigIssue[] = [];
    checkHarmony(
      { kind: 'parallel', harmony: { strategy: 'majority' }, merge: () => 0, branches: ['a', 'b'] },
      'p',
      'in macro "m"',
      issues,
      noAgent,
    );
    checkHarmony(
      {
        kind: 'parallel',
        harmony: { strategy: 'majority' },
        failure: 'settle',
        minSuccesses: 2,
        branches: ['a', 'b'],
      },
      'q',
      'in macro "m"',
      issues,
      noAgent,
    );
    expect(issues).toEqual([
      {
        path: 'p.merge',
        message:
          'merge and harmony are exclusive in macro "m"; use harmony: { strategy: \'custom\', resolve } to merge conflicts',
      },
    ]);
  });

  it('fails a weighted decision on a negative confidence, and names a confidence that throws', async () => {
    const negative = { strategy: 'weighted' as const, confidence: () => -1 };
    expect(() =>
      weighted.decide(
        negative,
        variants,
        services(async () => 0),
        'g',
      ),
    ).toThrow(
      expect.objectContaining({ code: 'HARMONY_FAILED', message: expect.stringContaining('≥ 0, got -1') }),
    );
    const throwing = {
      strategy: 'weighted' as const,
      confidence: () => {
        throw new Error('no idea');
      },
    };
    expect(() =>
      weighted.decide(
        throwing,
        variants,
        services(async () => 0),
        'g',
      ),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining('confidence threw') }));
  });

  it("does not call a custom resolver's choice a tie", async () => {
    const pick = await custom.decide(
      { strategy: 'custom', resolve: () => ({ winner: 1 }) },
      variants,
      services(async () => 0),
      'g',
    );
    expect(pick).toEqual({ winner: 1, rationale: 'Decided by the custom resolver.', tie: false });
  });

  it('falls back to a majority vote by default when the judge fails, keeping the error at the group path', async () => {
    const pick = await judge.decide(
      { strategy: 'judge', judge: 'arbiter' },
      variants,
      services(async () => ({ nonsense: true })),
      'g',
    );
    expect(pick.fallback).toMatchObject({
      strategy: 'majority',
      error: { code: 'INVALID_AGENT_OUTPUT', path: 'g' },
    });
  });

  it("fails with the judge's error in the message when told to", async () => {
    await expect(
      judge.decide(
        { strategy: 'judge', judge: 'arbiter', onJudgeFailure: 'fail' },
        variants,
        services(() => Promise.reject(new Error('offline'))),
        'g',
      ),
    ).rejects.toMatchObject({
      code: 'HARMONY_FAILED',
      message: expect.stringContaining('judge "arbiter" failed: '),
    });
  });
});
