/**
 * The `judge` strategy: an agent picks a variant or writes a merge, with a rationale;
 * when it fails, the group fails or falls back to a majority vote.
 * @module
 */
import { z } from 'zod';
import { MacroError } from '../../../errors.js';
import type { HarmonyBase } from '../../../model/harmony.js';
import { readChoice } from '../choice.js';
import { describeSafely, errorRecordOf, harmonyFailure } from '../failure.js';
import { type HarmonyRule, harmonyCommon } from '../strategy.js';
import type { Pick } from '../types.js';
import { majority } from '../votes.js';

/**
 * A judge agent receives a {@link HarmonyJudgeInput} and returns a {@link HarmonyChoice}
 * with a non-empty `rationale`.
 */
export interface JudgeHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'judge';
  /** Id of a registered agent. */
  readonly judge: string;
  /**
   * When the judge throws or returns something invalid: decide by majority vote
   * (the rationale says so) or fail the stage with `HARMONY_FAILED`.
   * @default 'majority'
   */
  readonly onJudgeFailure?: 'majority' | 'fail';
}

/** @internal */
export const judge: HarmonyRule<JudgeHarmony> = {
  schema: z.strictObject({
    strategy: z.literal('judge'),
    ...harmonyCommon,
    judge: z.string().min(1, 'judge agent id must not be empty'),
    onJudgeFailure: z.enum(['majority', 'fail']).optional(),
  }),
  agent: (options) => ({ id: options.judge, field: 'judge', role: 'judge agent' }),
  async decide({ judge: id, onJudgeFailure = 'majority' }, variants, services, path): Promise<Pick> {
    let error: unknown;
    try {
      const raw = await services.judge(id, { intent: services.context.intent, path, variants });
      const choice = readChoice(raw, variants.length, true);
      if (typeof choice !== 'string') return { ...choice, rationale: choice.rationale as string, tie: false };
      error = new MacroError('INVALID_AGENT_OUTPUT', `Judge "${id}" returned ${choice} at ${path}`, { path });
    } catch (caught) {
      // A cancelled run or a timed-out group is not a judge failure: nothing is decided.
      if (services.signal.aborted) throw services.signal.reason;
      error = caught;
    }
    if (onJudgeFailure === 'fail')
      throw harmonyFailure(path, `judge "${id}" failed: ${describeSafely(error)}`, error);
    const vote = majority(variants);
    return {
      ...vote,
      rationale: `Judge "${id}" failed (${describeSafely(error)}); fell back to majority vote. ${vote.rationale}`,
      fallback: { strategy: 'majority', error: errorRecordOf(error) },
    };
  },
};
