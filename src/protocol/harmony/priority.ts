/**
 * The `priority` strategy: the first branch of a fixed order that succeeded wins.
 * @internal
 * @module
 */
import type { HarmonyVariant } from '../../model/harmony.js';
import type { Pick } from './types.js';

/** The variant of the first branch in `order` that succeeded; unlisted branches rank last, in branch order. */
export function priority(variants: readonly HarmonyVariant[], order: readonly string[]): Pick {
  const rank = (v: HarmonyVariant) => {
    const r = order.indexOf(v.branch);
    return r === -1 ? order.length + v.index : r;
  };
  const winner = variants.reduce((a, b) => (rank(b) < rank(a) ? b : a));
  const rationale = order.includes(winner.branch)
    ? `${winner.branch} ranks highest in the priority order (${order.join(' > ')}) among the branches that succeeded.`
    : `No branch in the priority order (${order.join(' > ')}) succeeded; ${winner.branch} is the first branch by position.`;
  return { winner: winner.index, rationale, tie: false };
}
