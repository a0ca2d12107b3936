import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMacroError } from '../../src/index.js';
import { Harmony, type HarmonyServices } from '../../src/protocol/harmony.js';
import { revoked } from '../support/index.js';
import { decide } from './fixtures.js';

const nullPrototypeBigInt = (): object => Object.assign(Object.create(null), { n: 1n });
const unprintable = (): object => ({
  toJSON() {
    throw new Error('no JSON');
  },
  toString() {
    throw new Error('no string');
  },
});

/** Values that `String()` and `JSON.stringify()` both throw on. */
const hostile = [
  ['a revoked proxy', revoked],
  ['a null-prototype object holding a BigInt', nullPrototypeBigInt],
  ['an object whose toJSON and toString throw', unprintable],
] as const;

const failure = (result: Awaited<ReturnType<typeof decide>>['result']) =>
  result.status === 'succeeded' ? undefined : result.error;

describe('a hostile value thrown or returned by a Harmony callback', () => {
  it.each(hostile)('thrown by compare (%s) fails the group with HARMONY_FAILED', async (_, value) => {
    const compare = () => {
      throw value();
    };
    const { result } = await decide({ strategy: 'majority', compare }, ['x', 'y', 'x']);
    expect(failure(result)).toMatchObject({ code: 'HARMONY_FAILED', path: 'vote/answers' });
  });

  it.each(hostile)('returned as a confidence (%s) fails the group with HARMONY_FAILED', async (_, value) => {
    const confidence = () => value() as unknown as number;
    const { result } = await decide({ strategy: 'weighted', confidence }, ['x', 'y', 'x']);
    expect(failure(result)).toMatchObject({
      code: 'HARMONY_FAILED',
      message: expect.stringContaining('confidence of branch "a" must be a finite number'),
    });
  });

  it.each(hostile)('thrown by resolve (%s) fails the group with HARMONY_FAILED', async (_, value) => {
    const resolve = () => {
      throw value();
    };
    const { result } = await decide({ strategy: 'custom', resolve }, ['x', 'y', 'x']);
    expect(failure(result)).toMatchObject({ code: 'HARMONY_FAILED', path: 'vote/answers' });
  });
});

const branches = ['a', 'b', 'c'].map((id) => ({ id, path: `vote/answers/${id}` }));
const services: HarmonyServices = {
  context: { intent: 'i', guidance: '', knowledge: [], metadata: {} },
  signal: new AbortController().signal,
  judge: () => Promise.reject(revoked()),
};

describe('outputs compared by a comparator that JSON cannot represent', () => {
  const majority = (compare: (a: unknown, b: unknown) => boolean) =>
    new Harmony({ strategy: 'majority', compare }, 'vote/answers', branches, 3);

  it('are decided when one is a null-prototype object holding a BigInt', async () => {
    const sameKind = (a: unknown, b: unknown) => typeof a === typeof b;
    const outputs = [nullPrototypeBigInt(), 'y', nullPrototypeBigInt()];
    const { decision } = await majority(sameKind).resolve(outputs, new Map(), services);
    expect(decision).toMatchObject({ winner: 0, losers: [1] });
  });

  it('get different hashes when they are cycles that differ', async () => {
    const cyclic = (name: string) => {
      const node: { name: string; self?: unknown } = { name };
      node.self = node;
      return node;
    };
    const outputs = [cyclic('x'), cyclic('y'), cyclic('x')];
    const { decision } = await majority(() => false).resolve(outputs, new Map(), services);
    const [a, b, c] = decision?.variants.map((v) => v.hash) ?? [];
    expect(a).toBe(c);
    expect(a).not.toBe(b);
  });
});

/** A hostile value by name: built inside the property, so that fast-check can print a counterexample. */
class Hostile {
  readonly name: (typeof hostile)[number][0];
  constructor(name: (typeof hostile)[number][0]) {
    this.name = name;
  }
  make(): object {
    return (hostile.find(([name]) => name === this.name) as (typeof hostile)[number])[1]();
  }
  toString() {
    return `<${this.name}>`;
  }
}
const made = (value: unknown) => (value instanceof Hostile ? value.make() : value);

describe('Harmony.resolve over arbitrary outputs', () => {
  const output = fc.oneof(
    fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
    fc.constantFrom(...hostile.map(([name]) => new Hostile(name))),
  );

  it('settles with a decision or a MacroError, whatever the outputs and the comparison', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(output, output, output),
        fc.constantFrom<'equality' | 'fields' | 'comparator'>('equality', 'fields', 'comparator'),
        async (outputs, comparison) => {
          const compare =
            comparison === 'equality'
              ? undefined
              : comparison === 'fields'
                ? { fields: ['a', '__proto__'] as [string, ...string[]] }
                : (a: unknown, b: unknown) => a === b;
          const harmony = new Harmony(
            { strategy: 'judge', judge: 'j', ...(compare === undefined ? {} : { compare }) },
            'vote/answers',
            branches,
            3,
          );
          let thrown: unknown;
          await harmony.resolve(outputs.map(made), new Map(), services).catch((error: unknown) => {
            thrown = error;
          });
          expect(thrown === undefined || isMacroError(thrown)).toBe(true);
        },
      ),
    );
  });
});
