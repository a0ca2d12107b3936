/**
 * The `majority` strategy: the largest group of agreeing outputs wins.
 * @module
 */
import { z } from 'zod';
import type { HarmonyBase } from '../../../model/harmony.js';
import { type HarmonyRule, harmonyCommon } from '../strategy.js';
import { majority as vote } from '../votes.js';

/** The largest agreement group wins; a tie goes to the group with the earliest branch. */
export interface MajorityHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'majority';
}

/** @internal */
export const majority: HarmonyRule<MajorityHarmony> = {
  schema: z.strictObject({ strategy: z.literal('majority'), ...harmonyCommon }),
  decide: (_options, variants) => vote(variants),
};
