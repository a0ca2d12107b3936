/**
 * The Harmony settings of a parallel group or a forEach, checked with the catalogue: what contradicts
 * the group (merge, quorum), what each strategy names (a judge agent, the branches of a
 * priority order).
 * @internal
 * @module
 */
import type { ConfigIssue } from '../errors.js';
import type {
  ForEachStageDefinition,
  HarmonyOptions,
  ParallelStageDefinition,
  StageDefinition,
} from './types.js';

/**
 * Adds the problems of the Harmony settings of `stage` (at `path`, in `where`: `in macro
 * "m"`) to `issues`; `needAgent` reports an agent it names that may be unknown.
 */
export function checkHarmony(
  stage: ParallelStageDefinition | ForEachStageDefinition,
  path: string,
  where: string,
  issues: ConfigIssue[],
  needAgent: (id: string, path: string, role: string) => void,
): void {
  const { harmony, minSuccesses } = stage;
  if (harmony !== undefined && stage.merge !== undefined) {
    issues.push({
      path: `${path}.merge`,
      message: `merge and harmony are exclusive ${where}; use harmony: { strategy: 'custom', resolve } to merge conflicts`,
    });
  }
  if (harmony?.strategy === 'judge') needAgent(harmony.judge, `${path}.harmony.judge`, 'judge agent');
  if (harmony?.strategy === 'priority' && stage.kind === 'forEach') {
    issues.push({
      path: `${path}.harmony.strategy`,
      message: `A priority order cannot name a forEach's elements ${where}: they are known only at run time; use majority, weighted, judge or custom`,
    });
  } else if (harmony?.strategy === 'priority' && stage.kind === 'parallel') {
    const ids = stage.branches.map(branchId);
    const seen = new Set<string>();
    harmony.order.forEach((id, k) => {
      const at = `${path}.harmony.order[${k}]`;
      if (!ids.includes(id))
        issues.push({
          path: at,
          message: `Unknown branch "${id}" in the priority order ${where} (branches: ${ids.join(', ')})`,
        });
      else if (seen.has(id))
        issues.push({ path: at, message: `Branch "${id}" is listed twice in the priority order ${where}` });
      seen.add(id);
    });
  }
  if (minSuccesses === undefined) return;
  const at = `${path}.minSuccesses`;
  if (harmony === undefined)
    issues.push({
      path: at,
      message: `minSuccesses needs harmony ${where}: without it the output is every branch's output`,
    });
  if (stage.failure !== 'settle')
    issues.push({
      path: at,
      message: `minSuccesses needs failure: 'settle' ${where}: fail-fast stops at the first failure`,
    });
  if (stage.kind === 'parallel' && minSuccesses > stage.branches.length) {
    issues.push({
      path: at,
      message: `minSuccesses (${minSuccesses}) is more than the ${stage.branches.length} branches ${where}`,
    });
  }
}

/** The agent a Harmony policy calls, if any: a judge strategy's judge. */
export function harmonyAgent(harmony: HarmonyOptions | undefined): string | undefined {
  return harmony?.strategy === 'judge' ? harmony.judge : undefined;
}

/** The id of a branch, looking through `retryableStage` wrappers. */
function branchId(stage: StageDefinition): string {
  return stage.kind === 'retryable' ? branchId(stage.stage) : stage.id;
}
