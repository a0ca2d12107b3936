/**
 * What a judge agent or a custom resolver answers: read (own properties only) and
 * checked, or described as what is wrong with it.
 * @internal
 * @module
 */
import { z } from 'zod';
import { formatIssues, type IssueFormat } from '../../internal/zod-issues.js';
import type { HarmonyChoice } from '../../model/harmony.js';
import { isRecord, own } from './canonical.js';
import { describeSafely } from './failure.js';

/** What a judge agent (or a custom resolver) must return. @internal */
const ChoiceSchema = z.object({
  winner: z.number().int().min(0).optional(),
  output: z.unknown().optional(),
  rationale: z.string().optional(),
  scores: z.array(z.number().finite()).optional(),
});

/** `winner: message`, `value: message`. */
const CHOICE_ISSUES: IssueFormat = { keys: 'dots', place: 'before', root: 'value' };

/** A valid choice among `count` variants, or a description of what is wrong with `raw`. */
export function readChoice(raw: unknown, count: number, needsRationale: boolean): HarmonyChoice | string {
  try {
    return parseChoice(raw, count, needsRationale);
  } catch (error) {
    return `a value that cannot be read (${describeSafely(error)})`; // a revoked proxy, a throwing getter
  }
}

function parseChoice(raw: unknown, count: number, needsRationale: boolean): HarmonyChoice | string {
  // Only the answer's own properties count: nothing is read from its prototype chain.
  const answer = isRecord(raw)
    ? {
        winner: own(raw, 'winner'),
        output: own(raw, 'output'),
        rationale: own(raw, 'rationale'),
        scores: own(raw, 'scores'),
      }
    : raw;
  const parsed = ChoiceSchema.safeParse(answer);
  if (!parsed.success) {
    return `an invalid choice (${formatIssues(parsed.error.issues, CHOICE_ISSUES)})`;
  }
  const { winner, rationale, scores } = parsed.data;
  const merged = isRecord(raw) && Object.hasOwn(raw, 'output');
  if ((winner === undefined) === !merged) return 'both or neither of { winner } and { output }';
  if (winner !== undefined && winner >= count) return `winner ${winner}, but there are ${count} variants`;
  if (needsRationale && (rationale === undefined || rationale.trim() === '')) return 'no rationale';
  if (scores !== undefined && scores.length !== count) return `${scores.length} scores for ${count} variants`;
  const base: { rationale?: string; scores?: readonly number[] } = {};
  if (rationale !== undefined) base.rationale = rationale;
  if (scores !== undefined) base.scores = scores;
  return winner === undefined
    ? { ...base, output: (answer as { output: unknown }).output }
    : { ...base, winner };
}
