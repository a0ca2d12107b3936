/**
 * Every Harmony strategy, once: the options type a group declares, the schema that checks
 * them, and the rule each name dispatches to. A new strategy is a file in strategies/ and
 * a line in each of the three lists here (and its name in `HarmonyStrategy`, which the
 * `satisfies` below holds to this table).
 * @module
 */
import { z } from 'zod';
import type { HarmonyStrategy } from '../../model/harmony.js';
import { type CustomHarmony, custom } from './strategies/custom.js';
import { type JudgeHarmony, judge } from './strategies/judge.js';
import { type MajorityHarmony, majority } from './strategies/majority.js';
import { type PriorityHarmony, priority } from './strategies/priority.js';
import { type WeightedHarmony, weighted } from './strategies/weighted.js';
import type { HarmonyRule } from './strategy.js';

export type { CustomHarmony, JudgeHarmony, MajorityHarmony, PriorityHarmony, WeightedHarmony };

/** How a parallel group resolves conflicting branch outputs. */
export type HarmonyOptions<O = any> =
  | MajorityHarmony<O>
  | WeightedHarmony<O>
  | PriorityHarmony<O>
  | JudgeHarmony<O>
  | CustomHarmony<O>;

const RULES = { majority, weighted, priority, judge, custom } satisfies {
  readonly [K in HarmonyStrategy]: HarmonyRule<Extract<HarmonyOptions, { strategy: K }>>;
};

/** Shape of a parallel group's `harmony`; the strategies' checks (strategies/) do the rest. @internal */
export const HarmonySchema = z.discriminatedUnion('strategy', [
  majority.schema,
  weighted.schema,
  priority.schema,
  judge.schema,
  custom.schema,
]);

/** The rule of `options`' strategy. @internal */
export function ruleOf<H extends HarmonyOptions>(options: H): HarmonyRule<H> {
  // The table maps each name to the rule of the options with that name; TypeScript cannot see it through the union.
  return RULES[options.strategy] as unknown as HarmonyRule<H>;
}

/** The agent a Harmony policy calls, if any (a judge strategy's judge). @internal */
export function harmonyAgent(options: HarmonyOptions | undefined): string | undefined {
  return options === undefined ? undefined : ruleOf(options).agent?.(options)?.id;
}
