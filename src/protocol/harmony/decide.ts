/**
 * Which strategy decides a conflict: the one place that dispatches on
 * `options.strategy`. A new strategy is a file beside this one and a case here.
 * @internal
 * @module
 */
import type { HarmonyOptions, HarmonyVariant } from '../../model/harmony.js';
import { readChoice } from './choice.js';
import { callUser, describeSafely, harmonyFailure } from './failure.js';
import { judgePick } from './judge.js';
import { priority } from './priority.js';
import type { HarmonyServices, Pick } from './types.js';
import { majority, weighted } from './votes.js';

/** What the strategy of `options` decides among `variants`, which disagree, for the group at `path`. */
export async function decide(
  options: HarmonyOptions,
  variants: readonly HarmonyVariant[],
  services: HarmonyServices,
  path: string,
): Promise<Pick> {
  switch (options.strategy) {
    case 'majority':
      return majority(variants);
    case 'weighted':
      return weighted(
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
      );
    case 'priority':
      return priority(variants, options.order);
    case 'judge':
      return judgePick(options.judge, options.onJudgeFailure ?? 'majority', variants, services, path);
    case 'custom': {
      let raw: unknown;
      try {
        raw = await options.resolve(variants, services.context);
      } catch (error) {
        throw harmonyFailure(path, `resolve threw: ${describeSafely(error)}`, error);
      }
      const choice = readChoice(raw, variants.length, false);
      if (typeof choice === 'string') throw harmonyFailure(path, `resolve returned ${choice}`);
      return { ...choice, rationale: choice.rationale ?? 'Decided by the custom resolver.', tie: false };
    }
  }
}
