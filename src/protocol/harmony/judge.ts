/**
 * The `judge` strategy: an agent picks a variant or writes a merge, with a rationale;
 * when it fails, the group fails or falls back to a majority vote.
 * @internal
 * @module
 */
import { MacroError } from '../../errors.js';
import type { HarmonyVariant } from '../../model/harmony.js';
import { readChoice } from './choice.js';
import { describeSafely, errorRecordOf, harmonyFailure } from './failure.js';
import type { HarmonyServices, Pick } from './types.js';
import { majority } from './votes.js';

/** What judge agent `judge` decides for the group at `path`, or what `onFailure` says to do when it cannot. */
export async function judgePick(
  judge: string,
  onFailure: 'majority' | 'fail',
  variants: readonly HarmonyVariant[],
  services: HarmonyServices,
  path: string,
): Promise<Pick> {
  let error: unknown;
  try {
    const raw = await services.judge(judge, {
      intent: services.context.intent,
      path,
      variants,
    });
    const choice = readChoice(raw, variants.length, true);
    if (typeof choice !== 'string') return { ...choice, rationale: choice.rationale as string, tie: false };
    error = new MacroError('INVALID_AGENT_OUTPUT', `Judge "${judge}" returned ${choice} at ${path}`, {
      path,
    });
  } catch (caught) {
    // A cancelled run or a timed-out group is not a judge failure: nothing is decided.
    if (services.signal.aborted) throw services.signal.reason;
    error = caught;
  }
  if (onFailure === 'fail')
    throw harmonyFailure(path, `judge "${judge}" failed: ${describeSafely(error)}`, error);
  const vote = majority(variants);
  return {
    ...vote,
    rationale: `Judge "${judge}" failed (${describeSafely(error)}); fell back to majority vote. ${vote.rationale}`,
    fallback: { strategy: 'majority', error: errorRecordOf(error) },
  };
}
