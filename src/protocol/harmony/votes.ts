/**
 * The vote-counting strategies: `majority` (the largest group of agreeing variants) and
 * `weighted` (the group with the largest summed confidence).
 * @internal
 * @module
 */
import type { HarmonyVariant } from '../../model/harmony.js';
import type { Pick } from './types.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const names = (variants: readonly HarmonyVariant[]) => variants.map((v) => v.branch).join(', ');

/** Members of each group, groups in order of first appearance. */
function membersByGroup(variants: readonly HarmonyVariant[]): HarmonyVariant[][] {
  const groups: HarmonyVariant[][] = [];
  for (const v of variants) {
    const group = groups[v.group];
    if (group === undefined) groups[v.group] = [v];
    else group.push(v);
  }
  return groups;
}

/** The groups with the highest total; ties keep the earliest group first. */
function best(totals: readonly number[]): number[] {
  let top = Number.NEGATIVE_INFINITY;
  for (const t of totals) if (t > top) top = t;
  return totals.flatMap((t, g) => (t === top ? [g] : []));
}

/** The largest group wins; a tie goes to the group whose first branch comes first. */
export function majority(variants: readonly HarmonyVariant[]): Pick {
  const groups = membersByGroup(variants);
  const votes = groups.map((g) => g.length);
  const leaders = best(votes);
  const group = groups[leaders[0] as number] as HarmonyVariant[];
  const winner = (group[0] as HarmonyVariant).index;
  const scores = variants.map((v) => votes[v.group] as number);
  const others = variants.filter((v) => v.group !== group[0]?.group);
  const rationale =
    leaders.length > 1
      ? `No majority: ${leaders.map((g) => `(${names(groups[g] as HarmonyVariant[])})`).join(' and ')} have ${plural(votes[leaders[0] as number] as number, 'vote')} each; the tie goes to the earliest branch, ${group[0]?.branch}.`
      : `${group.length} of ${variants.length} variants agree (${names(group)}); ${names(others)} ${others.length === 1 ? 'differs' : 'differ'}.`;
  return { winner, scores, rationale, tie: leaders.length > 1 };
}

/**
 * The group with the largest summed confidence wins (ties: earliest branch); within it,
 * the variant with the highest confidence (ties: earliest branch).
 */
export function weighted(variants: readonly HarmonyVariant[], confidence: readonly number[]): Pick {
  const groups = membersByGroup(variants);
  const totals = groups.map((g) => g.reduce((sum, v) => sum + (confidence[v.index] as number), 0));
  const leaders = best(totals);
  const group = groups[leaders[0] as number] as HarmonyVariant[];
  const winner = group.reduce((a, b) =>
    (confidence[b.index] as number) > (confidence[a.index] as number) ? b : a,
  );
  const total = totals[leaders[0] as number] as number;
  const rationale =
    leaders.length > 1
      ? `No single leader: ${leaders.map((g) => `(${names(groups[g] as HarmonyVariant[])})`).join(' and ')} have total confidence ${total} each; the tie goes to the earliest branch, ${group[0]?.branch}.`
      : `(${names(group)}) has the highest total confidence, ${total} (others: ${totals.filter((_, g) => g !== leaders[0]).join(', ')}); ${winner.branch} is its most confident variant.`;
  return { winner: winner.index, scores: confidence, rationale, tie: leaders.length > 1 };
}
