/**
 * Runtime schemas (zod) for everything a macro declares, receives and returns,
 * and the TypeScript types inferred from them.
 * @module
 */
import { z } from 'zod';
import type { ErrorRecord } from '../errors.js';

const fn = <T extends (...args: any[]) => unknown>(what: string) =>
  z.custom<T>((value) => typeof value === 'function', { message: `Expected ${what} to be a function` });

const zodSchema = z.custom<z.ZodType>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as z.ZodType).safeParse === 'function',
  { message: 'Expected a zod schema' },
);

/** Stage ids: letters, digits, `.`, `_`, `-`; starting with a letter or digit. */
const StageIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'Expected an id of letters, digits, ".", "_" or "-" (max 128)');

/** Macro names follow the same rules as stage ids. */
const MacroNameSchema = StageIdSchema;

/** Retry with exponential backoff. Delays grow `minDelayMs * factor^(n-1)`, capped at `maxDelayMs`. */
export const RetryPolicySchema = z.strictObject({
  /** Retries after the first attempt. @default 2 */
  retries: z.number().int().min(0).max(100).default(2),
  /** Backoff growth factor. @default 2 */
  factor: z.number().min(1).max(10).default(2),
  /** First delay in ms. @default 200 */
  minDelayMs: z.number().min(0).default(200),
  /** Largest delay in ms. @default 10_000 */
  maxDelayMs: z.number().min(0).default(10_000),
  /** Multiply each delay by a random factor in [1, 2). @default true */
  jitter: z.boolean().default(true),
});
/** A retry policy as written by users (every field optional). */
export type RetryPolicyInput = z.input<typeof RetryPolicySchema>;
/** A retry policy with its defaults applied. */
export type RetryPolicy = z.output<typeof RetryPolicySchema>;

/** Any positive duration: timers past 2^31-1 ms are chained (see internal/timers.ts). */
const TimeoutMsSchema = z.number().positive();

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
export type GateVerdict = z.infer<typeof GateVerdictSchema>;

/** What a predicate gate's check may return. */
export type GateCheckResult = boolean | { passed: boolean; score?: number; feedback?: string };

/** A gate that parses the output with a zod schema. */
export interface SchemaGate {
  readonly kind: 'schema';
  readonly id: string;
  readonly schema: z.ZodType;
}
/** A gate that calls a function on the output. */
export interface PredicateGate {
  readonly kind: 'predicate';
  readonly id: string;
  readonly check: (output: unknown, context: MacroContext) => GateCheckResult | Promise<GateCheckResult>;
  /** Feedback given to Refinement when `check` returns plain `false`. */
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
export type QualityGate = SchemaGate | PredicateGate | JudgeGate;

const QualityGateSchema: z.ZodType<QualityGate> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('schema'), id: StageIdSchema, schema: zodSchema }),
  z.strictObject({
    kind: z.literal('predicate'),
    id: StageIdSchema,
    check: fn<PredicateGate['check']>('check'),
    feedback: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('judge'),
    id: StageIdSchema,
    agent: z.string().min(1),
    threshold: z.number().finite(),
  }),
]) as z.ZodType<QualityGate>;

/** A knowledge packet selected for the run. */
const KnowledgePacketSchema = z.object({
  id: z.string().min(1),
  title: z.string().optional(),
  content: z.string(),
  source: z.string().optional(),
  tags: z.array(z.string()).readonly().optional(),
});
export type KnowledgePacket = z.infer<typeof KnowledgePacketSchema>;

/**
 * Which macros must have all their agents when the catalogue is loaded: every one
 * (`'catalogue'`), or none, each run checking the macros it can reach (`'reachable'`).
 */
export type AgentCheck = 'reachable' | 'catalogue';

/** Everything a run knows about why it runs: parsed once per run. Unknown keys are refused (a typo must not pass unnoticed). */
export const MacroContextSchema = z.strictObject({
  /** What the operator wants, in their words. */
  intent: z.string().min(1, 'intent must not be empty'),
  /** Guidance text, usually the contents of an AGENTS.md. @default "" */
  guidance: z.string().default(''),
  /** Knowledge packets selected for this run. @default [] */
  knowledge: z.array(KnowledgePacketSchema).readonly().default([]),
  /** Free-form run metadata (requester, ticket, tenant…). @default {} */
  metadata: z.record(z.string(), z.unknown()).default({}),
  /** Set by the engine when a fallback macro runs: what failed before it. */
  failure: z
    .object({ macro: z.string(), error: z.custom<ErrorRecord>((v) => typeof v === 'object' && v !== null) })
    .optional(),
});
/** A context as a caller writes it (defaults optional). */
export type MacroContextInput = z.input<typeof MacroContextSchema>;
/** A parsed context, as agents receive it. */
export type MacroContext = z.output<typeof MacroContextSchema>;

/** A derived artefact a stage delivers (a document, a patch, a report…). */
export const ArtefactSchema = z.object({
  name: z.string().min(1),
  mediaType: z.string().default('text/plain'),
  content: z.unknown(),
  /** Stage path that delivered it; set by the engine. */
  path: z.string().default(''),
});
export type ArtefactInput = z.input<typeof ArtefactSchema>;
export type Artefact = z.output<typeof ArtefactSchema>;

declare const outputType: unique symbol;
/** Type-only marker that carries a stage's output type. No runtime value. */
interface Typed<O> {
  readonly [outputType]?: (value: O) => O;
}

/** Options common to every stage. */
interface StageCommon {
  readonly id: string;
  /** Time budget of one attempt of this stage (and everything inside it), in ms. */
  readonly timeoutMs?: number;
  /** Human-readable description, shown in reports. */
  readonly description?: string;
}

/** Runs one agent through the Execution Pipeline. */
export interface AgentStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'agent';
  readonly agent: string;
  /** Maps the previous output (or the run input) to this agent's input. @default identity */
  readonly input?: (previous: any, context: MacroContext) => unknown;
  /** Schema the agent's output must match; checked in Draft. */
  readonly output?: z.ZodType<O>;
  /** Quality gates checked in QA. */
  readonly gates?: readonly QualityGate[];
  /** Refinement rounds when gates fail. @default 2 */
  readonly maxRefinements?: number;
  /** Stronger agent that Elevation asks when refinement did not pass the gates. */
  readonly elevateTo?: string;
  /** Turns the output into artefacts in Delivery. */
  readonly deliver?: (output: O, context: MacroContext) => readonly ArtefactInput[];
  /** Publishes delivered artefacts in Deploy. */
  readonly deploy?: (artefacts: readonly Artefact[], context: MacroContext) => void | Promise<void>;
  /** Phase names to run, in order, replacing the orchestrator's pipeline for this stage. */
  readonly pipeline?: readonly string[];
  /**
   * Time budget of each named phase of one attempt, in ms, such as
   * `{ draft: 30_000, refinement: 60_000 }`. A phase past its budget aborts its work
   * and fails the attempt with a retryable `STAGE_TIMEOUT`. Merged over the macro's
   * `defaults.phaseTimeoutsMs`.
   */
  readonly phaseTimeoutsMs?: Readonly<Partial<Record<string, number>>>;
}

/** Runs stages in order; each output feeds the next. Output: the last stage's output. */
export interface SequenceStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'sequence';
  readonly stages: readonly StageDefinition[];
}

/** How a parallel group treats a failing branch. */
export type ParallelFailureMode = 'fail-fast' | 'settle';

// ── Harmony Protocol (logic in src/protocol/harmony.ts) ─────────────────────

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

/** Runs branches concurrently on the same input. */
export interface ParallelStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'parallel';
  readonly branches: readonly StageDefinition[];
  /**
   * `fail-fast` aborts the other branches at the first failure; `settle` lets them
   * finish so their results are kept. Either way the group fails if a branch fails,
   * unless `minSuccesses` allows it.
   * @default 'fail-fast'
   */
  readonly failure?: ParallelFailureMode;
  /** Combines the branch outputs; without it the output is the tuple of branch outputs. */
  readonly merge?: (outputs: readonly unknown[], context: MacroContext) => unknown;
  /**
   * Resolves conflicting branch outputs (see docs/harmony.md); the group's output is
   * then the chosen value. Exclusive with `merge`.
   */
  readonly harmony?: HarmonyOptions;
  /**
   * With `failure: 'settle'` and `harmony`: how many branches must succeed. Failed
   * branches are left out of the decision.
   * @default every branch
   */
  readonly minSuccesses?: number;
}

/** Retries its stage with exponential backoff. */
export interface RetryableStageDefinition<O = any> extends Typed<O> {
  readonly kind: 'retryable';
  readonly stage: StageDefinition;
  readonly retry: RetryPolicyInput;
}

/** Runs another macro's stages in place; output: that macro's output. */
export interface MacroStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'macro';
  readonly macro: string;
}

/** Any node of a macro's stage tree. */
export type StageDefinition<O = any> =
  | AgentStageDefinition<O>
  | SequenceStageDefinition<O>
  | ParallelStageDefinition<O>
  | RetryableStageDefinition<O>
  | MacroStageDefinition<O>;

/** The output type a stage definition carries. */
export type StageOutput<S> = S extends Typed<infer O> ? O : unknown;

const common = {
  id: StageIdSchema,
  timeoutMs: TimeoutMsSchema.optional(),
  description: z.string().optional(),
};

const harmonyCommon = {
  compare: z
    .union([
      z.literal('equality'),
      z.strictObject({ fields: z.array(z.string().min(1)).min(1, 'compare.fields must not be empty') }),
      fn('compare'),
    ])
    .optional(),
};

/** Shape of a parallel group's `harmony`; the judge agent and priority ids are checked by the compiler. */
const HarmonySchema = z.discriminatedUnion('strategy', [
  z.strictObject({ strategy: z.literal('majority'), ...harmonyCommon }),
  z.strictObject({ strategy: z.literal('weighted'), ...harmonyCommon, confidence: fn('confidence') }),
  z.strictObject({
    strategy: z.literal('priority'),
    ...harmonyCommon,
    order: z.array(z.string().min(1)).min(1, 'order must name at least one branch'),
  }),
  z.strictObject({
    strategy: z.literal('judge'),
    ...harmonyCommon,
    judge: z.string().min(1, 'judge agent id must not be empty'),
    onJudgeFailure: z.enum(['majority', 'fail']).optional(),
  }),
  z.strictObject({ strategy: z.literal('custom'), ...harmonyCommon, resolve: fn('resolve') }),
]);

/** Shape of the stage tree; meaning (ids, agents, cycles) is checked by the compiler. */
const StageSchema: z.ZodType<StageDefinition> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('agent'),
      ...common,
      agent: z.string().min(1, 'agent id must not be empty'),
      input: fn('input').optional(),
      output: zodSchema.optional(),
      gates: z.array(QualityGateSchema).optional(),
      maxRefinements: z.number().int().min(0).max(20).optional(),
      elevateTo: z.string().min(1).optional(),
      deliver: fn('deliver').optional(),
      deploy: fn('deploy').optional(),
      pipeline: z.array(z.string().min(1)).optional(),
      phaseTimeoutsMs: z.record(z.string(), TimeoutMsSchema.optional()).optional(),
    }),
    z.strictObject({
      kind: z.literal('sequence'),
      ...common,
      stages: z.array(StageSchema).min(1, 'a sequence needs at least one stage'),
    }),
    z.strictObject({
      kind: z.literal('parallel'),
      ...common,
      branches: z.array(StageSchema).min(1, 'a parallel group needs at least one branch'),
      failure: z.enum(['fail-fast', 'settle']).optional(),
      merge: fn('merge').optional(),
      harmony: HarmonySchema.optional(),
      minSuccesses: z.number().int().min(1).optional(),
    }),
    z.strictObject({ kind: z.literal('retryable'), stage: StageSchema, retry: RetryPolicySchema }),
    z.strictObject({ kind: z.literal('macro'), ...common, macro: MacroNameSchema }),
  ]),
) as z.ZodType<StageDefinition>;

/** Defaults a macro applies to each of its agent stages. */
const MacroDefaultsSchema = z.strictObject({
  /** Retry policy of every agent stage that has none of its own. */
  retry: RetryPolicySchema.optional(),
  /** Time budget of every agent-stage attempt, in ms. */
  timeoutMs: TimeoutMsSchema.optional(),
  /** Time budget of each named phase of every agent-stage attempt, in ms. */
  phaseTimeoutsMs: z.record(z.string(), TimeoutMsSchema.optional()).optional(),
});
type MacroDefaultsInput = z.input<typeof MacroDefaultsSchema>;

/** A declarative macro: what runs, in which order, and what happens on failure. */
export interface MacroDefinition<N extends string = string, O = any> extends Typed<O> {
  readonly name: N;
  readonly description: string;
  /** Ordered stages; each output feeds the next. */
  readonly stages: readonly StageDefinition[];
  /** Macro to run, with the same context plus the failure, when this one fails. */
  readonly fallback?: string;
  /** Gates on the macro's final output. Failing them fails the macro. */
  readonly gates?: readonly QualityGate[];
  /** Labels attached to every event and log line of the macro's runs. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly defaults?: MacroDefaultsInput;
}

/** Shape of a macro definition. */
export const MacroDefinitionSchema = z.strictObject({
  name: MacroNameSchema,
  description: z.string().min(1, 'description must not be empty'),
  stages: z.array(StageSchema).min(1, 'a macro needs at least one stage'),
  fallback: MacroNameSchema.optional(),
  gates: z.array(QualityGateSchema).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  defaults: MacroDefaultsSchema.optional(),
});

/** Status of a finished stage or phase. */
export type StageStatus = 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'restored';

/** What one stage did. */
export interface StageRecord {
  readonly path: string;
  readonly id: string;
  readonly kind: 'agent' | 'sequence' | 'parallel' | 'macro';
  readonly status: StageStatus;
  /** The stage's output when it succeeded (or was restored). */
  readonly output?: unknown;
  readonly error?: ErrorRecord;
  /** Attempts made, retries included. */
  readonly attempts: number;
  /** Agent that produced the output (after elevation, the stronger agent). */
  readonly agent?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
}

/** One closed span of the execution timeline. */
export interface TimelineEntry {
  readonly scope: 'macro' | 'stage' | 'phase';
  readonly path: string;
  /** Phase name for phases, stage kind for stages, macro name for macros. */
  readonly name: string;
  readonly status: StageStatus;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
}

/** The QA summary of a run: every gate verdict, per stage. */
export interface QaSummary {
  readonly passed: boolean;
  readonly verdicts: readonly GateVerdict[];
}

/** One macro tried during a run (the requested one, then fallbacks). */
export interface MacroAttempt {
  readonly macro: string;
  readonly status: 'succeeded' | 'failed' | 'partial' | 'cancelled';
  readonly error?: ErrorRecord;
}

/** Final status of a run. */
export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'cancelled';

interface MacroResultBase {
  readonly runId: string;
  /** The macro that was asked for. */
  readonly macro: string;
  /** The macro whose output this is (a fallback, when the requested macro failed). */
  readonly producedBy: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  /** Latest record of every stage that started, keyed by path. */
  readonly stages: Readonly<Record<string, StageRecord>>;
  readonly timeline: readonly TimelineEntry[];
  readonly qa: QaSummary;
  readonly artefacts: readonly Artefact[];
  /** Every error met, in order, including those later recovered by retries. */
  readonly errors: readonly ErrorRecord[];
  /** The requested macro and each fallback, in order. */
  readonly macros: readonly MacroAttempt[];
  /** Present when the result could not be persisted. */
  readonly persistence?: { readonly ok: false; readonly error: ErrorRecord };
  /** Harmony decisions, in the order they were made (agreements are not decisions). */
  readonly decisions: readonly DecisionRecord[];
}

/** The result of a run, narrowed by `status`. */
export type MacroResult<O = unknown> =
  | (MacroResultBase & { readonly status: 'succeeded'; readonly output: O })
  | (MacroResultBase & {
      readonly status: 'partial';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    })
  | (MacroResultBase & {
      readonly status: 'failed';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    })
  | (MacroResultBase & {
      readonly status: 'cancelled';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    });

/** What an agent returns to the engine (output plus who produced it and when). */
export interface AgentResult<O = unknown> {
  readonly agent: string;
  readonly path: string;
  readonly output: O;
  readonly attempt: number;
  readonly durationMs: number;
}
