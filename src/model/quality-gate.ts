/**
 * Quality gates as a macro declares them, and the verdict each gives on an output.
 * (Their definition schema is in src/macro/types.ts; their checks in src/protocol/quality-gates.ts.)
 * @module
 */
import { z } from 'zod';
import type { MacroContext } from './context.js';

/** Verdict of one quality gate on one output. */
const GateVerdictSchema = z.object({
  gate: z.string(),
  path: z.string(),
  passed: z.boolean(),
  score: z.number().optional(),
  feedback: z.string().optional(),
  /** Which QA pass produced the verdict: 1 for the draft, 2+ for refinements and elevation. */
  pass: z.number().int().min(1),
});
/** One gate's verdict on one QA pass: passed or not, with feedback for Refinement. */
export type GateVerdict = z.infer<typeof GateVerdictSchema>;

/** What a predicate gate's check may return. */
export type GateCheckResult = boolean | { passed: boolean; score?: number; feedback?: string };

/** A gate that parses the output with a zod schema. */
export interface SchemaGate {
  readonly kind: 'schema';
  readonly id: string;
  readonly schema: z.ZodType;
}
/** A predicate gate's check: decides on the output; `true` passes, `false` or a reason fails. */
export type GateCheck = (output: any, context: MacroContext) => GateCheckResult | Promise<GateCheckResult>;

/** A gate that calls a function on the output. */
export interface PredicateGate {
  readonly kind: 'predicate';
  readonly id: string;
  /** Decides on the output (see {@link GateCheckResult}). */
  readonly check: GateCheck;
  /** Feedback given to Refinement when `check` returns plain `false`. */
  readonly feedback?: string;
}
/**
 * A predicate gate whose check is named: a function of the orchestrator's `predicates`,
 * put in its place when the macro compiles. How a macro written as JSON or YAML has one.
 */
export interface NamedPredicateGate {
  readonly kind: 'predicate';
  readonly id: string;
  /** The name of the check in the orchestrator's `predicates`. */
  readonly check: string;
  /** Feedback given to Refinement when the check returns plain `false`. */
  readonly feedback?: string;
}
/** A gate judged by an agent that returns `{ score, feedback? }`; passes when `score >= threshold`. */
export interface JudgeGate {
  readonly kind: 'judge';
  readonly id: string;
  readonly agent: string;
  /** Minimum passing score. */
  readonly threshold: number;
}
/** Any quality gate. */
export type QualityGate = SchemaGate | PredicateGate | NamedPredicateGate | JudgeGate;
