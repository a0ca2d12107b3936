/**
 * The Harmony Protocol's options as a parallel group declares them, and what its
 * strategies, judges and resolvers see and return. (Definition schema: src/macro/types.ts;
 * logic: src/protocol/harmony.ts.)
 * @module
 */
import type { MacroContext } from './context.js';

/** Top-level field names of `O` (any string when `O` is not an object type). */
export type HarmonyField<O> = [O] extends [object] ? Extract<keyof O, string> : string;

/**
 * When two branch outputs agree: `'equality'` (deep equality of their JSON, key
 * order ignored), `{ fields }` (equal on these top-level fields, compared the same
 * way), or a function (it should be an equivalence: each output is compared with
 * the first member of each group).
 */
export type HarmonyComparison<O = any> =
  | 'equality'
  | { readonly fields: readonly HarmonyField<O>[] }
  | ((a: O, b: O) => boolean);

/** One succeeded branch's output, as strategies, judges and decision records see it. */
export interface HarmonyVariant<O = unknown> {
  /** Position in the decision's `variants`. */
  readonly index: number;
  /** Id of the branch that produced it. */
  readonly branch: string;
  /** Stage path of that branch. */
  readonly path: string;
  readonly output: O;
  /** Agreement group: variants with the same group agree. 0, 1, 2… in order of first appearance. */
  readonly group: number;
}

/** What a judge agent or a custom resolver decides: pick a variant, or give a merged output. */
export type HarmonyChoice<O = unknown> =
  | { readonly winner: number; readonly rationale?: string; readonly scores?: readonly number[] }
  | { readonly output: O; readonly rationale?: string; readonly scores?: readonly number[] };

interface HarmonyBase<O> {
  /** How outputs are compared. @default 'equality' */
  readonly compare?: HarmonyComparison<O>;
}
/** The largest agreement group wins; a tie goes to the group with the earliest branch. */
export interface MajorityHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'majority';
}
/** The group with the largest summed confidence wins; ties go to the earliest branch. */
export interface WeightedHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'weighted';
  /** Confidence of one output: a finite number ≥ 0. */
  readonly confidence: (output: O, branch: string) => number;
}
/** The output of the first branch in `order` that succeeded wins; unlisted branches rank last. */
export interface PriorityHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'priority';
  /** Branch ids, most trusted first. */
  readonly order: readonly string[];
}
/**
 * A judge agent receives a {@link HarmonyJudgeInput} and returns a {@link HarmonyChoice}
 * with a non-empty `rationale`.
 */
export interface JudgeHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'judge';
  /** Id of a registered agent. */
  readonly judge: string;
  /**
   * When the judge throws or returns something invalid: decide by majority vote
   * (the rationale says so) or fail the stage with `HARMONY_FAILED`.
   * @default 'majority'
   */
  readonly onJudgeFailure?: 'majority' | 'fail';
}
/** Your function decides; throwing fails the stage with `HARMONY_FAILED`. */
export interface CustomHarmony<O = any> extends HarmonyBase<O> {
  readonly strategy: 'custom';
  /** Picks a variant or gives a merged output from the conflicting ones. */
  readonly resolve: (
    variants: readonly HarmonyVariant<O>[],
    context: MacroContext,
  ) => HarmonyChoice<O> | Promise<HarmonyChoice<O>>;
}
/** How a parallel group resolves conflicting branch outputs. */
export type HarmonyOptions<O = any> =
  | MajorityHarmony<O>
  | WeightedHarmony<O>
  | PriorityHarmony<O>
  | JudgeHarmony<O>
  | CustomHarmony<O>;
/** Name of a Harmony strategy. */
export type HarmonyStrategy = HarmonyOptions['strategy'];

/** What a judge agent receives. */
export interface HarmonyJudgeInput {
  readonly intent: string;
  /** Path of the parallel group. */
  readonly path: string;
  readonly variants: readonly HarmonyVariant[];
}
