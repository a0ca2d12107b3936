/**
 * Quality gates: declarative checks on a stage's (or a macro's) output, run in QA.
 * @module
 */
import { z } from 'zod';
import { InvalidOutputError } from '../errors.js';
import { wrapUserError } from '../macro/failure.js';
import type {
  GateCheckResult,
  GateVerdict,
  JudgeGate,
  MacroContext,
  PredicateGate,
  QualityGate,
  SchemaGate,
} from '../macro/types.js';

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

/** True when the latest verdict of every gate at every path passed. @internal */
export function latestVerdictsPass(verdicts: readonly GateVerdict[]): boolean {
  const latest = new Map<string, boolean>();
  for (const v of verdicts) latest.set(`${v.path}\u0000${v.gate}`, v.passed);
  for (const passed of latest.values()) if (!passed) return false;
  return true;
}

/**
 * Checks one gate on `output`. `judge(agentId, input)` invokes a judge agent under the
 * stage's scheduling budget and abort scope. @internal
 */
export async function evaluateGate(
  gate: QualityGate,
  output: unknown,
  path: string,
  pass: number,
  context: MacroContext,
  judge: (agentId: string, input: JudgeInput) => Promise<unknown>,
): Promise<GateVerdict> {
  const verdict = (passed: boolean, extra: { score?: number | undefined; feedback?: string | undefined }) => {
    const v: { -readonly [K in keyof GateVerdict]: GateVerdict[K] } = { gate: gate.id, path, passed, pass };
    if (extra.score !== undefined) v.score = extra.score;
    if (extra.feedback !== undefined) v.feedback = extra.feedback;
    return v;
  };
  switch (gate.kind) {
    case 'schema': {
      const parsed = gate.schema.safeParse(output);
      return parsed.success
        ? verdict(true, {})
        : verdict(false, { feedback: parsed.error.issues.map((i) => i.message).join('; ') });
    }
    case 'predicate': {
      let result: ReturnType<typeof normaliseCheck>;
      try {
        result = normaliseCheck(await gate.check(output, context), gate.feedback);
      } catch (error) {
        throw wrapUserError(error, path, `gate "${gate.id}"`);
      }
      return verdict(result.passed, result);
    }
    case 'judge': {
      const raw = await judge(gate.agent, { output, gate: gate.id, intent: context.intent });
      const parsed = JudgeVerdictSchema.safeParse(raw);
      if (!parsed.success) {
        throw new InvalidOutputError(
          gate.agent,
          path,
          'a judge must return { score: number, feedback?: string }',
        );
      }
      return verdict(parsed.data.score >= gate.threshold, parsed.data);
    }
  }
}
