/**
 * The Harmony settings of a parallel group or a forEach, checked with the catalogue: what
 * contradicts the group (merge, quorum), then what the strategy's own check finds (a
 * judge agent, the branches of a priority order).
 * @internal
 * @module
 */
import type { ConfigIssue } from '../../errors.js';
import { type HarmonyOptions, ruleOf } from './strategies.js';

/** What the check reads of a parallel group or a forEach. */
export interface HarmonyGroupSettings {
  readonly kind: 'parallel' | 'forEach';
  readonly harmony?: HarmonyOptions | undefined;
  readonly merge?: unknown;
  readonly minSuccesses?: number | undefined;
  readonly failure?: string | undefined;
  /** Branch ids of a parallel group (through `retryableStage` wrappers); `undefined` for a forEach. */
  readonly branches: readonly string[] | undefined;
}

/**
 * Adds the problems of the Harmony settings of `group` (at `path`, in `where`: `in macro
 * "m"`) to `issues`; `needAgent` reports an agent it names that may be unknown.
 */
export function checkHarmony(
  group: HarmonyGroupSettings,
  path: string,
  where: string,
  issues: ConfigIssue[],
  needAgent: (id: string, path: string, role: string) => void,
): void {
  const { harmony, minSuccesses } = group;
  if (harmony !== undefined && group.merge !== undefined) {
    issues.push({
      path: `${path}.merge`,
      message: `merge and harmony are exclusive ${where}; use harmony: { strategy: 'custom', resolve } to merge conflicts`,
    });
  }
  if (harmony !== undefined) {
    const rule = ruleOf(harmony);
    const agent = rule.agent?.(harmony);
    if (agent !== undefined) needAgent(agent.id, `${path}.harmony.${agent.field}`, agent.role);
    rule.check?.(
      harmony,
      { kind: group.kind, branches: group.branches, path: `${path}.harmony`, where },
      issues,
    );
  }
  if (minSuccesses === undefined) return;
  const at = `${path}.minSuccesses`;
  if (harmony === undefined)
    issues.push({
      path: at,
      message: `minSuccesses needs harmony ${where}: without it the output is every branch's output`,
    });
  if (group.failure !== 'settle')
    issues.push({
      path: at,
      message: `minSuccesses needs failure: 'settle' ${where}: fail-fast stops at the first failure`,
    });
  if (group.branches !== undefined && minSuccesses > group.branches.length) {
    issues.push({
      path: at,
      message: `minSuccesses (${minSuccesses}) is more than the ${group.branches.length} branches ${where}`,
    });
  }
}
