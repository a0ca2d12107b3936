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
import { CancelledError, MacroError, StageTimeoutError } from '../errors.js';
import { AbortScope } from '../internal/abort-scope.js';
import { type LogLevel, resolveLogger } from '../logger.js';
import { InMemoryMemory } from '../memory/in-memory.js';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import { withWriteTimeout } from '../memory/timed-memory.js';
import { defaultPipeline, ExecutionStage } from '../protocol/execution.js';
import { Scheduler, type SchedulingPolicyInput, SchedulingPolicySchema } from '../scheduling/scheduler.js';
import { type Durability, restorePoint } from './checkpoints.js';
import { type CompiledMacro, compileCatalogue } from './compile.js';
import { type EngineServices, RunExecution, type RunRequest } from './executor.js';
import { MacroRun } from './run.js';
import { invalidOptions, parseContext, plainRunOptions, RunOptionsSchema } from './run-input.js';
import { builtinMacros } from './scripts.js';
import {
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
   * A memory write that has not settled after this long fails (and is retried, then
   * reported), so a hung adapter cannot keep a run from settling. @default 30_000
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
  /** Time budget of the whole run in ms; past it the run settles `partial`. */
  readonly timeoutMs?: number;
  /** Absolute deadline (epoch ms); the earlier of this and `timeoutMs` applies. */
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

const OrchestratorOptionsSchema = z.object({
  maxFallbackDepth: z.number().int().min(0).max(20).optional(),
  persistenceRetry: RetryPolicySchema.optional(),
  persistenceTimeoutMs: z.number().positive().optional(),
  durability: z.enum(['sync', 'async']).optional(),
  scheduling: SchedulingPolicySchema.optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

/** The output type of macro `N` in catalogue `M`. */
export type MacroOutput<M, N extends string> = M extends MacroDefinition<N, any> ? StageOutput<M> : never;

const invalid = invalidOptions;

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
  /** Runs in flight, by id: bounded by what runs now, emptied as runs settle. */
  readonly #live = new Map<string, MacroRun<unknown>>();

  /** @throws {MacroConfigurationError} listing every problem in the catalogue. */
  constructor(options: OrchestratorOptions<M> = {}) {
    const checked = OrchestratorOptionsSchema.safeParse(options);
    if (!checked.success) throw invalid('orchestrator options', checked.error);
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
      memory: withWriteTimeout(this.memory, options.persistenceTimeoutMs ?? 30_000),
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
    const parsedContext = parseContext(context, macro.name);
    if (!plainRunOptions(options)) {
      const parsedOptions = RunOptionsSchema.safeParse(options);
      if (!parsedOptions.success) throw invalid('run options', parsedOptions.error);
    }

    const runId = this.#createRunId();
    const scope = AbortScope.root(options.signal, (reason) => new CancelledError(macro.name, reason));
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
    const result = Promise.resolve().then(() => this.#execute(request, options, run as MacroRun<unknown>));
    run = new MacroRun(
      runId,
      macro.name,
      result,
      (reason) => scope.abort(new CancelledError(macro.name, reason)),
      logger,
    );
    this.#track(run);
    return run as MacroRun<MacroOutput<M, N>>;
  }

  /**
   * Continues a run that was interrupted (its process crashed or was stopped) from its
   * checkpoints in {@link OrchestratorOptions.memory}. Stages that finished before are
   * not run again: their stored outputs are reused, and each emits `stage:start` and
   * `stage:end` with status `restored`. The run keeps its id, context, input and start
   * time; its events continue the stored sequence numbers, and `run:start` carries
   * `resumed: true`. `timeoutMs` and `deadline` count from the resume.
   *
   * A run that already finished is not run again: the handle emits `run:start` and
   * `run:end` and settles with the stored result. Resuming a run that is running in
   * this orchestrator returns its live handle.
   *
   * The handle rejects (and its iterator throws) with `RUN_NOT_FOUND` when memory has
   * no such run, and `MACRO_NOT_FOUND` when its macro is not in the catalogue.
   * @example
   * const orchestrator = new MacroOrchestrator({ agents, memory: new SqliteMemory('runs.db') });
   * const result = await orchestrator.resume(runId);
   */
  resume(runId: string, options: ResumeOptions = {}): MacroRun<unknown> {
    const live = this.#live.get(runId);
    if (live !== undefined) return live;
    const parsedOptions = ResumeOptionsSchema.safeParse(options);
    if (!parsedOptions.success) throw invalid('resume options', parsedOptions.error);
    let name = runId; // the macro's name once loaded
    const scope = AbortScope.root(options.signal, (reason) => new CancelledError(name, reason));
    let run: MacroRun<unknown> | undefined;
    const result = Promise.resolve().then(async () => {
      const handle = run as MacroRun<unknown>;
      const stored = await this.memory.loadRun(runId);
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
      return this.#execute(request, options, handle);
    });
    run = new MacroRun(
      runId,
      '',
      result,
      (reason) => scope.abort(new CancelledError(name, reason)),
      this.logger,
    );
    this.#track(run);
    return run;
  }

  /**
   * Resumes every run that memory lists as `running` but that is not running in this
   * orchestrator: after a restart, these are the runs the crash interrupted. Runs of
   * macros missing from the catalogue are skipped (and logged).
   *
   * When several processes share one database, a run listed as `running` may be alive
   * in another process: set `staleAfterMs` above your longest stage, so that only runs
   * without a checkpoint for that long are taken over.
   * @returns the resumed runs' handles, oldest run first.
   */
  async resumeIncomplete(options: ResumeIncompleteOptions = {}): Promise<MacroRun<unknown>[]> {
    const parsedOptions = ResumeIncompleteOptionsSchema.safeParse(options);
    if (!parsedOptions.success) throw invalid('resume options', parsedOptions.error);
    const { staleAfterMs = 0, limit = 100, ...runOptions } = options;
    const now = this.#services.now();
    const runs = await this.memory.listRuns({ status: 'running', limit });
    const resumed: MacroRun<unknown>[] = [];
    for (const summary of runs.reverse()) {
      if (this.#live.has(summary.runId) || now - summary.updatedAt < staleAfterMs) continue;
      if (!this.#catalogue.has(summary.macro)) {
        this.logger.warn({ runId: summary.runId, macro: summary.macro }, 'cannot resume: unknown macro');
        continue;
      }
      resumed.push(this.resume(summary.runId, runOptions));
    }
    return resumed;
  }

  /** Runs `request` under the run budget of `options`, counted from now. */
  #execute(request: RunRequest, options: RunOptions, run: MacroRun<unknown>): Promise<MacroResult<any>> {
    const services = this.#services;
    const { scope, macro } = request;
    const budget = runBudget(options, services.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (budget !== undefined) {
      timer = setTimeout(
        () => scope.abort(new StageTimeoutError(macro.name, budget, 'run')),
        Math.max(0, budget),
      );
    }
    const executing = new RunExecution(services, request, run).execute();
    // No run budget, no timer to clear: most runs skip the two promises of a `finally`.
    return timer === undefined ? executing : executing.finally(() => clearTimeout(timer));
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

  /** Keeps `run` findable by `resume()` while it runs; forgets it when it settles. */
  #track(run: MacroRun<unknown>): void {
    this.#live.set(run.runId, run);
    const forget = () => {
      if (this.#live.get(run.runId) === run) this.#live.delete(run.runId);
    };
    run.result.then(forget, forget);
  }

  /** A stored result, or `undefined`. */
  loadResult(runId: string): Promise<MacroResult | undefined> {
    return this.memory.loadResult(runId);
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
  const { input, signal, timeoutMs, deadline, orchestrator, ...rest } = options as RunOptions &
    OrchestratorOptions<M> & { orchestrator?: MacroOrchestrator<M> };
  const runOptions: { -readonly [K in keyof RunOptions]: RunOptions[K] } = {};
  if (input !== undefined) runOptions.input = input;
  if (signal !== undefined) runOptions.signal = signal;
  if (timeoutMs !== undefined) runOptions.timeoutMs = timeoutMs;
  if (deadline !== undefined) runOptions.deadline = deadline;
  return (orchestrator ?? new MacroOrchestrator<M>(rest)).run(name, context, runOptions);
}
