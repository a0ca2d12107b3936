/**
 * The `custom` strategy: the group's own function picks a variant or gives a merge.
 * @module
 */
import { z } from 'zod';
import { fn } from '../../../internal/function-schema.js';
import type { MacroContext } from '../../../model/context.js';
import type { HarmonyBase, HarmonyChoice, HarmonyVariant } from '../../../model/harmony.js';
import { readChoice } from '../choice.js';
import { describeSafely, harmonyFailure } from '../failure.js';
import { type HarmonyRule, harmonyCommon } from '../strategy.js';

/** Your function decides; throwing fails the stage with `HARMONY_FAILED`. */
export interface CustomHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'custom';
  /** Picks a variant or gives a merged output from the conflicting ones. */
  readonly resolve: (
    variants: readonly HarmonyVariant<O>[],
    context: MacroContext,
  ) => HarmonyChoice<O> | Promise<HarmonyChoice<O>>;
}

/** @internal */
export const custom: HarmonyRule<CustomHarmony> = {
  schema: z.strictObject({ strategy: z.literal('custom'), ...harmonyCommon, resolve: fn('resolve') }),
  async decide(options, variants, services, path) {
    let raw: unknown;
    try {
      raw = await options.resolve(variants, services.context);
    } catch (error) {
      throw harmonyFailure(path, `resolve threw: ${describeSafely(error)}`, error);
    }
    const choice = readChoice(raw, variants.length, false);
    if (typeof choice === 'string') throw harmonyFailure(path, `resolve returned ${choice}`);
    return { ...choice, rationale: choice.rationale ?? 'Decided by the custom resolver.', tie: false };
  },
};
