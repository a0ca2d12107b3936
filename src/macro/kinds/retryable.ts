/**
 * `retryableStage`: a wrapper giving its stage a retry policy. It has no compiled node of
 * its own: its stage compiles with the policy, so only the definition side is here.
 * @internal
 * @module
 */
import { type DefinitionRule, single } from '../stage-kind.js';
import type { RetryableStageDefinition, RetryPolicy } from '../types.js';

/** The retryable wrapper's rule. */
export const RETRYABLE: DefinitionRule<RetryableStageDefinition> = {
  nested: (def) => single(def.stage, 'stage'),
  check(def, path, cx) {
    cx.checkRetry(def.retry as RetryPolicy, `${path}.retry`);
    if (def.stage.kind === 'retryable') {
      // Only one policy can drive a stage's attempts; the outer one would be ignored.
      cx.issues.push({
        path: `${path}.stage`,
        message: `A retryableStage directly inside another is ambiguous ${cx.where}; give the stage one retry policy`,
      });
    }
    cx.visit(def.stage, `${path}.stage`);
  },
  compile: (def, site, cx) => cx.compile(def.stage, site.parentPath, site.at, def.retry as RetryPolicy),
  draw(def, note, indent, cx) {
    const { retries } = def.retry as { retries: number };
    return cx.draw(def.stage, indent, `${note} ↻ ${retries} ${retries === 1 ? 'retry' : 'retries'}`);
  },
};
