/**
 * Runtime schemas (zod) for everything a macro declares (stages, gates, Harmony,
 * defaults), and the TypeScript types of its definitions. The types a run receives
 * and returns (context, artefacts, verdicts, decisions, results) are defined in
 * src/model/ and re-exported from here.
 * @module
 */
import { z } from 'zod';
import { fn } from '../internal/function-schema.js';
import type { Artefact, ArtefactInput } from '../model/artefact.js';
import type { MacroContext } from '../model/context.js';
import type { QualityGate } from '../model/quality-gate.js';
import { type RetryPolicyInput, RetryPolicySchema } from '../model/retry-policy.js';
import { type HarmonyOptions, HarmonySchema } from '../protocol/harmony/strategies.js';
import { QualityGateSchema, StageIdSchema, TimeoutMsSchema, zodSchema } from './schema-parts.js';

/** Macro names follow the same rules as stage ids. */
const MacroNameSchema = StageIdSchema;

// The types a run exchanges live in src/model/ (so that protocol/ and memory/ need
// nothing from macro/); they are re-exported here, where they have always been importable.
export type { Artefact, ArtefactInput } from '../model/artefact.js';
/** Still importable from here, as before the move (src/index.ts does not export it). @public */
export { ArtefactSchema } from '../model/artefact.js';
export {
  type KnowledgePacket,
  type MacroContext,
  type MacroContextInput,
  MacroContextSchema,
} from '../model/context.js';
export type { DecisionRecord, DecisionVariant, ExcludedBranch } from '../model/decision.js';
export type {
  HarmonyBase,
  HarmonyChoice,
  HarmonyComparison,
  HarmonyField,
  HarmonyJudgeInput,
  HarmonyStrategy,
  HarmonyVariant,
} from '../model/harmony.js';
export type {
  GateCheck,
  GateCheckResult,
  GateVerdict,
  JudgeGate,
  NamedPredicateGate,
  PredicateGate,
  QualityGate,
  SchemaGate,
} from '../model/quality-gate.js';
export type {
  AgentResult,
  MacroAttempt,
  MacroResult,
  QaSummary,
  RunStatus,
  StageKind,
  StageRecord,
  Suspension,
  TimelineEntry,
} from '../model/result.js';
export { type RetryPolicy, type RetryPolicyInput, RetryPolicySchema } from '../model/retry-policy.js';
export type { StageStatus } from '../model/stage-status.js';
export type {
  CustomHarmony,
  HarmonyOptions,
  JudgeHarmony,
  MajorityHarmony,
  PriorityHarmony,
  WeightedHarmony,
} from '../protocol/harmony/strategies.js';

/**
 * Which macros must have all their agents when the catalogue is loaded: every one
 * (`'catalogue'`), or none, each run checking the macros it can reach (`'reachable'`).
 */
export type AgentCheck = 'reachable' | 'catalogue';

declare const outputType: unique symbol;
/** Type-only marker that carries a stage's output type. No runtime value. */
interface Typed<O> {
  /** The output type, for inference only: never set, never read. */
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

/**
 * Runs `stage` once per element of an array: the previous output, or what `items` makes
 * of it. Element `i` runs at path `<forEach path>[i]` with the element as its input.
 * Output: the array of element outputs, what `merge` makes of it, or, with `harmony`,
 * the one output the Harmony Protocol chooses.
 */
export interface ForEachStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'forEach';
  /** The stage each element runs through. */
  readonly stage: StageDefinition;
  /** Maps the previous output to the elements. @default the previous output, which must be an array */
  readonly items?: (previous: any, context: MacroContext) => readonly unknown[] | Promise<readonly unknown[]>;
  /** Most elements in flight at once (their agent calls still share the scheduling budget). @default all */
  readonly concurrency?: number;
  /** As a parallel group's: `fail-fast` stops at the first failed element, `settle` lets the others finish. */
  readonly failure?: ParallelFailureMode;
  /** Combines the element outputs; without it the output is the array of them. */
  readonly merge?: (outputs: readonly unknown[], context: MacroContext) => unknown;
  /** Resolves conflicting element outputs (any strategy but `priority`); exclusive with `merge`. */
  readonly harmony?: HarmonyOptions;
  /** With `failure: 'settle'` and `harmony`: how many elements must succeed. @default every element */
  readonly minSuccesses?: number;
}

/**
 * Runs one of its cases: the one `select` names. Output: that case's output.
 */
export interface RouteStageDefinition<O = any> extends StageCommon, Typed<O> {
  readonly kind: 'route';
  /**
   * Names the case to run, from the stage's input: a function (sync or async), or
   * `{ agent }`, an agent whose output is the case name.
   */
  readonly select:
    | ((input: any, context: MacroContext) => string | Promise<string>)
    | { readonly agent: string };
  /** The cases by name; only the selected one runs, at its own path under the route. */
  readonly cases: Readonly<Record<string, StageDefinition>>;
  /** The case to run when `select` names none of `cases`; without it that is `ROUTE_NOT_FOUND`. */
  readonly default?: string;
}

/**
 * Waits for a person (or any outside party): suspends the run with its input and `prompt`
 * as the payload; resumed with input, outputs that input, checked against `schema`.
 */
export interface ApprovalStageDefinition<O = any> extends Typed<O> {
  readonly kind: 'approval';
  readonly id: string;
  /** What the person is asked; in `result.suspension.payload.prompt`. */
  readonly prompt?: string;
  /** What the resume input must be; invalid input is refused with `INVALID_RESUME_INPUT`. */
  readonly schema?: z.ZodType<O>;
  readonly description?: string;
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
  | ForEachStageDefinition<O>
  | RouteStageDefinition<O>
  | ApprovalStageDefinition<O>
  | RetryableStageDefinition<O>
  | MacroStageDefinition<O>;

/** The output type a stage definition carries. */
export type StageOutput<S> = S extends Typed<infer O> ? O : unknown;

const common = {
  id: StageIdSchema,
  timeoutMs: TimeoutMsSchema.optional(),
  description: z.string().optional(),
};

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
    z.strictObject({
      kind: z.literal('forEach'),
      ...common,
      stage: StageSchema,
      items: fn('items').optional(),
      concurrency: z.number().int().min(1).optional(),
      failure: z.enum(['fail-fast', 'settle']).optional(),
      merge: fn('merge').optional(),
      harmony: HarmonySchema.optional(),
      minSuccesses: z.number().int().min(1).optional(),
    }),
    z.strictObject({
      kind: z.literal('route'),
      ...common,
      select: z.union([
        fn('select'),
        z.strictObject({ agent: z.string().min(1, 'agent id must not be empty') }),
      ]),
      cases: z
        .record(StageIdSchema, StageSchema)
        .refine((cases) => Object.keys(cases).length > 0, 'a route needs at least one case'),
      default: StageIdSchema.optional(),
    }),
    z.strictObject({
      kind: z.literal('approval'),
      id: StageIdSchema,
      prompt: z.string().optional(),
      schema: zodSchema.optional(),
      description: z.string().optional(),
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
  /** A JSON or YAML macro's schema reference, for editors (`macro-orchestrator/schema.json`); unused by the engine. */
  readonly $schema?: string;
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
  $schema: z.string().optional(),
});
