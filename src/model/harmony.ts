/**
 * What the Harmony Protocol's strategies, judges and resolvers see and return, whatever the
 * strategy. Each strategy's options, schema, checks and decision are one file in
 * src/protocol/harmony/strategies/.
 * @module
 */

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

/** The options every strategy takes (each strategy's own are in src/protocol/harmony/strategies/). */
export interface HarmonyBase<O = any> {
  /** How outputs are compared. @default 'equality' */
  readonly compare?: HarmonyComparison<O>;
}

/**
 * Name of a Harmony strategy. Each is one file in src/protocol/harmony/strategies/; this
 * list is here because a decision record (model/decision.ts) names its strategy.
 */
export type HarmonyStrategy = 'majority' | 'weighted' | 'priority' | 'judge' | 'custom';

/** What a judge agent receives. */
export interface HarmonyJudgeInput {
  readonly intent: string;
  /** Path of the parallel group. */
  readonly path: string;
  readonly variants: readonly HarmonyVariant[];
}
