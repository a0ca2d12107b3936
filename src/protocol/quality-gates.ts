/**
 * Quality gates: declarative checks on a stage's (or a macro's) output, run in QA.
 * @module
 */
import { z } from 'zod';
import { InvalidOutputError, QualityGateError, wrapUserError } from '../errors.js';
import { formatIssues, type IssueFormat } from '../internal/zod-issues.js';
import type { MacroContext } from '../model/context.js';
import type {
  GateCheckResult,
  GateVerdict,
  JudgeGate,
  PredicateGate,
  QualityGate,
  SchemaGate,
} from '../model/quality-gate.js';

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
const JudgeVerdictSchema = z.object({ score: z.number(), feedback: z.string().optional() });
/** The input a judge agent receives. */
export interface JudgeInput {
  readonly output: unknown;
  readonly gate: string;
  readonly intent: string;
}

/** The verdict of `gate` at `path`. */
function verdictOf(
  gate: QualityGate,
  path: string,
  pass: number,
  passed: boolean,
  score: number | undefined,
  feedback: string | undefined,
): GateVerdict {
  const v: { -readonly [K in keyof GateVerdict]: GateVerdict[K] } = { gate: gate.id, path, passed, pass };
  if (score !== undefined) v.score = score;
  if (feedback !== undefined) v.feedback = feedback;
  return v;
}

/** The verdict of a predicate gate from what its check returned. */
function predicateVerdict(
  gate: PredicateGate,
  path: string,
  pass: number,
  result: GateCheckResult,
): GateVerdict {
  if (typeof result === 'boolean') {
    return verdictOf(gate, path, pass, result, undefined, result ? undefined : gate.feedback);
  }
  return verdictOf(gate, path, pass, result.passed, result.score, result.feedback ?? gate.feedback);
}

/** True when the latest verdict of every gate at every path passed. @internal */
export function latestVerdictsPass(verdicts: readonly GateVerdict[]): boolean {
  let failed = false;
  for (let i = 0; i < verdicts.length && !failed; i++) failed = !(verdicts[i] as GateVerdict).passed;
  if (!failed) return true; // every verdict passed, so the latest ones did (most runs: no map)
  const latest = new Map<string, boolean>();
  for (const v of verdicts) latest.set(`${v.path}\u0000${v.gate}`, v.passed);
  for (const passed of latest.values()) if (!passed) return false;
  return true;
}

/** The error of output that fails its gates at `path`: the gates of the failed verdicts. @internal */
export function gatesFailed(path: string, verdicts: readonly GateVerdict[]): QualityGateError {
  return new QualityGateError(
    path,
    verdicts.filter((v) => !v.passed).map((v) => v.gate),
  );
}

/** Whether `value` is a promise or another thenable. @internal */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** A schema gate's reason: the issues' messages, without paths. */
const MESSAGES_ONLY: IssueFormat = { keys: 'dots', place: 'none' };

/**
 * Checks one gate on `output`: the verdict itself for a schema gate and for a predicate
 * that answers synchronously (no promise, no microtask: most gates), a promise of it
 * otherwise. `judge(agentId, input)` invokes a judge agent under the stage's
 * scheduling budget and abort scope. @internal
 */
export function checkGate(
  gate: QualityGate,
  output: unknown,
  path: string,
  pass: number,
  context: MacroContext,
  judge: (agentId: string, input: JudgeInput) => Promise<unknown>,
): GateVerdict | Promise<GateVerdict> {
  switch (gate.kind) {
    case 'schema': {
      const parsed = gate.schema.safeParse(output);
      return parsed.success
        ? verdictOf(gate, path, pass, true, undefined, undefined)
        : verdictOf(gate, path, pass, false, undefined, formatIssues(parsed.error.issues, MESSAGES_ONLY));
    }
    case 'predicate': {
      // A check named by a string was replaced by its function when the macro compiled.
      const predicate = gate as PredicateGate;
      let result: GateCheckResult | Promise<GateCheckResult>;
      try {
        result = predicate.check(output, context);
      } catch (error) {
        throw wrapUserError(error, path, `gate "${gate.id}"`);
      }
      if (!isThenable<GateCheckResult>(result)) return predicateVerdict(predicate, path, pass, result);
      return Promise.resolve(result).then(
        (settled) => predicateVerdict(predicate, path, pass, settled),
        (error: unknown) => {
          throw wrapUserError(error, path, `gate "${gate.id}"`);
        },
      );
    }
    case 'judge':
      return judgeVerdict(gate, output, path, pass, context, judge);
  }
}

async function judgeVerdict(
  gate: JudgeGate,
  output: unknown,
  path: string,
  pass: number,
  context: MacroContext,
  judge: (agentId: string, input: JudgeInput) => Promise<unknown>,
): Promise<GateVerdict> {
  const raw = await judge(gate.agent, { output, gate: gate.id, intent: context.intent });
  const parsed = JudgeVerdictSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidOutputError(
      gate.agent,
      path,
      'a judge must return { score: number, feedback?: string }',
    );
  }
  return verdictOf(
    gate,
    path,
    pass,
    parsed.data.score >= gate.threshold,
    parsed.data.score,
    parsed.data.feedback,
  );
}
