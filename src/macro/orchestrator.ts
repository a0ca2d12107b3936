/**
 * `MacroOrchestrator` loads and validates a macro catalogue once, then runs macros.
 * Its options are in orchestrator-options.ts; `runMacro` is in run-macro.ts.
 * @module
 */

import { randomUUID } from 'node:crypto';
import type { AgentCallWrapper } from '../agents/agent.js';
import { type AgentRegistry, registryOf } from '../agents/registry.js';
import { CancelledError, MacroConfigurationError, MacroError } from '../errors.js';
import type { MacroEvent } from '../events.js';
import { AbortScope } from '../internal/abort-scope.js';
import { Deferred } from '../internal/deferred.js';
import { inMicrotask } from '../internal/microtask.js';
import { nonEmptyString } from '../internal/options.js';
import { safeText } from '../internal/safe.js';
import { stopTimer, type Timer } from '../internal/timers.js';
import { logFailure, resolveLogger } from '../logger.js';
import { InMemoryMemory } from '../memory/in-memory.js';
import { releaseLease } from '../memory/lease.js';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import { settlesPromptly, withTimeout } from '../memory/timed-memory.js';
import type { MacroLogger } from '../model/logger.js';
import { Scheduler, SchedulingPolicySchema } from '../scheduling/scheduler.js';
import { TurnBudget } from '../scheduling/turn-budget.js';
import { AnyListeners } from './any-listeners.js';
import { CallWrappers } from './call-wrappers.js';
import { CheckpointTurns } from './checkpoint-turns.js';
import { compileCatalogue } from './compile.js';
import type { CompileEnvironment } from './compile-environment.js';
import type { CompiledMacro } from './compiled.js';
import { startRun } from './executor.js';
import { checkedRunIds, guardedClock, guardedRandom } from './guarded-sources.js';
import {
  checkOrchestratorOptions,
  type OrchestratorOptions,
  type ResumeIncompleteOptions,
  ResumeIncompleteOptionsSchema,
  type ResumeOptions,
  ResumeOptionsSchema,
  type RunOptions,
} from './orchestrator-options.js';
import { listRunning, resumeStored } from './resume.js';
import { MacroRun } from './run.js';
import { startBudget, stopBudget } from './run-budget.js';
import {
  parseContext,
  parseOptions,
  RunOptionsRead,
  readRunOptions,
  runIdTaken,
  runLimits,
} from './run-input.js';
import type { EngineServices, RunRequest } from './run-request.js';
import { builtinMacros } from './scripts.js';
import { notSuspended } from './suspension.js';
import {
  type MacroContextInput,
  type MacroDefinition,
  type MacroResult,
  RetryPolicySchema,
  type StageOutput,
} from './types.js';

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
  readonly logger: MacroLogger;
  #definitions: readonly MacroDefinition[];
  #catalogue: Map<string, CompiledMacro>;
  /** What every run borrows; replaced (never changed) when the catalogue changes. */
  #services: EngineServices;
  /** What compiling a catalogue works from: agents, phases, the checks gates may name… */
  readonly #environment: CompileEnvironment;
  readonly #createRunId: () => string;
  /** What `run()` reads its options into (see `RunOptionsRead`). */
  readonly #read = new RunOptionsRead();
  /** Runs in flight, by id: bounded by what runs now, emptied as runs settle. */
  readonly #live = new Map<string, MacroRun<unknown>>();
  /** Listeners of every event of every run (`onAny`), and wrappers of every agent call (`aroundAgentCalls`). */
  readonly #shared = { any: new AnyListeners(), calls: new CallWrappers() };

  /** @throws {MacroConfigurationError} listing every problem in the catalogue. */
  constructor(options: OrchestratorOptions<M> = {}) {
    // Read once: the values checked are the values used.
    const given = checkOrchestratorOptions(options);
    this.agents = registryOf(given.agents);
    this.memory = given.memory ?? new InMemoryMemory();
    this.logger = resolveLogger(given.logger, given.logLevel);
    this.#environment = {
      agents: this.agents,
      pipeline: given.pipeline,
      phases: given.phases,
      checkAgents: given.checkAgents ?? 'reachable',
      maxFallbackDepth: given.maxFallbackDepth ?? 3,
      // Own entries only (checked functions): `__proto__` or `toString` is a name like any other.
      predicates: given.predicates,
    };
    this.#definitions = (given.macros ?? builtinMacros) as readonly MacroDefinition[];
    this.#catalogue = this.#compile(this.#definitions);
    const memory = withTimeout(this.memory, given.persistenceTimeoutMs ?? 30_000);
    const turns = new TurnBudget(this.#live);
    this.#services = {
      catalogue: this.#catalogue,
      agents: this.agents,
      memory,
      memorySettlesPromptly: settlesPromptly(this.memory),
      scheduler: new Scheduler(SchedulingPolicySchema.parse(given.scheduling ?? {})),
      logger: this.logger,
      now: given.now === undefined ? Date.now : guardedClock(given.now, this.logger),
      random: given.random === undefined ? Math.random : guardedRandom(given.random, this.logger),
      maxFallbackDepth: this.#environment.maxFallbackDepth,
      persistenceRetry: RetryPolicySchema.parse(
        given.persistenceRetry ?? { retries: 3, minDelayMs: 50, maxDelayMs: 1000 },
      ),
      checkpointing: { memory, durability: given.durability ?? 'async', turns: new CheckpointTurns(turns) },
      prices: given.prices ?? {},
      turns,
    };
    this.#createRunId = given.createRunId === undefined ? randomUUID : checkedRunIds(given.createRunId);
  }

  #compile(definitions: readonly unknown[]) {
    return compileCatalogue(definitions, this.#environment);
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

  /**
   * Calls `listener` with every event of every run this orchestrator starts or resumes from
   * now on (each event carries its `runId`), after that run's own listeners; returns the
   * function that unsubscribes it. A listener that throws never breaks a run.
   * @example
   * const stop = orchestrator.onAny((event) => trace.push(event));
   */
  onAny(listener: (event: MacroEvent) => void): () => void {
    return this.#shared.any.add(listener, 'orchestrator.onAny');
  }

  /**
   * Runs `wrapper` around every agent call of every run (outside the run's own wrappers);
   * returns the function that removes it. The place to make a tracing span or a request
   * context current while an agent runs. See {@link AgentCallWrapper}.
   * @example
   * orchestrator.aroundAgentCalls((call, proceed) => requestContext.run({ path: call.path }, proceed));
   */
  aroundAgentCalls(wrapper: AgentCallWrapper): () => void {
    return this.#shared.calls.add(wrapper, 'orchestrator.aroundAgentCalls');
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
      throw new MacroError(
        'MACRO_NOT_FOUND',
        `Unknown macro "${safeText(name)}" (known: ${known || 'none'})`,
      );
    }
    if (macro.missingAgents.length > 0) throw new MacroConfigurationError(macro.missingAgents);
    const parsedContext = parseContext(context, macro.name);
    // Read once, into fields every run reuses: copied out and cleared before the caller's
    // code (createRunId, the clock) runs, which may start another run.
    const read = readRunOptions(options, this.#read);
    const { input, runId: chosenId, signal, timeoutMs, deadline, limits } = read;
    read.clear();
    const runId = chosenId ?? this.#createRunId();
    if (this.#live.has(runId)) throw runIdTaken(runId);
    const scope = AbortScope.root(signal, (reason) => new CancelledError(macro.name, reason));
    const budget = startBudget(scope, timeoutMs, deadline, macro.name, this.#services.now());
    const logger = this.#runLogger(runId, macro);
    // The caller's code ran since the check (its signal, clock, logger) and may have started a run of this id.
    if (this.#live.has(runId)) {
      stopBudget(scope, budget);
      throw runIdTaken(runId);
    }
    const request: RunRequest = {
      runId,
      macro,
      context: parsedContext,
      input: input ?? parsedContext.intent,
      scope,
      logger,
      ...(limits === undefined ? {} : { budget: limits }),
    };
    // The run settles the handle's own Deferred, on the next microtask: no promise of
    // run()'s adopting the run's (~250 B of every live run).
    const done = new Deferred();
    const run = new MacroRun(
      runId,
      macro.name,
      done.promise as Promise<MacroResult>,
      (reason) => scope.abort(new CancelledError(macro.name, reason)),
      logger,
      this.#shared,
    );
    const services = this.#services;
    inMicrotask(() => startRun(services, request, run, done));
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
   * The handle rejects (and its iterator throws) with `RUN_LEASED` when another process
   * holds the run's lease (an adapter with leases), `RUN_NOT_FOUND` when memory has
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
    nonEmptyString('run id given to MacroOrchestrator.resume', runId);
    const given = parseOptions('resume options', options, ResumeOptionsSchema); // read once
    const now = this.#services.now(); // before the live check: the caller's clock may start this run
    const live = this.#live.get(runId);
    if (live !== undefined && 'input' in given) throw notSuspended(runId, 'still running here');
    if (live !== undefined) return live;
    const limits = runLimits(given.budget);
    let name = runId; // the macro's name once loaded
    const scope = AbortScope.root(given.signal, (reason) => new CancelledError(name, reason));
    const budget = startBudget(scope, given.timeoutMs, given.deadline, () => name, now);
    let run: MacroRun<unknown> | undefined;
    const result = Promise.resolve().then(() =>
      resumeStored(run as MacroRun<unknown>, runId, {
        services: this.#services,
        given,
        scope,
        limits,
        named: (macro) => {
          name = macro.name;
        },
        runLogger: (macro) => this.#runLogger(runId, macro),
      }),
    );
    run = new MacroRun(
      runId,
      '',
      result,
      (reason) => scope.abort(new CancelledError(name, reason)),
      this.logger,
      this.#shared,
    );
    this.#track(run, scope, budget);
    return run;
  }

  /**
   * Resumes every run that memory lists as `running` but that is not running in this
   * orchestrator: after a restart, these are the runs the crash interrupted. Runs of
   * macros missing from the catalogue are skipped (and logged).
   *
   * On an adapter with leases (`PostgresMemory`, `SqliteMemory`), runs are claimed first, atomically:
   * those whose lease lapsed, of macros in this catalogue, each by one process only. On
   * one without, a run listed as `running` may be alive in another process sharing the
   * database: set `staleAfterMs` above your longest stage, so that only runs without a
   * checkpoint for that long are taken over. Listing the runs is bounded by
   * `signal`, `timeoutMs` and `deadline` too (the promise rejects with the `CANCELLED` or
   * `RUN_TIMEOUT` error), and by `persistenceTimeoutMs`.
   * @returns the resumed runs' handles, oldest run first.
   */
  async resumeIncomplete(options: ResumeIncompleteOptions = {}): Promise<MacroRun<unknown>[]> {
    const given = parseOptions('resumeIncomplete options', options, ResumeIncompleteOptionsSchema);
    const { staleAfterMs = 0, limit = 100, ...rest } = given; // read once
    const runOptions = rest as ResumeOptions;
    const now = this.#services.now();
    // Only runs of macros this orchestrator can run, last written at least staleAfterMs ago.
    const claim = { limit, macros: [...this.#catalogue.keys()], updatedBefore: now - staleAfterMs };
    const runs = await listRunning(this.#services.memory, claim, runOptions, now);
    const resumed: MacroRun<unknown>[] = [];
    for (const { runId, macro } of runs) {
      if (this.#live.has(runId)) continue;
      if (!this.#catalogue.has(macro)) {
        logFailure(this.logger, 'warn', undefined, { runId, macro }, 'cannot resume: unknown macro');
        continue;
      }
      resumed.push(this.resume(runId, runOptions));
    }
    return resumed;
  }

  #runLogger(runId: string, macro: CompiledMacro): MacroLogger {
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
      releaseLease(this.#services.memory, run.runId); // held still only if the result was not saved
    };
    run.result.then(forget, forget);
  }

  /** A stored result, or `undefined`; bounded by `persistenceTimeoutMs`. */
  loadResult(runId: string): Promise<MacroResult | undefined> {
    return this.#services.memory.loadResult(runId);
  }
}
