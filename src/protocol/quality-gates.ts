/**
 * Quality gates: declarative checks on a stage's (or a macro's) output, run in QA.
 * @module
 */
import { z } from 'zod';
import type { GateCheckResult, JudgeGate, MacroContext, PredicateGate, SchemaGate } from '../macro/types.js';

/**
 * Passes when the output parses with `schema`.
 * @example schemaGate('has-title', z.object({ title: z.string().min(1) }))
 */
export function schemaGate(id: string, schema: z.ZodType): SchemaGate {
  return { kind: 'schema', id, schema };
}

/**
 * Passes when `check` returns `true` (or `{ passed: true }`).
 * @example predicateGate('short', (text: string) => text.length < 2000, 'Keep it under 2000 characters')
 */
export function predicateGate<O = any>(
  id: string,
  check: (output: O, context: MacroContext) => GateCheckResult | Promise<GateCheckResult>,
  feedback?: string,
): PredicateGate {
  const gate: PredicateGate = { kind: 'predicate', id, check: check as PredicateGate['check'] };
  return feedback === undefined ? gate : { ...gate, feedback };
}

/**
 * Asks the `agent` to score the output; passes when `score >= threshold`. The judge
 * receives `{ output, gate, intent }` and must return `{ score: number, feedback?: string }`.
 */
export function judgeGate(id: string, agent: string, threshold: number): JudgeGate {
  return { kind: 'judge', id, agent, threshold };
}

/** What a judge agent must return. */
export const JudgeVerdictSchema = z.object({ score: z.number(), feedback: z.string().optional() });
/** The input a judge agent receives. */
export interface JudgeInput {
  readonly output: unknown;
  readonly gate: string;
  readonly intent: string;
}

/** Normalises what a predicate returned. @internal */
export function normaliseCheck(result: GateCheckResult, fallbackFeedback: string | undefined) {
  if (typeof result === 'boolean') {
    return { passed: result, feedback: result ? undefined : fallbackFeedback };
  }
  return { passed: result.passed, score: result.score, feedback: result.feedback ?? fallbackFeedback };
}
