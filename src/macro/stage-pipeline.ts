/**
 * A stage's own pipeline: the phases of its macro's (or its named) pipeline that apply to
 * it (`ExecutionStage.appliesTo`), decided once at compile time, so an attempt neither
 * visits nor asks a phase that can never run for its stage.
 * @internal
 * @module
 */
import { describe, MacroConfigurationError } from '../errors.js';
import type { ExecutionStage, PhaseStageInfo } from '../protocol/execution.js';

/**
 * Stages with the same pipeline and the same phases left out share one list (a 10,000-stage
 * macro holds a handful of lists, not 10,000), keyed by which phases are kept ('1') or not ('0').
 */
const shared = new WeakMap<readonly ExecutionStage[], Map<string, readonly ExecutionStage[]>>();

/** The phases of `pipeline` that apply to `stage`; a throwing `appliesTo` is a configuration error at `at`. */
export function stagePipeline(
  pipeline: readonly ExecutionStage[],
  stage: PhaseStageInfo,
  at: string,
): readonly ExecutionStage[] {
  let key = '';
  for (let i = 0; i < pipeline.length; i++) {
    const phase = pipeline[i] as ExecutionStage;
    let applies: boolean;
    try {
      applies = phase.appliesTo(stage);
    } catch (error) {
      throw new MacroConfigurationError(
        [{ path: at, message: `Phase "${phase.name}" failed to say whether it applies: ${describe(error)}` }],
        { cause: error },
      );
    }
    key += applies ? '1' : '0';
  }
  let byKey = shared.get(pipeline);
  if (byKey === undefined) {
    byKey = new Map();
    shared.set(pipeline, byKey);
  }
  let kept = byKey.get(key);
  if (kept === undefined) {
    kept = Object.freeze(pipeline.filter((_, i) => key[i] === '1'));
    byKey.set(key, kept);
  }
  return kept;
}
