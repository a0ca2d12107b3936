/**
 * The options of {@link MacroOrchestrator} and of its runs and resumes: their types,
 * their schemas, and the constructor's check of its options.
 * @internal
 * @module
 */

import { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import type { AgentRegistry } from '../agents/registry.js';
import { describe, MacroError } from '../errors.js';
import { readOptions } from '../internal/options.js';
import { safeText } from '../internal/safe.js';
import type { LogLevel } from '../logger.js';
import { MEMORY_METHODS, type MemoryAdapter } from '../memory/memory-adapter.js';
import { LOGGER_METHODS, type MacroLogger } from '../model/logger.js';
import type { ModelPrice } from '../model/usage.js';
import { defaultPipeline, ExecutionStage } from '../protocol/execution.js';
import { type SchedulingPolicyInput, SchedulingPolicySchema } from '../scheduling/scheduler.js';
import type { Durability } from './checkpoints.js';
import { parseOptions, RunOptionsSchema } from './run-input.js';
import {
  type AgentCheck,
  type GateCheck,
  type MacroDefinition,
  type RetryPolicyInput,
  RetryPolicySchema,
} from './types.js';

/** Options of {@link MacroOrchestrator}. */
export interface OrchestratorOptions<M extends MacroDefinition<string, any> = MacroDefinition> {
  /** Agents the macros use. @default [] */
  readonly agents?: Iterable<Agent> | AgentRegistry;
  /** The macro catalogue. Spread `builtinMacros` to keep the built-ins. @default builtinMacros */
  readonly macros?: readonly M[];
  /**
   * Which macros must have every agent they name at construction: `'catalogue'` checks
   * them all (a missing agent anywhere throws `MacroConfigurationError`);
   * `'reachable'` lets a catalogue (such as `builtinMacros`) hold macros whose agents
   * are not given, and refuses, at `run()`, a macro that reaches one through its stages,
   * sub-macros or fallbacks (the same error, listing them).
   * @default 'reachable'
   */
  readonly checkAgents?: AgentCheck;
  /** Where results and audit trails persist. @default new InMemoryMemory() */
  readonly memory?: MemoryAdapter;
  /** A logger (a pino logger fits as it is; see `MacroLogger`); child loggers are bound to each run, stage and label set. @default a silent logger (pino is not loaded) */
  readonly logger?: MacroLogger;
  /** Level of the logger created when none is given. @default 'silent' */
  readonly logLevel?: LogLevel;
  /** Worker limits, shared by every parallel group, sub-macro and run. @default unlimited */
  readonly scheduling?: SchedulingPolicyInput;
  /** The phases every agent stage runs through, in order. @default defaultPipeline() */
  readonly pipeline?: readonly ExecutionStage[];
  /** Extra phases that stages may name in their own `pipeline` lists. @default [] */
  readonly phases?: readonly ExecutionStage[];
  /** Fallbacks followed at most this deep in one run. @default 3 */
  readonly maxFallbackDepth?: number;
  /**
   * Named checks that predicate gates refer to by name (`check: 'cites-sources'`), so that
   * a macro written as JSON or YAML can have them. An unknown name is a configuration error.
   * @default {}
   */
  readonly predicates?: Readonly<Record<string, GateCheck>>;
  /** How failing memory writes are retried. @default { retries: 3, minDelayMs: 50, maxDelayMs: 1000 } */
  readonly persistenceRetry?: RetryPolicyInput;
  /**
   * A memory call that has not settled after this long fails (a write is retried, then
   * reported), so a hung adapter cannot keep a run from settling. Any duration works;
   * `Infinity` waits without bound (a run's own budget and cancellation still end the
   * wait). @default 30_000
   */
  readonly persistenceTimeoutMs?: number;
  /**
   * When each finished stage's checkpoint is written to `memory` (see docs/memory.md).
   * - `'async'`: in the background, when the event loop next turns; the stages that
   *   finish within one turn share one write. A crash loses at most the stages that
   *   finished since their run's last write: since the loop last turned, or, while many
   *   runs are live and stages wait for a turn, up to 16 turns and the 10 ms write
   *   slices after them (they run again on resume).
   * - `'sync'`: before the run moves on; a `stage:end` means the stage is stored.
   *   One awaited write per stage.
   * @default 'async'
   */
  readonly durability?: Durability;
  /**
   * Prices of the models agents name in their usage reports (USD per million tokens), by
   * model id: `MacroResult.usage` then carries `costUsd`, and runs can take `budget.maxCostUsd`.
   * @default {}
   */
  readonly prices?: Readonly<Record<string, ModelPrice>>;
  /**
   * Clock for timestamps (epoch ms). A reading that throws or is not a finite number is
   * logged once (level error) and replaced by the last good one. @default Date.now
   */
  readonly now?: () => number;
  /**
   * Randomness for backoff jitter, in [0, 1). A reading that throws or is outside that
   * range is logged once (level error) and replaced by `Math.random()`'s. @default Math.random
   */
  readonly random?: () => number;
  /**
   * Run id factory: each id a string of 1 to 256 characters. One that throws or gives
   * anything else makes `run()` throw `INVALID_OPTIONS`. @default crypto.randomUUID
   */
  readonly createRunId?: () => string;
}

/** Options of one run. */
export interface RunOptions {
  /** Input of the first stage. @default context.intent */
  readonly input?: unknown;
  /**
   * The run's id, 1 to 256 characters, instead of a new one from `createRunId`: an id the
   * caller chose before the run (a queue's job id, an idempotency key). An id running in
   * this orchestrator is refused (`INVALID_OPTIONS`); with an adapter with leases, one
   * running in another process stops the new run (`RUN_LEASED`).
   */
  readonly runId?: string;
  /** Cancels the run: everything in flight is aborted and the run settles `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Time budget of the whole run in ms, counted from the call; past it the run settles
   * `partial`. Any duration works (long ones are chained timers); `Infinity` is no budget.
   */
  readonly timeoutMs?: number;
  /** Absolute deadline (epoch ms, any distance away); the earlier of this and `timeoutMs` applies. */
  readonly deadline?: number;
  /**
   * Token and cost budget of the run, counted from what agents report (`invocation.usage`;
   * cost from `OrchestratorOptions.prices`): the call whose report passes a limit is
   * aborted with every other call in flight, no new call starts, and the run settles
   * `partial` (`BUDGET_EXCEEDED`) with every finished output kept. A resumed run counts
   * the tokens its restored stages spent.
   */
  readonly budget?: { readonly maxTokens?: number; readonly maxCostUsd?: number };
}

/** Options of {@link MacroOrchestrator.resume}: those of a run, except the input, which is the stored one. */
export interface ResumeOptions extends Omit<RunOptions, 'input' | 'runId'> {
  /**
   * For a suspended run: the input the waiting stage receives (an `approval` stage's
   * output, checked against its `schema`; what a suspending agent finds in
   * `invocation.resumed`). Invalid input rejects with `INVALID_RESUME_INPUT` and leaves
   * the run suspended.
   */
  readonly input?: unknown;
  /** For a suspended run: resume only if it still waits at this suspension (`result.suspension.token`). */
  readonly token?: string;
}

const RunOptionsWithoutInputSchema = RunOptionsSchema.omit({ input: true, runId: true });

export const ResumeOptionsSchema = RunOptionsWithoutInputSchema.extend({
  input: z.unknown().optional(),
  token: z.string().min(1).optional(),
});

/** Options of {@link MacroOrchestrator.resumeIncomplete}; the run options apply to every resumed run. */
export interface ResumeIncompleteOptions extends Omit<RunOptions, 'input' | 'runId'> {
  /** Skip runs whose last checkpoint is more recent than this, in ms. @default 0 */
  readonly staleAfterMs?: number;
  /** Resume at most this many runs. @default 100 */
  readonly limit?: number;
}

export const ResumeIncompleteOptionsSchema = RunOptionsWithoutInputSchema.extend({
  staleAfterMs: z.number().min(0).optional(),
  limit: z.number().int().positive().optional(),
});

const fn = <F extends (...args: any[]) => unknown>(name: string) =>
  z.custom<F>((v) => typeof v === 'function', `${name} must be a function`);

const object = <T>(message: string) => z.custom<T>((v) => typeof v === 'object' && v !== null, message);

const OrchestratorOptionsSchema = z.strictObject({
  agents: object<Iterable<Agent> | AgentRegistry>('agents must be iterable').optional(),
  macros: z.array(z.unknown()).readonly().optional(),
  checkAgents: z.enum(['reachable', 'catalogue']).optional(),
  memory: object<MemoryAdapter>('memory must be an object').optional(),
  logger: object<MacroLogger>('logger must be an object').optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  scheduling: SchedulingPolicySchema.optional(),
  pipeline: z.array(z.unknown()).readonly().optional(),
  phases: z.array(z.unknown()).readonly().optional(),
  maxFallbackDepth: z.number().int().min(0).max(20).optional(),
  // Each value is checked below, own `__proto__` key included (a record check skips it).
  predicates: z.record(z.string(), z.unknown()).optional(),
  persistenceRetry: RetryPolicySchema.optional(),
  persistenceTimeoutMs: z.number().positive().or(z.literal(Number.POSITIVE_INFINITY)).optional(),
  durability: z.enum(['sync', 'async']).optional(),
  // A record check skips an own `__proto__` key, and its copy drops it: refused below.
  prices: z
    .record(
      z.string(),
      z.strictObject({
        inputPerMillion: z.number().finite().min(0),
        outputPerMillion: z.number().finite().min(0),
        cachedInputPerMillion: z.number().finite().min(0).optional(),
      }),
    )
    .optional(),
  now: fn<() => number>('now').optional(),
  random: fn<() => number>('random').optional(),
  createRunId: fn<() => string>('createRunId').optional(),
});

/** Every key of `OrchestratorOptions`. */
export const ORCHESTRATOR_OPTION_KEYS = Object.keys(OrchestratorOptionsSchema.shape);

const WHAT = 'orchestrator options';

/** The orchestrator's options as checked, each read once: the values the constructor uses. */
export type CheckedOrchestratorOptions = Omit<
  z.output<typeof OrchestratorOptionsSchema>,
  'pipeline' | 'phases' | 'predicates' | 'prices'
> & {
  readonly prices?: Readonly<Record<string, ModelPrice>>;
  readonly pipeline: readonly ExecutionStage[];
  /** Every phase a stage may name, pipeline and `phases` both. */
  readonly phases: ReadonlyMap<string, ExecutionStage>;
  readonly predicates: ReadonlyMap<string, GateCheck>;
};

/**
 * Checks the orchestrator's options, each read once: unknown keys anywhere, then values,
 * then that a given memory and logger have every method the engine calls.
 * @returns the checked values, which are those to use.
 * @throws {MacroError} `INVALID_OPTIONS`, also when reading them throws (a getter, a proxy).
 */
export function checkOrchestratorOptions(options: OrchestratorOptions<any>): CheckedOrchestratorOptions {
  const given = readOptions(WHAT, options, ORCHESTRATOR_OPTION_KEYS);
  const checked = parseOptions(WHAT, given, OrchestratorOptionsSchema);
  let predicates: [string, unknown][] = [];
  let pricedProto = false;
  try {
    // The original object: zod's copy drops a `__proto__` key.
    if (given['predicates'] !== undefined) predicates = Object.entries(given['predicates'] as object);
    if (given['prices'] !== undefined) pricedProto = Object.hasOwn(given['prices'] as object, '__proto__');
  } catch (error) {
    throw cannotRead(error);
  }
  for (const [name, check] of predicates) {
    if (typeof check !== 'function') {
      throw new MacroError('INVALID_OPTIONS', `Invalid ${WHAT}: predicates.${name} must be a function`);
    }
  }
  if (pricedProto)
    throw new MacroError('INVALID_OPTIONS', `Invalid ${WHAT}: prices.__proto__ is no model id`);
  checkMethods('memory', checked.memory, MEMORY_METHODS, 'MemoryAdapter');
  checkMethods('logger', checked.logger, LOGGER_METHODS, 'MacroLogger');
  const pipeline = checkPhases(checked.pipeline ?? defaultPipeline());
  return {
    ...(checked as Omit<typeof checked, 'prices'> & { prices?: Readonly<Record<string, ModelPrice>> }),
    pipeline,
    phases: phasesByName([...pipeline, ...checkPhases(checked.phases ?? [])]),
    predicates: new Map(predicates as [string, GateCheck][]),
  };
}

function cannotRead(error: unknown): MacroError {
  return new MacroError('INVALID_OPTIONS', `Cannot read ${WHAT}: ${describe(error)}`, { cause: error });
}

/** Throws unless `value` (when given) has every one of `methods` (a method that cannot be read: its error is the cause). */
function checkMethods(
  name: string,
  value: object | undefined,
  methods: readonly string[],
  type: string,
): void {
  if (value === undefined) return;
  const missing: string[] = [];
  for (const method of methods) {
    let read: unknown;
    try {
      read = (value as Record<string, unknown>)[method];
    } catch (error) {
      throw cannotRead(error);
    }
    if (typeof read !== 'function') missing.push(method);
  }
  if (missing.length > 0) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid ${WHAT}: ${name} must implement ${type} (missing: ${missing.join(', ')})`,
    );
  }
}

/** `phases`, each checked to extend `ExecutionStage` (a revoked proxy does not). */
function checkPhases(phases: readonly unknown[]): ExecutionStage[] {
  return phases.map((phase) => {
    let isPhase: boolean;
    try {
      isPhase = phase instanceof ExecutionStage;
    } catch {
      isPhase = false; // a revoked proxy
    }
    if (!isPhase) {
      throw new MacroError('INVALID_OPTIONS', 'Expected every pipeline phase to extend ExecutionStage');
    }
    return phase as ExecutionStage;
  });
}

/** Phases by name; two different phases may not share one. */
function phasesByName(all: readonly ExecutionStage[]): Map<string, ExecutionStage> {
  const phases = new Map<string, ExecutionStage>();
  for (const phase of all) {
    let name: string;
    try {
      name = phase.name;
    } catch (error) {
      throw cannotRead(error); // a getter
    }
    const existing = phases.get(name);
    if (existing !== undefined && existing !== phase) {
      throw new MacroError('INVALID_OPTIONS', `Two pipeline phases are named "${safeText(name)}"`);
    }
    phases.set(name, phase);
  }
  return phases;
}
