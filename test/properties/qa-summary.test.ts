import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GateVerdict } from '../../src/macro/types.js';
import { latestVerdictsPass } from '../../src/protocol/quality-gates.js';

/** The definition: the latest verdict of each (path, gate) pair, in order, decides. */
function reference(verdicts: readonly GateVerdict[]): boolean {
  const latest = new Map<string, boolean>();
  for (const v of verdicts) latest.set(JSON.stringify([v.path, v.gate]), v.passed);
  return [...latest.values()].every(Boolean);
}

const verdict = fc.record({
  gate: fc.constantFrom('g1', 'g2'),
  path: fc.constantFrom('m/a', 'm/b', 'm/p/c'),
  pass: fc.integer({ min: 1, max: 3 }),
  passed: fc.boolean(),
}) as fc.Arbitrary<GateVerdict>;

describe("a run's QA summary", () => {
  it('passes exactly when the latest verdict of every gate at every path passed', () => {
    fc.assert(
      fc.property(fc.array(verdict, { maxLength: 12 }), (verdicts) => {
        expect(latestVerdictsPass(verdicts)).toBe(reference(verdicts));
      }),
      { numRuns: 500 },
    );
  });
});
