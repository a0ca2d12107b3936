/**
 * The `priority` strategy: the first branch of a fixed order that succeeded wins.
 * @module
 */
import { z } from 'zod';
import type { HarmonyBase, HarmonyVariant } from '../../../model/harmony.js';
import { type HarmonyRule, harmonyCommon } from '../strategy.js';

/** The output of the first branch in `order` that succeeded wins; unlisted branches rank last. */
export interface PriorityHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'priority';
  /** Branch ids, most trusted first. */
  readonly order: readonly string[];
}

/** @internal */
export const priority: HarmonyRule<PriorityHarmony> = {
  schema: z.strictObject({
    strategy: z.literal('priority'),
    ...harmonyCommon,
    order: z.array(z.string().min(1)).min(1, 'order must name at least one branch'),
  }),
  check({ order }, { kind, branches, path, where }, issues) {
    if (kind === 'forEach' || branches === undefined) {
      issues.push({
        path: `${path}.strategy`,
        message: `A priority order cannot name a forEach's elements ${where}: they are known only at run time; use majority, weighted, judge or custom`,
      });
      return;
    }
    const seen = new Set<string>();
    order.forEach((id, k) => {
      const at = `${path}.order[${k}]`;
      if (!branches.includes(id))
        issues.push({
          path: at,
          message: `Unknown branch "${id}" in the priority order ${where} (branches: ${branches.join(', ')})`,
        });
      else if (seen.has(id))
        issues.push({ path: at, message: `Branch "${id}" is listed twice in the priority order ${where}` });
      seen.add(id);
    });
  },
  decide: ({ order }, variants) => {
    const rank = (v: HarmonyVariant) => {
      const r = order.indexOf(v.branch);
      return r === -1 ? order.length + v.index : r;
    };
    const winner = variants.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    const rationale = order.includes(winner.branch)
      ? `${winner.branch} ranks highest in the priority order (${order.join(' > ')}) among the branches that succeeded.`
      : `No branch in the priority order (${order.join(' > ')}) succeeded; ${winner.branch} is the first branch by position.`;
    return { winner: winner.index, rationale, tie: false };
  },
};
