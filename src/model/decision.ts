/**
 * Harmony decision records: the variants of a conflict, how it was decided and what won.
 * @module
 */
import type { ErrorRecord } from '../errors.js';
import type { HarmonyStrategy, HarmonyVariant } from './harmony.js';

/** One variant as a decision record keeps it. */
export interface DecisionVariant extends HarmonyVariant {
  /** First 16 hex digits of the SHA-256 of the output's canonical JSON. */
  readonly hash: string;
  /** Top-level fields in which this (object) output differs from the chosen one. */
  readonly differs?: readonly string[];
}

/** A branch left out of a decision because it failed (`failure: 'settle'` with `minSuccesses`). */
export interface ExcludedBranch {
  readonly branch: string;
  readonly path: string;
  readonly error: ErrorRecord;
}

/** One Harmony decision: the variants of a conflict, how it was decided and what won. */
export interface DecisionRecord {
  /** `d1`, `d2`… in the order decisions were made in the run. */
  readonly id: string;
  /** Path of the parallel group. */
  readonly path: string;
  readonly at: number;
  /** Version of the decision rules that produced this record. */
  readonly version: 1;
  /** The declared strategy (also when a failing judge fell back to majority). */
  readonly strategy: HarmonyStrategy;
  readonly comparison: 'equality' | 'fields' | 'comparator';
  /** The compared fields, for `comparison: 'fields'`. */
  readonly fields?: readonly string[];
  /** Every succeeded branch's output, in branch order. */
  readonly variants: readonly DecisionVariant[];
  /** Index of the chosen variant; absent when the output is a merge. */
  readonly winner?: number;
  /** The group's output: the chosen variant's output, or the merge. */
  readonly output: unknown;
  /** One score per variant (votes, confidence or the judge's scores). */
  readonly scores?: readonly number[];
  readonly rationale: string;
  /** True when the winner was picked by the tie rule. */
  readonly tie: boolean;
  /** Indices of the variants that do not agree with the output. */
  readonly losers: readonly number[];
  readonly excluded: readonly ExcludedBranch[];
  /** Present when the judge failed and majority vote decided instead. */
  readonly fallback?: { readonly strategy: 'majority'; readonly error: ErrorRecord };
}
