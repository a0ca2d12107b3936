/**
 * One run: its macro's stages, then fallbacks while the macro fails, then the final
 * writes and `run:end`. Keeps the run's invariants: it always settles, every start gets
 * exactly one end, and no finished result is lost. Stage kinds run in their own modules
 * (AgentAttempt, groupAttempt, withStageRetry, Restorer); they call back into the run
 * through the small interfaces it implements (AttemptHost, GroupHost, GateHost).
 * @internal
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import type { Agent } from '../agents/agent.js';
import { type MacroError, type PersistenceError, toErrorRecord } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { Deferred, type Sink } from '../internal/deferred.js';
import { logFailure } from '../logger.js';
import { writeWithRetry } from '../memory/write-with-retry.js';
import type { MacroLogger } from '../model/logger.js';
import type { ProgressData } from '../model/progress.js';
import type { TokenUsage } from '../model/usage.js';
import type { TurnBudget } from '../scheduling/turn-budget.js';
import { AgentAttempt, type AttemptHost } from './agent-attempt.js';
import { AgentCaller } from './agent-call.js';
import { EMPTY_FEEDBACK } from './attempt-state.js';
import { Checkpointer, type CheckpointHost } from './checkpoints.js';
import type { CompiledMacro, CompiledNode } from './compiled.js';
import { failedOutcome, normalise, type Outcome } from './failure.js';
import { groupAttempt } from './group-attempt.js';
import type { Invocation } from './invocation.js';
import { Journal } from './journal.js';
import { MacroPass, type PassHost } from './macro-pass.js';
import { emitPersistenceError, stopIfLeaseLost, withFinalFailures } from './persistence-failures.js';
import { Restorer } from './restore.js';
import type { MacroRun } from './run.js';
import { runEnded, runStarted } from './run-events.js';
import type { EngineServices, RunRequest } from './run-request.js';
import { buildResult } from './run-result.js';
import { RunStorage } from './run-storage.js';
import type { GroupHost } from './stage-kind.js';
import { withStageRetry } from './stage-retry.js';
import { suspendRun } from './suspension.js';
import type { MacroContext, MacroResult, StageRecord } from './types.js';

export class RunExecution implements AttemptHost, GroupHost, CheckpointHost, PassHost {
  readonly journal: Journal;
  readonly caller: AgentCaller;
  readonly #svc: EngineServices;
  readonly #req: RunRequest;
  readonly #logger: MacroLogger;
  #context: MacroContext;
  readonly #checkpoints: Checkpointer;
  readonly #storage: RunStorage;
  /** False when the run could not be begun in memory: then nothing is checkpointed. */
  #durable = true;
  /** Stages left to restore when resuming. */
  readonly #restorer: Restorer | undefined;
  /** The first checkpoint-time persistence failure, reported in the result. */
  #persistenceFailure: PersistenceError | undefined;
  /** Settles with the run's result (see execute). */
  #done: Deferred | undefined;
  /** When the run started (after its turn); set before the first pass. */
  #startedAt = 0;
  /** Fallbacks taken so far. */
  #depth = 0;
  /** The run's async context: made on first use, in the run's own (see asyncContext). */
  #asyncContext: AsyncResource | undefined;

  constructor(svc: EngineServices, req: RunRequest, run: MacroRun<unknown>) {
    this.#svc = svc;
    this.#req = req;
    this.#logger = req.logger;
    this.#context = req.context;
    const journal = new Journal(run, req.runId, req.macro, svc.now, svc.prices);
    this.journal = journal;
    this.caller = new AgentCaller(svc.scheduler, this, run);
    if (req.restore !== undefined) this.#restorer = new Restorer(journal, req.restore);
    // The run is its writes' host: no closures per run for them.
    this.#checkpoints = new Checkpointer(this, svc.checkpointing);
    this.#storage = new RunStorage(this, svc.memory, this.#checkpoints, svc.memorySettlesPromptly);
  }

  /**
   * The run's async context, made on first use: by its first pass, which starts in the
   * run's own. Its checkpoint turns and each pass's end go on in it. One a run: an
   * AsyncResource is ~100 B of every live run.
   */
  get asyncContext(): AsyncResource {
    this.#asyncContext ??= new AsyncResource('MacroRun');
    return this.#asyncContext;
  }

  get turns(): TurnBudget {
    return this.#svc.turns;
  }

  // ── the run ───────────────────────────────────────────────────────────────

  /**
   * Runs the run; `done` (and the promise returned, its own) settles with its result. The
   * stages of each macro pass run on callbacks (MacroPass), with no async frame of the
   * run's waiting for them.
   */
  execute(done: Deferred = new Deferred()): Promise<MacroResult> {
    this.#done = done;
    this.#begin().then(
      (startedAt) => {
        this.#startedAt = startedAt;
        // A store that commits in groups (SQLite's, from its write thread) settles the headers of
        // thousands of runs at once: their first passes go on in turns too, not all in that one
        // (from here, the pass runs in the first microtask of its turn, before the budget's next check).
        const { restore, scope, macro } = this.#req;
        const turn =
          restore === undefined && !this.#svc.memorySettlesPromptly ? this.#svc.turns.wait(scope) : undefined;
        if (turn === undefined) this.#pass(macro);
        else void turn.then(() => this.#pass(macro));
      },
      (error: unknown) => done.fail(0, error),
    );
    return done.promise as Promise<MacroResult>;
  }

  /** Waits for the run's turn, emits `run:start` and records the run as begun; returns its start time. */
  async #begin(): Promise<number> {
    const { scope } = this.#req;
    const turn = this.#svc.turns.wait(scope);
    if (turn !== undefined) await turn; // many runs started at once: the rest start in later turns
    const startedAt = this.#req.startedAt ?? this.#svc.now();
    const { name } = this.#req.macro;
    runStarted(this.journal, name, this.#req.restore !== undefined);
    if (this.#req.restore === undefined) {
      // Recorded as begun in memory, so that it can be resumed; without that, nothing is checkpointed.
      const { runId, context, input } = this.#req;
      const header = { runId, macro: name, context, input, startedAt };
      const failure = await this.#storage.begin(header);
      if (failure !== undefined) {
        this.#durable = false;
        this.#persistenceError(failure, name);
      }
    }
    return startedAt;
  }

  /** Starts a pass over `macro` (the run's own, or a fallback) on the run's input. */
  #pass(macro: CompiledMacro): void {
    try {
      new MacroPass(this, macro, this.#req.scope).start(this.#req.input);
    } catch (error) {
      this.fault(error);
    }
  }

  /**
   * A pass ended (MacroPass): the next fallback runs while the macro failed and has one,
   * or the run finishes. The scope stays linked to the caller's signal until the run
   * settles: a cancel during the final writes still ends the wait for them.
   */
  passEnded(macro: CompiledMacro, ended: Outcome): void {
    let outcome = ended;
    try {
      this.journal.macros.push(
        outcome.status === 'succeeded'
          ? { macro: macro.name, status: 'succeeded' }
          : { macro: macro.name, status: outcome.status, error: toErrorRecord(outcome.error) },
      );
      const { scope } = this.#req;
      if (outcome.status === 'failed' && scope.aborted) {
        // Cancelled (or out of time) as the macro failed, say from a `macro:end`
        // listener: the abort decides the run's status, and no fallback runs.
        outcome = this.#aborted(scope, macro.name);
      } else if (outcome.status === 'failed' && macro.fallback !== undefined) {
        if (this.#depth < this.#svc.maxFallbackDepth) {
          this.#fallBack(macro, outcome.error);
          return;
        }
        this.#logger.warn({ macro: macro.name, depth: this.#depth }, 'fallback depth limit reached');
      }
    } catch (error) {
      this.fault(error);
      return;
    }
    const done = this.#done as Deferred;
    this.#finish(macro, outcome, this.#startedAt).then(
      (result) => done.ok(0, result),
      (error: unknown) => done.fail(0, error),
    );
  }

  /** Runs `macro`'s fallback, which failed with `failure`. */
  #fallBack(macro: CompiledMacro, failure: MacroError): void {
    const next = this.#svc.catalogue.get(macro.fallback as string) as CompiledMacro;
    const error = toErrorRecord(failure);
    this.#depth++;
    const event = {
      type: 'fallback' as const,
      ...this.journal.base(macro.name),
      from: macro.name,
      to: next.name,
      error,
      depth: this.#depth,
    };
    this.journal.emit(event);
    this.journal.recordAudit('fallback', event, { from: macro.name, to: next.name, error });
    this.#context = { ...this.#context, failure: { macro: macro.name, error } };
    this.journal.enter(next);
    this.#pass(next);
  }

  /** An engine fault on the way (a host method threw): the run rejects with it. */
  fault(error: unknown): void {
    (this.#done as Deferred).fail(0, error);
  }

  /** The outcome of a macro whose run was cancelled or ran out of time. */
  #aborted(scope: AbortScope, path: string): Outcome {
    return failedOutcome(scope.reason, path, scope);
  }

  async #finish(macro: CompiledMacro, outcome: Outcome, startedAt: number): Promise<MacroResult> {
    const endedAt = this.#svc.now();
    const { name, labels } = this.#req.macro;
    let result = buildResult(this.journal, {
      macro: name,
      producedBy: macro.name,
      labels,
      startedAt,
      endedAt,
      outcome,
      persistenceFailure: this.#persistenceFailure,
    });

    // Waited for until the run is cancelled or out of time (and one turn more, in which a
    // healthy adapter settles): then they go on in the background (see RunStorage).
    const failures = await this.#storage.finish(result);
    result = withFinalFailures(this.journal, result, this.#persistenceFailure, failures, macro.name);
    runEnded(this.journal, name, labels, this.#svc.now(), result);
    this.journal.ended = true;
    return result;
  }

  // ── what the run's writes call back for (CheckpointHost) ───────────────────

  get scope(): AbortScope {
    return this.#req.scope;
  }

  now(): number {
    return this.#svc.now();
  }

  checkpointFailed(error: PersistenceError): void {
    this.#persistenceError(error, error.path ?? this.#req.macro.name);
  }

  retryWrite(operation: string, write: () => Promise<void>, failedOnce?: { readonly error: unknown }) {
    const { persistenceRetry, random } = this.#svc;
    return writeWithRetry(operation, write, persistenceRetry, random, this.#logger, failedOnce);
  }

  /** Reports a failed write during the run; the result repeats the first one. */
  #persistenceError(failure: PersistenceError, path: string): void {
    this.#persistenceFailure ??= failure;
    stopIfLeaseLost(failure, this.#req.scope);
    logFailure(this.#logger, 'warn', failure, {}, 'a memory write failed during the run; the run goes on');
    if (this.journal.ended) return; // a write left behind by a cancelled run: logged only
    emitPersistenceError(this.journal, failure, path);
  }

  // ── stages ────────────────────────────────────────────────────────────────

  /**
   * Starts `node` on `input`, reporting its end to `sink` as piece `index`: an agent stage
   * without retries or anything to restore directly, with no promise of its own; anything
   * else through #node. Used by chains and parallel groups.
   */
  startStage(node: CompiledNode, input: unknown, scope: AbortScope, sink: Sink, index: number): void {
    if (
      node.kind === 'agent' &&
      (node.retry === undefined || node.retry.retries === 0) &&
      (this.#restorer === undefined || !this.#restorer.has(node.path))
    ) {
      new AgentAttempt(this, node, input, scope, 1, sink, index).start();
    } else reportTo(this.#node(node, input, scope), sink, index);
  }

  /** Runs `node`: restored if it finished before the run was interrupted, under its retry policy otherwise. */
  #node(node: CompiledNode, input: unknown, scope: AbortScope): Promise<unknown> {
    const stored = this.#restorer?.storedFor(node);
    if (stored !== undefined) return Promise.resolve((this.#restorer as Restorer).restore(node, stored));
    const policy = node.retry;
    if (policy === undefined || policy.retries === 0) return this.#attempt(node, input, scope, 1);
    return withStageRetry(node.path, policy, scope, this.journal, this.#svc.random, (attempt) =>
      this.#attempt(node, input, scope, attempt),
    );
  }

  /** One attempt of a stage: the Execution Pipeline of an agent stage, a group's children otherwise. */
  #attempt(node: CompiledNode, input: unknown, parent: AbortScope, attempt: number): Promise<unknown> {
    if (node.kind !== 'agent') return groupAttempt(this, node, input, parent, attempt);
    const done = new Deferred();
    new AgentAttempt(this, node, input, parent, attempt, done, 0).start();
    return done.promise;
  }

  // ── what stages call back for ─────────────────────────────────────────────

  /**
   * Queues a finished stage's checkpoint. Returns the write to wait for under `'sync'`
   * durability, so that a listener that sees `stage:end` can rely on the stage being
   * stored (`stage:end` then carries the time the write ended).
   */
  checkpoint(record: StageRecord): Promise<void> | undefined {
    if (!this.#durable) return undefined;
    return this.#checkpoints.save(record);
  }

  /** Records a stage that failed; returns the error it fails with. */
  stageFailed(
    node: CompiledNode,
    attempt: number,
    caught: unknown,
    scope: AbortScope,
    startedAt: number,
  ): MacroError {
    const error = normalise(caught, node.path, scope);
    this.journal.stageFailed(node, attempt, error, startedAt);
    return error;
  }

  /** How gates (and Harmony) at `path` call their judge agents. */
  judge(path: string, scope: AbortScope, attempt: number, phase: string | undefined) {
    return (agentId: string, input: unknown): Promise<unknown> =>
      this.caller.invoke(this.#svc.agents.get(agentId) as Agent, input, scope, {
        path,
        attempt,
        phase,
        feedback: EMPTY_FEEDBACK,
        previous: undefined,
        schema: undefined,
      });
  }

  agent(id: string): Agent | undefined {
    return this.#svc.agents.get(id);
  }

  progress(call: Invocation, data: ProgressData): void {
    this.journal.progress(call, data);
  }

  usage(call: Invocation, usage: TokenUsage, live: boolean): void {
    const ledger = this.journal.ledger();
    const counted = ledger.add(call.callee.id, usage, call.path, call.attempt);
    if (live) this.journal.progress(call, counted);
    const { budget, scope } = this.#req;
    if (budget === undefined || scope.aborted) return;
    // Past the budget: every call in flight is aborted, and no new one starts.
    const over = ledger.overBudget(budget, this.#req.macro.name);
    if (over !== undefined) scope.abort(over);
  }

  suspend(path: string, payload: unknown): never {
    return suspendRun(this.journal, this.#req.scope, path, payload);
  }

  resumeInput(path: string): { readonly input: unknown } | undefined {
    const waiting = this.#req.resumeWith;
    return waiting !== undefined && waiting.path === path ? waiting : undefined;
  }

  get context(): MacroContext {
    return this.#context;
  }

  get logger(): MacroLogger {
    return this.#logger;
  }

  get runId(): string {
    return this.journal.runId;
  }
}

/**
 * Starts a run for its handle `run`: `done` (the handle's result) settles with the run's
 * result, or rejects with an engine fault, from the constructor's on.
 */
export function startRun(svc: EngineServices, req: RunRequest, run: MacroRun<unknown>, done: Deferred): void {
  try {
    void new RunExecution(svc, req, run).execute(done); // settles `done`, which its caller holds
  } catch (error) {
    done.fail(0, error);
  }
}

/** Reports a stage that went through a promise (#node) to `sink`. */
function reportTo(branch: Promise<unknown>, sink: Sink, index: number): void {
  branch.then(
    (value) => sink.ok(index, value),
    (error: unknown) => sink.fail(index, error),
  );
}
