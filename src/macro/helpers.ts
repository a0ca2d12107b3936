/**
 * Helpers that compose stage trees declaratively, carrying output types through.
 * @module
 */

import type { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import { describe, MacroError } from '../errors.js';
import { kindOf } from '../internal/safe.js';
import type {
  AgentStageDefinition,
  ApprovalStageDefinition,
  ForEachStageDefinition,
  HarmonyOptions,
  MacroContext,
  MacroDefinition,
  MacroStageDefinition,
  ParallelFailureMode,
  ParallelStageDefinition,
  RetryableStageDefinition,
  RetryPolicyInput,
  RouteStageDefinition,
  SequenceStageDefinition,
  StageDefinition,
  StageOutput,
} from './types.js';

type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : T[number];
type NonEmpty = readonly [StageDefinition, ...StageDefinition[]];
type Outputs<B extends readonly StageDefinition[]> = { -readonly [K in keyof B]: StageOutput<B[K]> };

/** `agentStage "draft"`: the helper, and the stage's id when it is text, for messages. */
function named(helper: string, id: unknown): string {
  return typeof id === 'string' ? `${helper} ${JSON.stringify(id)}` : helper;
}

/**
 * A copy of a helper's options (each read once): a revoked proxy or a throwing getter is
 * refused here, with its error as the cause, instead of escaping as a raw error.
 * @throws {MacroError} `INVALID_OPTIONS`, also when the options are no object.
 */
function readOptions<T extends object>(where: string, options: T): T {
  try {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Expected ${where} options to be an object, got ${kindOf(options)}`,
      );
    }
    return { ...options };
  } catch (error) {
    if (error instanceof MacroError) throw error;
    throw new MacroError('INVALID_OPTIONS', `Cannot read the options of ${where}: ${describe(error)}`, {
      cause: error,
    });
  }
}

/**
 * `ref` itself when it is text, else its `key` (an agent's `id`, a macro's `name`), read
 * once inside a try.
 * @throws {MacroError} `INVALID_OPTIONS` when `ref` is neither text nor an object, or reading it throws.
 */
function nameOf(where: string, ref: unknown, key: 'id' | 'name', expected: string): unknown {
  if (typeof ref === 'string') return ref;
  try {
    if ((typeof ref !== 'object' && typeof ref !== 'function') || ref === null) {
      throw new MacroError('INVALID_OPTIONS', `${where} expects ${expected}, got ${kindOf(ref)}`);
    }
    return (ref as Record<string, unknown>)[key];
  } catch (error) {
    if (error instanceof MacroError) throw error;
    throw new MacroError(
      'INVALID_OPTIONS',
      `Cannot read the ${key} of ${where}'s ${expected}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Options of {@link agentStage}. */
export type AgentStageOptions<O> = Omit<AgentStageDefinition<O>, 'kind' | 'id' | 'agent'>;

/**
 * A stage that runs one agent through the Execution Pipeline.
 * @example
 * agentStage('draft', 'writer', { output: z.string(), gates: [predicateGate('non-empty', (s) => s !== '')] })
 */
export function agentStage<O = unknown>(
  id: string,
  agent: string | Agent<any, O>,
  options: AgentStageOptions<O> = {},
): AgentStageDefinition<O> {
  const where = named('agentStage', id);
  const agentId = nameOf(where, agent, 'id', 'an agent id or an agent') as string;
  return { ...readOptions(where, options), kind: 'agent', id, agent: agentId };
}

/**
 * Stages that run in order, each output feeding the next. Output: the last stage's output.
 * @example
 * sequence('write', [agentStage('research', 'researcher'), agentStage('draft', 'writer')])
 */
export function sequence<const S extends NonEmpty>(
  id: string,
  stages: S,
  options: { timeoutMs?: number; description?: string } = {},
): SequenceStageDefinition<StageOutput<Last<S>>> {
  return { ...readOptions(named('sequence', id), options), kind: 'sequence', id, stages };
}

/** Options of {@link parallel}. */
export interface ParallelOptions {
  /** @default 'fail-fast' */
  readonly failure?: ParallelFailureMode;
  readonly timeoutMs?: number;
  readonly description?: string;
}

/** Options of {@link parallel} with a Harmony policy; `O` is the union of the branch output types. */
export interface HarmonyParallelOptions<O> extends ParallelOptions {
  /** How conflicting branch outputs are resolved; see docs/harmony.md. */
  readonly harmony: HarmonyOptions<O>;
  /** With `failure: 'settle'`: branches that must succeed; failed ones are left out. @default every branch */
  readonly minSuccesses?: number;
}

/**
 * Branches that run concurrently on the same input, under the orchestrator's scheduling
 * budget. Output: the tuple of branch outputs, what `merge` makes of it, or, with
 * `harmony`, the one output the Harmony Protocol chooses.
 * @example
 * parallel('reviews', [agentStage('style', 'style-reviewer'), agentStage('security', 'security-reviewer')])
 * parallel('answers', [agentStage('a', 'model-a'), agentStage('b', 'model-b'), agentStage('c', 'model-c')], {
 *   harmony: { strategy: 'judge', judge: 'arbiter', compare: { fields: ['answer'] } },
 * })
 */
export function parallel<const B extends NonEmpty>(
  id: string,
  branches: B,
  options: HarmonyParallelOptions<Outputs<B>[number]>,
): ParallelStageDefinition<Outputs<B>[number]>;
export function parallel<const B extends NonEmpty>(
  id: string,
  branches: B,
  options?: ParallelOptions,
): ParallelStageDefinition<Outputs<B>>;
export function parallel<const B extends NonEmpty, M>(
  id: string,
  branches: B,
  options: ParallelOptions & { readonly merge: (outputs: Outputs<B>, context: MacroContext) => M },
): ParallelStageDefinition<M>;
export function parallel(id: string, branches: NonEmpty, options: any = {}): ParallelStageDefinition<any> {
  return { ...readOptions(named('parallel', id), options), kind: 'parallel', id, branches };
}

/** Options of {@link forEach}. */
export interface ForEachOptions {
  /** Maps the previous output to the elements. @default the previous output, which must be an array */
  readonly items?: (previous: any, context: MacroContext) => readonly unknown[] | Promise<readonly unknown[]>;
  /** Most elements in flight at once. @default all */
  readonly concurrency?: number;
  /** @default 'fail-fast' */
  readonly failure?: ParallelFailureMode;
  readonly timeoutMs?: number;
  readonly description?: string;
}

/**
 * Runs `stage` once per element of an array known only at run time: the previous output,
 * or what `items` makes of it. Element `i` runs at path `<id path>[i]` on that element,
 * at most `concurrency` at a time, under the orchestrator's scheduling budget; a resumed
 * run re-runs only the elements that had not finished. Output: the array of element
 * outputs, what `merge` makes of it, or, with `harmony`, the one output chosen.
 * @example
 * sequence('research', [
 *   agentStage('plan', 'planner', { output: z.array(z.string()) }),
 *   forEach('topics', agentStage('study', 'researcher'), { concurrency: 4 }),
 * ])
 */
export function forEach<S extends StageDefinition>(
  id: string,
  stage: S,
  options: ForEachOptions & {
    readonly harmony: HarmonyOptions<StageOutput<S>>;
    /** With `failure: 'settle'`: elements that must succeed; failed ones are left out. @default every element */
    readonly minSuccesses?: number;
  },
): ForEachStageDefinition<StageOutput<S>>;
export function forEach<S extends StageDefinition>(
  id: string,
  stage: S,
  options?: ForEachOptions,
): ForEachStageDefinition<StageOutput<S>[]>;
export function forEach<S extends StageDefinition, M>(
  id: string,
  stage: S,
  options: ForEachOptions & { readonly merge: (outputs: StageOutput<S>[], context: MacroContext) => M },
): ForEachStageDefinition<M>;
export function forEach(id: string, stage: StageDefinition, options: any = {}): ForEachStageDefinition<any> {
  return { ...readOptions(named('forEach', id), options), kind: 'forEach', id, stage };
}

/**
 * A stage that waits for a person: the run suspends here (status `suspended`, its input
 * and `prompt` in `result.suspension.payload`), every finished output kept, no timer
 * running, for as long as it takes. `orchestrator.resume(runId, { input })`, in any process
 * sharing the memory, checks the input against `schema` and goes on with it as this
 * stage's output.
 * @example
 * approval('sign-off', { prompt: 'Publish this draft?', schema: z.object({ approved: z.boolean(), text: z.string() }) })
 */
export function approval<O = unknown>(
  id: string,
  options: { readonly prompt?: string; readonly schema?: z.ZodType<O>; readonly description?: string } = {},
): ApprovalStageDefinition<O> {
  return { ...readOptions(named('approval', id), options), kind: 'approval', id };
}

/** Options of {@link route}; `K` is the case names. */
export interface RouteOptions<K extends string> {
  /** The case to run when `select` names none of the cases; without it that fails with `ROUTE_NOT_FOUND`. */
  readonly default?: K;
  readonly timeoutMs?: number;
  readonly description?: string;
}

/**
 * Runs one of `cases`: the one `select` names from the stage's input (a function, sync or
 * async, or `{ agent }` whose output is the name). The choice is a `route` event, an
 * audit record and the route's record's `case`. Output: that case's output, typed as the
 * union of the cases' outputs.
 * @example
 * route('by-confidence', (r: { confidence: number }) => (r.confidence > 0.8 ? 'publish' : 'review'), {
 *   publish: agentStage('publish', 'publisher'),
 *   review: approvalStage,
 * }, { default: 'review' })
 */
export function route<const C extends Readonly<Record<string, StageDefinition>>>(
  id: string,
  select: ((input: any, context: MacroContext) => string | Promise<string>) | { readonly agent: string },
  cases: C,
  options: RouteOptions<Extract<keyof C, string>> = {},
): RouteStageDefinition<StageOutput<C[keyof C]>> {
  return { ...readOptions(named('route', id), options), kind: 'route', id, select, cases };
}

/**
 * Retries `stage` (any stage, including a sequence) with exponential backoff.
 * @example
 * retryableStage(agentStage('fetch', 'fetcher'), { retries: 3, minDelayMs: 500 })
 */
export function retryableStage<S extends StageDefinition>(
  stage: S,
  retry: RetryPolicyInput = {},
): RetryableStageDefinition<StageOutput<S>> {
  return { kind: 'retryable', stage, retry };
}

/**
 * Runs another macro in place, as that macro runs on its own: its stages, then its own
 * quality gates on its output, and, while that fails, its fallback (then that one's, up to
 * `maxFallbackDepth`), whose stages run at `<this path>/~<fallback>`. The output of the
 * macro that succeeded becomes this stage's output; a `fallback` event at this path says
 * which one took over.
 */
export function subMacro<O = unknown>(
  id: string,
  macro: string | MacroDefinition<string, O>,
  options: { timeoutMs?: number; description?: string } = {},
): MacroStageDefinition<O> {
  const where = named('subMacro', id);
  const name = nameOf(where, macro, 'name', 'a macro name or definition') as string;
  return { ...readOptions(where, options), kind: 'macro', id, macro: name };
}

/**
 * Declares a macro, keeping its literal name and output type for `run()`.
 * @example
 * const summarise = defineMacro({ name: 'summarise', description: 'One paragraph', stages: [agentStage('s', 'writer')] });
 */
export function defineMacro<const N extends string, const S extends NonEmpty>(
  definition: Omit<MacroDefinition<N>, 'stages'> & { readonly stages: S },
): MacroDefinition<N, StageOutput<Last<S>>> {
  return definition as MacroDefinition<N, StageOutput<Last<S>>>;
}
