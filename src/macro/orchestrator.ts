/**
 * `MacroOrchestrator` loads and validates a macro catalogue once, then runs macros;
 * `runMacro` is the one-call entry point for a meta-agent.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import { AgentRegistry } from '../agents/registry.js';
import {
  CancelledError,
  describe,
  MacroConfigurationError,
  MacroError,
  PersistenceError,
  StageTimeoutError,
} from '../errors.js';
import { AbortScope } from '../internal/abort-scope.js';
import { abortReason, withGrace } from '../internal/grace.js';
import { checkOptionKeys } from '../internal/options.js';
import { safeGet } from '../internal/safe.js';
import { startTimer, stopTimer, type Timer } from '../internal/timers.js';
import { type LogLevel, logFailure, resolveLogger } from '../logger.js';
import { InMemoryMemory } from '../memory/in-memory.js';
import {
  MEMORY_METHODS,
  type MemoryAdapter,
  type RunSummary,
  type StoredRun,
} from '../memory/memory-adapter.js';
import { settlesPromptly, withTimeout } from '../memory/timed-memory.js';
import { defaultPipeline, ExecutionStage } from '../protocol/execution.js';
import { Scheduler, type SchedulingPolicyInput, SchedulingPolicySchema } from '../scheduling/scheduler.js';
import { type Durability, restorePoint } from './checkpoints.js';
import { type CompiledMacro, compileCatalogue } from './compile.js';
import { RunExecution } from './executor.js';
import { MacroRun } from './run.js';
import {
  checkRunOptions,
  invalidOptions,
  parseContext,
  plainRunOptions,
  RUN_OPTION_KEYS,
  RunOptionsSchema,
} from './run-input.js';
import type { EngineServices, RunRequest } from './run-request.js';
import { builtinMacros } from './scripts.js';
import { checkStoredRun } from './stored-run.js';
import {
  type AgentCheck,
  type MacroContextInput,
  type MacroDefinition,
  type MacroResult,
  type RetryPolicyInput,
  RetryPolicySchema,
  type StageOutput,
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
  /** A pino logger; child loggers are bound to each run, stage and label set. */
  readonly logger?: Logger;
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
   *   finished since the loop last turned (they run again on resume).
   * - `'sync'`: before the run moves on; a `stage:end` means the stage is stored.
   *   One awaited write per stage.
   * @default 'async'
   */
  readonly durability?: Durability;
  /** Clock for timestamps. @default Date.now */
  readonly now?: () => number;
  /** Randomness for backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Run id factory. @default crypto.randomUUID */
  readonly createRunId?: () => string;
}

/** Options of one run. */
export interface RunOptions {
  /** Input of the first stage. @default context.intent */
  readonly input?: unknown;
  /** Cancels the run: everything in flight is aborted and the run settles `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Time budget of the whole run in ms, counted from the call; past it the run settles
   * `partial`. Any duration works (long ones are chained timers); `Infinity` is no budget.
   */
  readonly timeoutMs?: number;
  /** Absolute deadline (epoch ms, any distance away); the earlier of this and `timeoutMs` applies. */
  readonly deadline?: number;
}

/** Options of {@link MacroOrchestrator.resume}: those of a run, except the input, which is the stored one. */
export type ResumeOptions = Omit<RunOptions, 'input'>;

const ResumeOptionsSchema = RunOptionsSchema.omit({ input: true });

/** Options of {@link MacroOrchestrator.resumeIncomplete}; the run options apply to every resumed run. */
export interface ResumeIncompleteOptions extends ResumeOptions {
  /** Skip runs whose last checkpoint is more recent than this, in ms. @default 0 */
  readonly staleAfterMs?: number;
  /** Resume at most this many runs. @default 100 */
  readonly limit?: number;
}

const ResumeIncompleteOptionsSchema = ResumeOptionsSchema.extend({
  staleAfterMs: z.number().min(0).optional(),
  limit: z.number().int().positive().optional(),
});

const fn = (name: string) =>
  z.custom<(...args: any[]) => unknown>((v) => typeof v === 'function', `${name} must be a function`);

const OrchestratorOptionsSchema = z.strictObject({
  agents: z.custom<object>((v) => typeof v === 'object' && v !== null, 'agents must be iterable').optional(),
  macros: z.array(z.unknown()).readonly().optional(),
  checkAgents: z.enum(['reachable', 'catalogue']).optional(),
  memory: z.custom<object>((v) => typeof v === 'object' && v !== null, 'memory must be an object').optional(),
  logger: z.custom<object>((v) => typeof v === 'object' && v !== null, 'logger must be an object').optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  scheduling: SchedulingPolicySchema.optional(),
  pipeline: z.array(z.unknown()).readonly().optional(),
  phases: z.array(z.unknown()).readonly().optional(),
  maxFallbackDepth: z.number().int().min(0).max(20).optional(),
  persistenceRetry: RetryPolicySchema.optional(),
  persistenceTimeoutMs: z.number().positive().or(z.literal(Number.POSITIVE_INFINITY)).optional(),
  durability: z.enum(['sync', 'async']).optional(),
  now: fn('now').optional(),
  random: fn('random').optional(),
  createRunId: fn('createRunId').optional(),
});

/** Every key of `OrchestratorOptions`. */
const ORCHESTRATOR_OPTION_KEYS = Object.keys(OrchestratorOptionsSchema.shape);

/** The output type of macro `N` in catalogue `M`. */
export type MacroOutput<M, N extends string> = M extends MacroDefinition<N, any> ? StageOutput<M> : never;

/**
 * Validates a macro catalogue once, resolves every agent it needs, and runs macros.
 * @example
 * const orchestrator = new MacroOrchestrator({ agents: [writer, reviewer], macros: [...builtinMacros, mine] });
 * const result = await orchestrator.run('research-draft-review', { intent: 'Explain WAL mode' });
 */
export class MacroOrchestrator<M extends MacroDefinition<string, any> = MacroDefinition> {
  readonly agents: AgentRegistry;
  readonly memory: MemoryAdapter;
  readonly logger: Logger;
  #definitions: readonly MacroDefinition[];
  #catalogue: Map<string, CompiledMacro>;
  /** What every run borrows; replaced (never changed) when the catalogue changes. */
  #services: EngineServices;
  readonly #pipeline: readonly ExecutionStage[];
  readonly #phases: Map<string, ExecutionStage>;
  readonly #createRunId: () => string;
  readonly #checkAgents: AgentCheck;
  /** Runs in flight, by id: bounded by what runs now, emptied as runs settle. */
  readonly #live = new Map<string, MacroRun<unknown>>();

  /** @throws {MacroConfigurationError} listing every problem in the catalogue. */
  constructor(options: OrchestratorOptions<M> = {}) {
    checkOptionKeys('orchestrator options', options, ORCHESTRATOR_OPTION_KEYS);
    const checked = OrchestratorOptionsSchema.safeParse(options);
    if (!checked.success) throw invalidOptions('orchestrator options', checked.error);
    const missing = MEMORY_METHODS.filter((m) => typeof safeGet(options.memory, m) !== 'function');
    if (options.memory !== undefined && missing.length > 0) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Invalid orchestrator options: memory must implement MemoryAdapter (missing: ${missing.join(', ')})`,
      );
    }
    this.#checkAgents = options.checkAgents ?? 'reachable';
    this.agents =
      options.agents instanceof AgentRegistry ? options.agents : new AgentRegistry(options.agents ?? []);
    this.memory = options.memory ?? new InMemoryMemory();
    this.logger = resolveLogger(options.logger, options.logLevel);
    this.#pipeline = options.pipeline ?? defaultPipeline();
    this.#phases = new Map();
    for (const phase of [...this.#pipeline, ...(options.phases ?? [])]) {
      if (!(phase instanceof ExecutionStage)) {
        throw new MacroError('INVALID_OPTIONS', 'Expected every pipeline phase to extend ExecutionStage');
      }
      const existing = this.#phases.get(phase.name);
      if (existing !== undefined && existing !== phase) {
        throw new MacroError('INVALID_OPTIONS', `Two pipeline phases are named "${phase.name}"`);
      }
      this.#phases.set(phase.name, phase);
    }
    this.#definitions = [...(options.macros ?? (builtinMacros as readonly MacroDefinition[]))];
    this.#catalogue = this.#compile(this.#definitions);
    this.#services = {
      catalogue: this.#catalogue,
      agents: this.agents,
      memory: withTimeout(this.memory, options.persistenceTimeoutMs ?? 30_000),
      memorySettlesPromptly: settlesPromptly(this.memory),
      scheduler: new Scheduler(SchedulingPolicySchema.parse(options.scheduling ?? {})),
      logger: this.logger,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      maxFallbackDepth: options.maxFallbackDepth ?? 3,
      persistenceRetry: RetryPolicySchema.parse(
        options.persistenceRetry ?? { retries: 3, minDelayMs: 50, maxDelayMs: 1000 },
      ),
      durability: options.durability ?? 'async',
    };
    this.#createRunId = options.createRunId ?? randomUUID;
  }

  #compile(definitions: readonly unknown[]) {
    return compileCatalogue(definitions, {
      agents: this.agents,
      pipeline: this.#pipeline,
      phases: this.#phases,
      checkAgents: this.#checkAgents,
    });
  }

  /**
   * Adds macros to the catalogue. The whole catalogue is validated again; on any
   * problem nothing is added and a `MacroConfigurationError` is thrown.
   */
  addMacros<const D extends readonly MacroDefinition<string, any>[]>(
    ...definitions: D
  ): MacroOrchestrator<M | D[number]> {
    const next = [...this.#definitions, ...definitions];
    this.#catalogue = this.#compile(next);
    this.#services = { ...this.#services, catalogue: this.#catalogue };
    this.#definitions = next;
    return this as unknown as MacroOrchestrator<M | D[number]>;
  }

  /** Names of every macro in the catalogue. */
  get macroNames(): string[] {
    return [...this.#catalogue.keys()];
  }

  /** A macro's definition, as given. */
  getMacro(name: string): MacroDefinition | undefined {
    return this.#catalogue.get(name)?.definition;
  }

  /**
   * Starts macro `name`. The returned run is awaitable, emits typed events, and is
   * async-iterable. Execution starts on the next microtask, so listeners attached
   * right away see every event.
   * @throws {MacroError} `MACRO_NOT_FOUND`, `INVALID_CONTEXT` or `INVALID_OPTIONS`, before anything runs.
   * @throws {MacroConfigurationError} when the macro, its sub-macros or fallbacks need an agent that is not registered.
   */
  run<N extends M['name']>(
    name: N,
    context: MacroContextInput,
    options: RunOptions = {},
  ): MacroRun<MacroOutput<M, N>> {
    const macro = this.#catalogue.get(name);
    if (macro === undefined) {
      const known = [...this.#catalogue.keys()].join(', ');
      throw new MacroError('MACRO_NOT_FOUND', `Unknown macro "${String(name)}" (known: ${known || 'none'})`);
    }
    if (macro.missingAgents.length > 0) throw new MacroConfigurationError(macro.missingAgents);
    const parsedContext = parseContext(context, macro.name);
    if (!plainRunOptions(options)) checkRunOptions('run options', options, RunOptionsSchema);

    const runId = this.#createRunId();
    const scope = AbortScope.root(options.signal, (reason) => new CancelledError(macro.name, reason));
    const budget = this.#startBudget(scope, options, macro.name);
    const logger = this.#runLogger(runId, macro);
    const request: RunRequest = {
      runId,
      macro,
      context: parsedContext,
      input: options.input ?? parsedContext.intent,
      scope,
      logger,
    };
    let run: MacroRun<unknown> | undefined;
    const result = Promise.resolve().then(() =>
      new RunExecution(this.#services, request, run as MacroRun<unknown>).execute(),
    );
    run = new MacroRun(
      runId,
      macro.name,
      result,
      (reason) => scope.abort(new CancelledError(macro.name, reason)),
      logger,
    );
    this.#track(run, scope, budget);
    return run as MacroRun<MacroOutput<M, N>>;
  }

  /**
   * Continues a run that was interrupted (its process crashed or was stopped) from its
   * checkpoints in {@link OrchestratorOptions.memory}. Stages that finished before are
   * not run again: their stored outputs are reused, and each emits `stage:start` and
   * `stage:end` with status `restored`. The run keeps its id, context, input and start
   * time; its events continue the stored sequence numbers, and `run:start` carries
   * `resumed: true`. `timeoutMs` and `deadline` count from the call, loading included.
   *
   * A run that already finished is not run again: the handle emits `run:start` and
   * `run:end` and settles with the stored result. Resuming a run that is running in
   * this orchestrator returns its live handle.
   *
   * The handle rejects (and its iterator throws) with `RUN_NOT_FOUND` when memory has
   * no such run, `RUN_CORRUPT` when what is stored is malformed, `PERSISTENCE_FAILED`
   * when loading fails or does not settle within `persistenceTimeoutMs`, the run's
   * `CANCELLED` or `RUN_TIMEOUT` error when it is cancelled or out of time while loading,
   * `MACRO_NOT_FOUND` when its macro is not in the catalogue, and a
   * `MacroConfigurationError` when the macro needs an agent that is not registered.
   * @example
   * const orchestrator = new MacroOrchestrator({ agents, memory: new SqliteMemory('runs.db') });
   * const result = await orchestrator.resume(runId);
   */
  resume(runId: string, options: ResumeOptions = {}): MacroRun<unknown> {
    const live = this.#live.get(runId);
    if (live !== undefined) return live;
    if (typeof runId !== 'string' || runId.length === 0) {
      throw new MacroError('INVALID_OPTIONS', 'Expected the run id to resume to be a non-empty string');
    }
    checkRunOptions('resume options', options, ResumeOptionsSchema);
    let name = runId; // the macro's name once loaded
    const scope = AbortScope.root(options.signal, (reason) => new CancelledError(name, reason));
    const budget = this.#startBudget(scope, options, () => name);
    let run: MacroRun<unknown> | undefined;
    const result = Promise.resolve().then(async () => {
      const handle = run as MacroRun<unknown>;
      const stored = await this.#load(runId, scope);
      if (stored?.result !== undefined) return this.#replay(handle, stored.result);
      if (stored?.header === undefined) {
        throw new MacroError('RUN_NOT_FOUND', `No run "${runId}" is stored in memory to resume`);
      }
      const { header } = stored;
      const macro = this.#catalogue.get(header.macro);
      if (macro === undefined) {
        throw new MacroError(
          'MACRO_NOT_FOUND',
          `Run "${runId}" cannot be resumed: its macro "${header.macro}" is not in the catalogue`,
        );
      }
      if (macro.missingAgents.length > 0) throw new MacroConfigurationError(macro.missingAgents);
      name = macro.name;
      handle.bindMacro(macro.name);
      const request: RunRequest = {
        runId,
        macro,
        context: header.context,
        input: header.input,
        scope,
        logger: this.#runLogger(runId, macro),
        restore: restorePoint(stored),
        startedAt: header.startedAt,
      };
      return new RunExecution(this.#services, request, handle).execute();
    });
    run = new MacroRun(
      runId,
      '',
      result,
      (reason) => scope.abort(new CancelledError(name, reason)),
      this.logger,
    );
    this.#track(run, scope, budget);
    return run;
  }

  /**
   * Loads a run to resume, bounded by `persistenceTimeoutMs`, the resume's budget and
   * its cancellation, and checked before it is trusted.
   */
  async #load(runId: string, scope: AbortScope): Promise<StoredRun | undefined> {
    let loaded: unknown;
    try {
      // Cancelled or out of time while loading: a load that still settles within the turn
      // gives a `cancelled` (or `partial`) result, as a run does; a slower one is left behind.
      loaded = await withGrace(this.#services.memory.loadRun(runId), scope, abortReason);
    } catch (error) {
      if (scope.aborted && error === scope.reason) throw error;
      throw new PersistenceError(
        'loadRun',
        error,
        `loading run "${runId}" to resume it failed: ${describe(error)}`,
      );
    }
    return loaded === undefined ? undefined : checkStoredRun(runId, loaded);
  }

  /**
   * Resumes every run that memory lists as `running` but that is not running in this
   * orchestrator: after a restart, these are the runs the crash interrupted. Runs of
   * macros missing from the catalogue are skipped (and logged).
   *
   * When several processes share one database, a run listed as `running` may be alive
   * in another process: set `staleAfterMs` above your longest stage, so that only runs
   * without a checkpoint for that long are taken over. Listing the runs is bounded by
   * `signal`, `timeoutMs` and `deadline` too (the promise rejects with the `CANCELLED` or
   * `RUN_TIMEOUT` error), and by `persistenceTimeoutMs`.
   * @returns the resumed runs' handles, oldest run first.
   */
  async resumeIncomplete(options: ResumeIncompleteOptions = {}): Promise<MacroRun<unknown>[]> {
    checkRunOptions('resumeIncomplete options', options, ResumeIncompleteOptionsSchema);
    const { staleAfterMs = 0, limit = 100, ...runOptions } = options;
    const now = this.#services.now();
    const runs = await this.#listRunning(limit, runOptions);
    const resumed: MacroRun<unknown>[] = [];
    for (const summary of runs.reverse()) {
      if (this.#live.has(summary.runId) || now - summary.updatedAt < staleAfterMs) continue;
      if (!this.#catalogue.has(summary.macro)) {
        logFailure(
          this.logger,
          'warn',
          undefined,
          { runId: summary.runId, macro: summary.macro },
          'cannot resume: unknown macro',
        );
        continue;
      }
      resumed.push(this.resume(summary.runId, runOptions));
    }
    return resumed;
  }

  /** The runs memory lists as running, read within the budget and cancellation of `options`. */
  async #listRunning(limit: number, options: ResumeOptions): Promise<RunSummary[]> {
    const scope = AbortScope.root(options.signal, (reason) => new CancelledError('resumeIncomplete', reason));
    const budget = this.#startBudget(scope, options, 'resumeIncomplete');
    try {
      return await withGrace(
        this.#services.memory.listRuns({ status: 'running', limit }),
        scope,
        abortReason,
      );
    } finally {
      if (budget !== undefined) stopTimer(budget);
      scope.dispose();
    }
  }

  /**
   * Starts the time budget of `options` (the earlier of `timeoutMs` and `deadline`),
   * counted from now: when it runs out, `scope` aborts with a `RUN_TIMEOUT` error.
   */
  #startBudget(scope: AbortScope, options: RunOptions, name: string | (() => string)): Timer | undefined {
    const budget = runBudget(options, this.#services.now());
    if (budget === undefined || budget === Number.POSITIVE_INFINITY) return undefined;
    const fire = () =>
      scope.abort(new StageTimeoutError(typeof name === 'string' ? name : name(), budget, 'run'));
    return startTimer(fire, budget);
  }

  /** Settles a resumed run that had already finished: `run:start`, `run:end`, the stored result. */
  #replay(run: MacroRun<unknown>, result: MacroResult): MacroResult {
    run.bindMacro(result.macro);
    const base = (seq: number) => ({
      runId: result.runId,
      seq,
      at: this.#services.now(),
      path: result.macro,
      labels: result.labels,
    });
    run.deliver({ type: 'run:start', ...base(1), macro: result.macro, resumed: true });
    run.deliver({
      type: 'run:end',
      ...base(2),
      macro: result.macro,
      status: result.status,
      durationMs: result.durationMs,
      result,
    });
    return result;
  }

  #runLogger(runId: string, macro: CompiledMacro): Logger {
    return this.logger.isLevelEnabled('error')
      ? this.logger.child({ runId, macro: macro.name, labels: macro.labels })
      : this.logger;
  }

  /**
   * Keeps `run` findable by `resume()` while it runs; when it settles (or its resume
   * is refused), forgets it, stops its budget timer and unlinks its scope from the
   * caller's signal.
   */
  #track(run: MacroRun<unknown>, scope: AbortScope, budget: Timer | undefined): void {
    this.#live.set(run.runId, run);
    const forget = () => {
      if (budget !== undefined) stopTimer(budget);
      scope.dispose();
      if (this.#live.get(run.runId) === run) this.#live.delete(run.runId);
    };
    run.result.then(forget, forget);
  }

  /** A stored result, or `undefined`; bounded by `persistenceTimeoutMs`. */
  loadResult(runId: string): Promise<MacroResult | undefined> {
    return this.#services.memory.loadResult(runId);
  }
}

function runBudget(options: RunOptions, now: number): number | undefined {
  const fromDeadline = options.deadline === undefined ? undefined : options.deadline - now;
  if (options.timeoutMs === undefined) return fromDeadline;
  return fromDeadline === undefined ? options.timeoutMs : Math.min(options.timeoutMs, fromDeadline);
}

/** Options of {@link runMacro}: an orchestrator to use, or what to build one from. */
export type RunMacroOptions<M extends MacroDefinition<string, any> = MacroDefinition> = RunOptions &
  (
    | { readonly orchestrator: MacroOrchestrator<M> }
    | (OrchestratorOptions<M> & { readonly orchestrator?: undefined })
  );

/**
 * Runs a macro in one call: the meta-agent's entry point. Pass an `orchestrator` to
 * reuse its catalogue, memory and scheduling budget, or orchestrator options to build
 * one for this run.
 * @example
 * const run = runMacro('code-review', { intent: 'Review PR #42' }, { agents });
 * run.on('stage:end', (e) => log(e.path, e.status));
 * const result = await run;
 */
export function runMacro<
  M extends MacroDefinition<string, any> = MacroDefinition,
  N extends M['name'] = M['name'],
>(name: N, context: MacroContextInput, options: RunMacroOptions<M> = {}): MacroRun<MacroOutput<M, N>> {
  checkOptionKeys('runMacro options', options, [
    ...RUN_OPTION_KEYS,
    'orchestrator',
    ...ORCHESTRATOR_OPTION_KEYS,
  ]);
  const { input, signal, timeoutMs, deadline, orchestrator, ...rest } = options as RunOptions &
    OrchestratorOptions<M> & { orchestrator?: MacroOrchestrator<M> };
  if (orchestrator !== undefined && Object.keys(rest).length > 0) {
    // They would be ignored: the orchestrator was built with its own.
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid runMacro options: pass an orchestrator or orchestrator options, not both (got orchestrator and ${Object.keys(rest).join(', ')})`,
    );
  }
  const runOptions: { -readonly [K in keyof RunOptions]: RunOptions[K] } = {};
  if (input !== undefined) runOptions.input = input;
  if (signal !== undefined) runOptions.signal = signal;
  if (timeoutMs !== undefined) runOptions.timeoutMs = timeoutMs;
  if (deadline !== undefined) runOptions.deadline = deadline;
  return (orchestrator ?? new MacroOrchestrator<M>(rest)).run(name, context, runOptions);
}
