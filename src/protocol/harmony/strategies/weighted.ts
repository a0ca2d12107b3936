/**
 * The `weighted` strategy: the agreement group with the largest summed confidence wins.
 * @module
 */
import { z } from 'zod';
import { fn } from '../../../internal/function-schema.js';
import type { HarmonyBase } from '../../../model/harmony.js';
import { callUser, describeSafely, harmonyFailure } from '../failure.js';
import { type HarmonyRule, harmonyCommon } from '../strategy.js';
import { weighted as vote } from '../votes.js';

/** The group with the largest summed confidence wins; ties go to the earliest branch. */
export interface WeightedHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'weighted';
  /** Confidence of one output: a finite number ≥ 0. */
  readonly confidence: (output: O, branch: string) => number;
}

/** @internal */
export const weighted: HarmonyRule<WeightedHarmony> = {
  schema: z.strictObject({ strategy: z.literal('weighted'), ...harmonyCommon, confidence: fn('confidence') }),
  decide: (options, variants, _services, path) =>
    vote(
      variants,
      variants.map((v) => {
        const c = callUser(path, 'confidence', () => options.confidence(v.output, v.branch));
        if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
          throw harmonyFailure(
            path,
            `confidence of branch "${v.branch}" must be a finite number ≥ 0, got ${describeSafely(c)}`,
          );
        }
        return c;
      }),
    ),
};
