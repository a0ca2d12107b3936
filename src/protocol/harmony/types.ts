/**
 * The Harmony Protocol's own types: what a resolution gives, what the engine lends it,
 * and what a strategy decides. The option types are in strategies/.
 * @internal
 * @module
 */
import type { ErrorRecord } from '../../errors.js';
import type { MacroContext } from '../../model/context.js';
import type { DecisionRecord } from '../../model/decision.js';
import type { HarmonyJudgeInput } from '../../model/harmony.js';

/** A decision before the engine gives it an id, a path and a time. */
export type DecisionDraft = Omit<DecisionRecord, 'id' | 'path' | 'at'>;

/** What resolving a parallel group's outputs gives: the output, and the decision if there was a conflict. */
export interface HarmonyResolution {
  readonly output: unknown;
  readonly decision?: DecisionDraft;
}

/** What the engine lends a resolution. @internal */
export interface HarmonyServices {
  readonly context: MacroContext;
  /** The group's signal: once aborted, nothing is decided and its reason is thrown. */
  readonly signal: AbortSignal;
  /** Invokes agent `id` on `input` under the group's scope and scheduling budget. */
  judge(id: string, input: HarmonyJudgeInput): Promise<unknown>;
}

/** A branch of the group, as harmony needs it. */
export interface HarmonyBranch {
  readonly id: string;
  readonly path: string;
}

/** What a strategy decided, before it becomes a record. */
export type Pick = (
  | { readonly winner: number; readonly output?: undefined }
  | { readonly output: unknown; readonly winner?: undefined }
) & {
  readonly rationale: string;
  readonly tie: boolean;
  readonly scores?: readonly number[];
  readonly fallback?: { readonly strategy: 'majority'; readonly error: ErrorRecord };
};
