/**
 * Walks a compiled stage tree for one run: sequences, parallels, retries, sub-macros
 * and agent stages (through the Execution Pipeline), then fallbacks, persistence and
 * the final event. Keeps the run's invariants: it always settles, every start gets
 * exactly one end, and no finished result is lost.
 * @internal
 * @module
 */
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { Agent } from '../agents/agent.js';
import {
  CancelledError,
  type ErrorRecord,
  isMacroError,
  type MacroError,
  type PersistenceError,
  QualityGateError,
  toErrorRecord,
} from '../errors.js';
import type { MacroEvent } from '../events.js';
import { type AbortScope, type RaceOutcome, sleep, type Watcher } from '../internal/abort-scope.js';
import { Deferred, type Sink } from '../internal/deferred.js';
import { abortReason, withGrace } from '../internal/grace.js';
import { snapshot } from '../internal/snapshot.js';
import { logFailure } from '../logger.js';
import type { AuditRecord, MemoryAdapter } from '../memory/memory-adapter.js';
import { writeWithRetry } from '../memory/write-with-retry.js';
import { shapeArtefacts } from '../protocol/artefacts.js';
import type { ExecutionStage, PipelineState } from '../protocol/execution.js';
import type { Harmony } from '../protocol/harmony.js';
import { checkGate, isThenable, latestVerdictsPass } from '../protocol/quality-gates.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import { AgentAttempt, type AttemptHost, type GateCheck } from './agent-attempt.js';
import { AgentOutcome, callAgent, scheduledCall, watchAgent } from './agent-call.js';
import { Chain, type StageStarter } from './chain.js';
import { Checkpointer, type Durability, type RestorePoint } from './checkpoints.js';
import type { CompiledAgentStage, CompiledMacro, CompiledNode, CompiledParallel } from './compile.js';
import { statusOf, wrapUserError } from './failure.js';
import { Invocation } from './invocation.js';
import { Join } from './join.js';
import { backoffDelay, isRetryable, retryAfter } from './retry.js';
import type { MacroRun } from './run.js';
import { type RetryWrite, RunStorage } from './run-storage.js';
import { timedScope } from './stage-scope.js';
import type {
  Artefact,
  DecisionRecord,
  GateVerdict,
  MacroAttempt,
  MacroContext,
  MacroResult,
  QualityGate,
  RetryPolicy,
  RunStatus,
  StageRecord,
  StageStatus,
  TimelineEntry,
} from './types.js';
import { withoutOutput } from './unstorable.js';

/** What the orchestrator lends every run. */
export interface EngineServices {
  readonly catalogue: ReadonlyMap<string, CompiledMacro>;
  readonly agents: { get(id: string): Agent | undefined };
  readonly memory: MemoryAdapter;
  /** True for the plain InMemoryMemory, whose calls settle within microtasks and never hang. */
  readonly memorySettlesPromptly: boolean;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly maxFallbackDepth: number;
  readonly persistenceRetry: RetryPolicy;
  /** When stage checkpoints are written. */
  readonly durability: Durability;
}

export interface RunRequest {
  readonly runId: string;
  readonly macro: CompiledMacro;
  readonly context: MacroContext;
  readonly input: unknown;
  readonly scope: AbortScope;
  readonly logger: Logger;
  /** Set when resuming: stages finished before the interruption are restored, not run again. */
  readonly restore?: RestorePoint;
  /** When the run first started; a resumed run keeps it. @default now */
  readonly startedAt?: number;
}

/** Every field of every variant of a result. */
type MacroResultFields = MacroResult & { output: unknown; error: ErrorRecord };

type Outcome =
  | { status: 'succeeded'; output: unknown }
  | { status: 'partial' | 'failed' | 'cancelled'; error: MacroError };

const EMPTY_FEEDBACK: readonly GateVerdict[] = Object.freeze([]);

/** Branches of a parallel group start in slices of this many (a power of two). */
const SLICE = 1024;
const SLICE_MASK = SLICE - 1;

/** The judge given to gates that have none to call. */
function noJudge(): Promise<never> {
  return Promise.reject(new Error('only judge gates call a judge'));
}

export class RunExecution implements StageStarter, AttemptHost {
  readonly #svc: EngineServices;
  readonly #req: RunRequest;
  readonly #run: MacroRun<unknown>;
  readonly #runId: string;
  readonly #logger: Logger;
  readonly #debug: boolean;
  #labels: Readonly<Record<string, string>>;
  #context: MacroContext;
  #seq = 0;
  readonly #stages: Record<string, StageRecord> = {};
  readonly #timeline: TimelineEntry[] = [];
  readonly #errors: ErrorRecord[] = [];
  readonly #verdicts: GateVerdict[] = [];
  readonly #artefacts: Artefact[] = [];
  readonly #macros: MacroAttempt[] = [];
  readonly #audit: AuditRecord[] = [];
  readonly #decisions: DecisionRecord[] = [];
  readonly #checkpoints: Checkpointer;
  readonly #storage: RunStorage;
  /** False when the run could not be begun in memory: then nothing is checkpointed. */
  #durable = true;
  /** Stages left to restore when resuming, by path. */
  #restoring: Map<string, StageRecord> | undefined;
  /** The first checkpoint-time persistence failure, reported in the result. */
  #persistenceFailure: PersistenceError | undefined;
  /** Set once `run:end` is emitted: nothing is emitted after it. */
  #ended = false;

  constructor(svc: EngineServices, req: RunRequest, run: MacroRun<unknown>) {
    this.#svc = svc;
    this.#req = req;
    this.#run = run;
    this.#runId = req.runId;
    this.#logger = req.logger;
    this.#debug = req.logger.isLevelEnabled('debug');
    this.#labels = req.macro.labels;
    this.#context = req.context;
    if (req.restore !== undefined) this.#preload(req.restore);
    const logger = this.#logger;
    const retry: RetryWrite = (operation, write, failedOnce) =>
      writeWithRetry(operation, write, svc.persistenceRetry, svc.random, logger, failedOnce);
    this.#checkpoints = new Checkpointer(
      svc.memory,
      req.runId,
      {
        timeline: this.#timeline,
        errors: this.#errors,
        verdicts: this.#verdicts,
        artefacts: this.#artefacts,
        decisions: this.#decisions,
        audit: this.#audit,
      },
      () => ({ seq: this.#seq, at: this.#svc.now() }),
      (error) => this.#persistenceError(error, error.path ?? this.#req.macro.name),
      svc.durability,
      req.scope,
      (write, failedOnce) => retry('saveCheckpoint', write, failedOnce),
    );
    this.#storage = new RunStorage(
      svc.memory,
      retry,
      this.#checkpoints,
      req.scope,
      svc.memorySettlesPromptly,
    );
  }

  /** Takes over what a resumed run had recorded before it was interrupted. */
  #preload(restore: RestorePoint): void {
    this.#seq = restore.seq;
    this.#restoring = restore.stages;
    const { journal } = restore;
    for (const entry of journal.timeline) this.#timeline.push(entry);
    for (const error of journal.errors) this.#errors.push(error);
    for (const verdict of journal.verdicts) this.#verdicts.push(verdict);
    for (const artefact of journal.artefacts) this.#artefacts.push(artefact);
    for (const decision of journal.decisions) this.#decisions.push(decision);
  }

  // ── events ────────────────────────────────────────────────────────────────

  #emit(event: MacroEvent): void {
    if (this.#ended) return; // nothing after run:end, whatever is left behind
    this.#run.deliver(event);
  }

  #base(path: string) {
    return { runId: this.#runId, seq: ++this.#seq, at: this.#svc.now(), path, labels: this.#labels };
  }

  #recordAudit(kind: AuditRecord['kind'], event: MacroEvent, data: Record<string, unknown>): void {
    this.#audit.push({ runId: this.#runId, seq: event.seq, at: event.at, kind, path: event.path, data });
  }

  // ── the run ───────────────────────────────────────────────────────────────

  async execute(): Promise<MacroResult> {
    const { scope } = this.#req;
    const startedAt = this.#req.startedAt ?? this.#svc.now();
    const { name } = this.#req.macro;
    const start = {
      type: 'run:start' as const,
      runId: this.#runId,
      seq: ++this.#seq,
      at: this.#svc.now(),
      path: name,
      labels: this.#labels,
      macro: name,
    };
    this.#emit(this.#req.restore === undefined ? start : { ...start, resumed: true as const });
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

    let macro = this.#req.macro;
    let outcome: Outcome;
    for (let depth = 0; ; depth++) {
      outcome = await this.#runMacro(macro, this.#req.input, scope);
      this.#macros.push(
        outcome.status === 'succeeded'
          ? { macro: macro.name, status: 'succeeded' }
          : { macro: macro.name, status: outcome.status, error: toErrorRecord(outcome.error) },
      );
      if (outcome.status === 'failed' && scope.aborted) {
        // Cancelled (or out of time) as the macro failed, say from a `macro:end`
        // listener: the abort decides the run's status, and no fallback runs.
        outcome = this.#aborted(scope, macro.name);
        break;
      }
      if (outcome.status !== 'failed' || macro.fallback === undefined) break;
      if (depth >= this.#svc.maxFallbackDepth) {
        this.#logger.warn({ macro: macro.name, depth }, 'fallback depth limit reached');
        break;
      }
      const next = this.#svc.catalogue.get(macro.fallback) as CompiledMacro;
      const error = toErrorRecord(outcome.error);
      const event = {
        type: 'fallback' as const,
        ...this.#base(macro.name),
        from: macro.name,
        to: next.name,
        error,
        depth: depth + 1,
      };
      this.#emit(event);
      this.#recordAudit('fallback', event, { from: macro.name, to: next.name, error });
      this.#context = { ...this.#context, failure: { macro: macro.name, error } };
      this.#labels = next.labels;
      macro = next;
    }
    // The scope stays linked to the caller's signal until the run settles: a cancel
    // during the final writes still ends the wait for them.
    return this.#finish(macro, outcome, startedAt);
  }

  async #runMacro(macro: CompiledMacro, input: unknown, scope: AbortScope): Promise<Outcome> {
    const startedAt = this.#svc.now();
    const { name } = macro;
    this.#emit({
      type: 'macro:start',
      runId: this.#runId,
      seq: ++this.#seq,
      at: startedAt,
      path: name,
      labels: this.#labels,
      macro: name,
    });
    let outcome: Outcome;
    try {
      // Bounded by the run's budget even if a stage never reported its end (an engine
      // fault): once the run aborts, its stages end within microtasks, and a turn after
      // that the macro ends anyway.
      const value = await withGrace(new Chain(this, macro.children, input, scope).ended, scope, abortReason);
      if (macro.gates.length > 0) await this.#macroGates(macro.gates, value, macro.name, scope);
      // Cancelled (or out of time) while the macro ran, even if its last stage then ended:
      // the abort decides the run's status (see docs/failure-semantics.md, Precedence).
      outcome = scope.aborted
        ? this.#aborted(scope, macro.name)
        : { status: 'succeeded', output: this.#recordedOutput(macro.children) };
    } catch (caught) {
      // Once the run is cancelled or out of time, that decides its status, even when a
      // settle-mode branch had already failed for another reason.
      outcome = scope.aborted
        ? this.#aborted(scope, macro.name)
        : this.#failedOutcome(caught, macro.name, scope);
    }
    const endedAt = this.#svc.now();
    const status: StageStatus = outcome.status === 'succeeded' ? 'succeeded' : statusOf(outcome.error);
    this.#timeline.push({
      scope: 'macro',
      path: macro.name,
      name: macro.name,
      status,
      attempt: 1,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    });
    const end = {
      type: 'macro:end' as const,
      runId: this.#runId,
      seq: ++this.#seq,
      at: endedAt,
      path: name,
      labels: this.#labels,
      macro: name,
      status,
      durationMs: endedAt - startedAt,
    };
    this.#emit(outcome.status === 'succeeded' ? end : { ...end, error: toErrorRecord(outcome.error) });
    return outcome;
  }

  /** The outcome of a macro whose run was cancelled or ran out of time. */
  #aborted(scope: AbortScope, path: string): Outcome {
    return this.#failedOutcome(scope.reason, path, scope);
  }

  #failedOutcome(caught: unknown, path: string, scope: AbortScope): Outcome {
    const error = this.#normalise(caught, path, scope);
    const stageStatus = statusOf(error);
    return {
      status: stageStatus === 'timed-out' ? 'partial' : stageStatus === 'cancelled' ? 'cancelled' : 'failed',
      error,
    };
  }

  /** The recorded output of a macro: its last stage's recorded snapshot (a macro has at least one stage). */
  #recordedOutput(children: readonly CompiledNode[]): unknown {
    return this.#record(children[children.length - 1] as CompiledNode).output;
  }

  async #finish(macro: CompiledMacro, outcome: Outcome, startedAt: number): Promise<MacroResult> {
    const endedAt = this.#svc.now();
    const verdicts = this.#verdicts;
    // Built once, in place (a spread per field group copied the whole object per run).
    const built: { -readonly [K in keyof MacroResultFields]?: MacroResultFields[K] } = {
      runId: this.#runId,
      macro: this.#req.macro.name,
      producedBy: macro.name,
      labels: this.#req.macro.labels,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
      stages: this.#stages,
      timeline: this.#timeline,
      qa: { passed: verdicts.length === 0 || latestVerdictsPass(verdicts), verdicts },
      artefacts: this.#artefacts,
      errors: this.#errors,
      macros: this.#macros,
      decisions: this.#decisions,
      status: outcome.status,
    };
    if (outcome.status === 'succeeded') built.output = outcome.output;
    else built.error = toErrorRecord(outcome.error);
    if (this.#persistenceFailure !== undefined) {
      built.persistence = { ok: false, error: toErrorRecord(this.#persistenceFailure) };
    }
    let result = built as MacroResult; // every field a variant needs was set just above

    // Waited for until the run is cancelled or out of time (and one turn more, in which a
    // healthy adapter settles): then they go on in the background (see RunStorage).
    const failures = await this.#storage.finish(result);
    if (failures.length > 0) {
      // The result names the run's first persistence failure, during the run or at its end.
      const first = this.#persistenceFailure ?? (failures[0] as PersistenceError);
      result = { ...result, persistence: { ok: false, error: toErrorRecord(first) } };
      for (const failure of failures) {
        this.#emit({
          type: 'persistence:error',
          ...this.#base(macro.name),
          operation: failure.operation,
          error: toErrorRecord(failure),
        });
      }
    }
    const status: RunStatus = result.status;
    const { name, labels } = this.#req.macro;
    this.#emit({
      type: 'run:end',
      runId: this.#runId,
      seq: ++this.#seq,
      at: this.#svc.now(),
      path: name,
      // The run's own labels, as on run:start and in the result, even after a fallback.
      labels,
      macro: name,
      status,
      durationMs: result.durationMs,
      result,
    });
    this.#ended = true;
    return result;
  }

  /** Reports a failed write during the run; the result repeats the first one. */
  #persistenceError(failure: PersistenceError, path: string): void {
    this.#persistenceFailure ??= failure;
    logFailure(this.#logger, 'warn', failure, {}, 'a memory write failed during the run; the run goes on');
    if (this.#ended) return; // a write left behind by a cancelled run: logged only
    this.#emit({
      type: 'persistence:error',
      ...this.#base(path),
      operation: failure.operation,
      error: toErrorRecord(failure),
    });
  }

  // ── stages ────────────────────────────────────────────────────────────────

  #node(node: CompiledNode, input: unknown, scope: AbortScope): Promise<unknown> {
    const restored = this.#restoring?.get(node.path);
    if (restored !== undefined && this.#restorable(node, restored)) {
      return Promise.resolve(this.#restore(node, restored));
    }
    if (node.retry === undefined || node.retry.retries === 0) return this.#attempt(node, input, scope, 1);
    return this.#withStageRetry(node, node.retry, input, scope);
  }

  /**
   * Starts `node` on `input`, reporting its end to `sink` as piece `index`: a lean stage
   * (no retries, nothing to restore) directly, with no promise of its own; anything else
   * through #node. Used by chains and parallel groups. @internal
   */
  startStage(node: CompiledNode, input: unknown, scope: AbortScope, sink: Sink, index: number): void {
    if (
      node.kind === 'agent' &&
      (node.retry === undefined || node.retry.retries === 0) &&
      (this.#restoring === undefined || !this.#restoring.has(node.path))
    ) {
      new AgentAttempt(this, node, input, scope, 1, sink, index).start();
    } else reportTo(this.#node(node, input, scope), sink, index);
  }

  #withStageRetry(
    node: CompiledNode,
    policy: RetryPolicy,
    input: unknown,
    scope: AbortScope,
  ): Promise<unknown> {
    return pRetry((attempt) => this.#attempt(node, input, scope, attempt), {
      retries: policy.retries,
      minTimeout: 0, // we wait ourselves, so the delay is known, reported and abortable
      shouldRetry: ({ error }) => isRetryable(error) && !scope.aborted,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft <= 0 || !isRetryable(error) || scope.aborted) return;
        const delayMs =
          retryAfter(error, this.#svc.now()) ?? backoffDelay(policy, attemptNumber, this.#svc.random);
        const errorRecord = toErrorRecord(error);
        const event = {
          type: 'retry' as const,
          ...this.#base(node.path),
          attempt: attemptNumber,
          error: errorRecord,
          delayMs,
          retriesLeft,
        };
        this.#emit(event);
        this.#recordAudit('retry', event, { attempt: attemptNumber, delayMs, error: errorRecord });
        await sleep(delayMs, scope);
      },
    });
  }

  /** One attempt of a stage: the Execution Pipeline of an agent stage, a group's children otherwise. */
  #attempt(node: CompiledNode, input: unknown, parent: AbortScope, attempt: number): Promise<unknown> {
    if (node.kind !== 'agent') return this.#groupAttempt(node, input, parent, attempt);
    const done = new Deferred();
    new AgentAttempt(this, node, input, parent, attempt, done, 0).start();
    return done.promise;
  }

  /** One attempt of a sequence, sub-macro or parallel group. */
  async #groupAttempt(
    node: Exclude<CompiledNode, CompiledAgentStage>,
    input: unknown,
    parent: AbortScope,
    attempt: number,
  ): Promise<unknown> {
    const startedAt = this.stageStarted(node, attempt);
    const scope = node.timeoutMs === undefined ? parent : timedScope(parent, node.timeoutMs, node.path);
    try {
      let output: unknown;
      if (node.kind === 'parallel') output = await this.#parallel(node, input, scope);
      else {
        output = await new Chain(this, node.children, input, scope).ended;
        if (node.kind === 'macro' && node.gates.length > 0) {
          await this.#macroGates(node.gates, output, node.path, scope);
        }
      }
      const record = this.stageSucceeded(
        node,
        attempt,
        this.#groupOutput(node, output),
        undefined,
        startedAt,
      );
      // A checkpoint of a group whose output its children's records already hold (a
      // sequence's last output, a parallel tuple) leaves the output out: stored twice, a
      // 10,000-branch group would store every branch output twice. Restoring rebuilds it.
      const storing = this.checkpoint(derivesOutput(node) ? withoutOutput(record) : record);
      if (storing !== undefined) await storing;
      this.stageEnded(record, storing === undefined ? record.endedAt : this.#svc.now());
      return output;
    } catch (caught) {
      throw this.stageFailed(node, attempt, caught, scope, startedAt);
    } finally {
      if (scope !== parent) scope.dispose();
    }
  }

  /**
   * What a group's record keeps as its output: built from its children's recorded
   * snapshots when it is theirs (a sequence's last output, a parallel tuple), so that it
   * is neither copied again nor shared with the live value the next stage receives;
   * a snapshot of `output` otherwise (a merge, Harmony's pick).
   */
  #groupOutput(node: Exclude<CompiledNode, CompiledAgentStage>, output: unknown): unknown {
    if (!derivesOutput(node)) return snapshot(output);
    const { children } = node;
    // Every child has its record: the group succeeded.
    if (node.kind !== 'parallel') return this.#record(children[children.length - 1] as CompiledNode).output;
    const outputs = new Array<unknown>(children.length);
    for (let i = 0; i < children.length; i++) outputs[i] = this.#record(children[i] as CompiledNode).output;
    return Object.freeze(outputs);
  }

  /** The record of a stage that has one. */
  #record(node: CompiledNode): StageRecord {
    return this.#stages[node.path] as StageRecord;
  }

  /** Checks a macro's own gates on its output (at `path`); throws a QualityGateError when one fails. */
  async #macroGates(
    gates: readonly QualityGate[],
    output: unknown,
    path: string,
    scope: AbortScope,
  ): Promise<void> {
    // Raced, so a gate that never settles cannot outlast a cancellation or a deadline.
    const checked = this.#checkGates(gates, output, path, 1, scope);
    const { passed, verdicts } = checked instanceof Promise ? await scope.race(checked) : checked;
    if (!passed) {
      throw new QualityGateError(
        path,
        verdicts.filter((v) => !v.passed).map((v) => v.gate),
      );
    }
  }

  /**
   * Queues a finished stage's checkpoint. Returns the write to wait for under `'sync'`
   * durability, so that a listener that sees `stage:end` can rely on the stage being
   * stored (`stage:end` then carries the time the write ended).
   */
  checkpoint(record: StageRecord): Promise<void> | undefined {
    if (!this.#durable) return undefined;
    return this.#checkpoints.save(record);
  }

  // The per-stage hot path: one clock reading serves as a start (or end) time and as its
  // event's time; every event counts in `seq` but is built only when someone receives
  // it, with its base fields written out rather than spread from #base().

  /** Emits `stage:start`; returns the stage's start time. */
  stageStarted(node: CompiledNode, attempt: number): number {
    const at = this.#svc.now();
    const seq = ++this.#seq;
    if (this.#run.observes('stage:start')) {
      this.#emit({
        type: 'stage:start',
        runId: this.#runId,
        seq,
        at,
        path: node.path,
        labels: this.#labels,
        kind: node.kind,
        attempt,
      });
    }
    return at;
  }

  /** Records a stage that succeeded, and its timeline span; returns its record. */
  stageSucceeded(
    node: CompiledNode,
    attempt: number,
    output: unknown,
    agent: string | undefined,
    startedAt: number,
    endedAt: number = this.#svc.now(),
  ): StageRecord {
    const { path, id, kind } = node;
    const durationMs = endedAt - startedAt;
    // Two literals, not one and a property added after: adding one moves the object to
    // a new shape and allocates an out-of-object property store, once per stage.
    const record: StageRecord =
      agent === undefined
        ? { path, id, kind, status: 'succeeded', output, attempts: attempt, startedAt, endedAt, durationMs }
        : {
            path,
            id,
            kind,
            status: 'succeeded',
            output,
            attempts: attempt,
            startedAt,
            endedAt,
            durationMs,
            agent,
          };
    if (!this.#ended) this.#stages[path] = record; // the result is the caller's once run:end is out
    this.#span('stage', path, kind, 'succeeded', attempt, startedAt, endedAt);
    return record;
  }

  /** Emits the `stage:end` of a stage that succeeded, at `at`. */
  stageEnded(record: StageRecord, at: number): void {
    const seq = ++this.#seq;
    if (this.#run.observes('stage:end')) {
      this.#emit({
        type: 'stage:end',
        runId: this.#runId,
        seq,
        at,
        path: record.path,
        labels: this.#labels,
        kind: record.kind,
        attempt: record.attempts,
        status: 'succeeded',
        durationMs: record.durationMs,
      });
    }
  }

  /** Records a stage that failed, its span, error and `stage:end`; returns the error to throw. */
  stageFailed(
    node: CompiledNode,
    attempt: number,
    caught: unknown,
    scope: AbortScope,
    startedAt: number,
  ): MacroError {
    const { path, kind } = node;
    const error = this.#normalise(caught, path, scope);
    const endedAt = this.#svc.now();
    const status = statusOf(error);
    const errorRecord = toErrorRecord(error);
    if (this.#ended) return error; // left behind past run:end (an engine fault): the result is the caller's
    this.#errors.push(errorRecord);
    this.#stages[path] = {
      path,
      id: node.id,
      kind,
      status,
      error: errorRecord,
      attempts: attempt,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    };
    this.#span('stage', path, kind, status, attempt, startedAt, endedAt);
    const event = {
      type: 'stage:end' as const,
      ...this.#base(path),
      kind,
      attempt,
      status,
      durationMs: endedAt - startedAt,
      error: errorRecord,
    };
    this.#emit(event);
    if (node.kind === 'agent') this.#recordAudit('failure', event, { attempt, status, error: errorRecord });
    return error;
  }

  /**
   * Replays a stage that finished before the run was interrupted: start and end events
   * (status `restored`, also for its finished children), its record and its output.
   * Each stored stage is restored once; a retry after that runs it again.
   */
  #restore(node: CompiledNode, record: StageRecord): unknown {
    const { path, kind } = node;
    this.#restoring?.delete(path);
    this.#emit({ type: 'stage:start', ...this.#base(path), kind, attempt: record.attempts });
    const outputs: unknown[] = [];
    if (node.kind !== 'agent') {
      for (const child of node.children) {
        const stored = this.#restoring?.get(child.path);
        outputs.push(
          stored !== undefined && stored.kind === child.kind ? this.#restore(child, stored) : undefined,
        );
      }
    }
    // A group checkpointed without its output (see #groupAttempt) gets it back from its children.
    const output =
      'output' in record || !derivesOutput(node)
        ? record.output
        : node.kind === 'parallel'
          ? outputs
          : outputs[outputs.length - 1];
    const at = this.#svc.now();
    const recorded =
      node.kind !== 'agent' && !('output' in record) ? this.#groupOutput(node, output) : snapshot(output);
    if (!this.#ended) this.#stages[path] = { ...record, output: recorded, status: 'restored' };
    this.#span('stage', path, kind, 'restored', record.attempts, at, at);
    this.#emit({
      type: 'stage:end',
      ...this.#base(path),
      kind,
      attempt: record.attempts,
      status: 'restored',
      durationMs: 0,
    });
    return output;
  }

  /**
   * Whether a stored stage can be restored: a group stored without its output only when
   * every child it rebuilds that output from is stored (and restorable) too; otherwise
   * it runs again, and its stored children are restored one by one.
   */
  #restorable(node: CompiledNode, record: StageRecord): boolean {
    if (record.kind !== node.kind) return false;
    if ('output' in record || !derivesOutput(node)) return true;
    return node.children.every((child) => {
      const stored = this.#restoring?.get(child.path);
      return stored !== undefined && this.#restorable(child, stored);
    });
  }

  #span(
    spanScope: TimelineEntry['scope'],
    path: string,
    name: string,
    status: StageStatus,
    attempt: number,
    startedAt: number,
    endedAt: number,
  ): void {
    if (this.#ended) return;
    this.#timeline.push({
      scope: spanScope,
      path,
      name,
      status,
      attempt,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    });
  }

  async #parallel(node: CompiledParallel, input: unknown, parent: AbortScope): Promise<unknown> {
    const failFast = node.failure === 'fail-fast';
    const scope = failFast ? parent.child() : parent;
    const join = new Join(node, failFast ? scope : undefined);
    try {
      const { children } = node;
      for (let i = 0; i < children.length; i++) {
        const child = children[i] as CompiledNode;
        // A lean branch reports to the join itself; any other goes through #node.
        this.startStage(child, input, scope, join, i);
        // Branches start in slices, with a microtask between: work that settles at once
        // (cached answers, no-op agents) ends before the next slice starts, so a huge
        // fan-out does not hold every branch in flight at the same time. Slow work still
        // runs all at once: nothing waits for a branch to end.
        if ((i & SLICE_MASK) === SLICE_MASK && i + 1 < children.length) await undefined;
      }
      await join.ended;
    } finally {
      if (scope !== parent) scope.dispose();
    }
    const { outputs, failures } = join;
    if (node.harmony !== undefined) return this.#harmonise(node, outputs, failures, parent);
    if (join.failed) throw join.firstError;
    if (node.merge === undefined) return outputs;
    try {
      const merged = node.merge(outputs, this.#context);
      // A promise is raced against the scope, so a merge that never settles cannot
      // outlast a timeout; a value (most merges) needs no promise.
      return isThenable(merged) ? await parent.race(Promise.resolve(merged)) : merged;
    } catch (error) {
      if (parent.aborted) throw this.#normalise(error, node.path, parent);
      throw wrapUserError(error, node.path, 'merge');
    }
  }

  /** Lets the group's Harmony policy pick its output; a conflict becomes a recorded decision. */
  async #harmonise(
    node: CompiledParallel,
    outputs: readonly unknown[],
    failures: ReadonlyMap<number, unknown>,
    scope: AbortScope,
  ): Promise<unknown> {
    const { output, decision } = await (node.harmony as Harmony).resolve(outputs, failures, {
      context: this.#context,
      signal: scope.signal,
      judge: (id, input) =>
        this.invokeAgent(
          this.agent(id) as Agent,
          undefined,
          node.path,
          input,
          scope,
          1,
          EMPTY_FEEDBACK,
          undefined,
          false,
        ),
    });
    if (decision === undefined) return output;
    const id = `d${this.#decisions.length + 1}`;
    const recorded = snapshot(decision); // its variants are branch outputs that later stages may change
    const event = { type: 'decision' as const, ...this.#base(node.path), id, ...recorded };
    this.#decisions.push({ id, path: node.path, at: event.at, ...recorded });
    this.#emit(event);
    this.#recordAudit('decision', event, { id, ...recorded });
    return output;
  }

  // ── the Execution Pipeline ────────────────────────────────────────────────

  /** The stage's input, through its `input` mapper if it has one. */
  stageInput(node: CompiledAgentStage, input: unknown): unknown {
    const map = node.input;
    if (map === undefined) return input;
    try {
      return map.call(node.def, input, this.#context); // a method of its definition
    } catch (error) {
      throw wrapUserError(error, node.path, 'input');
    }
  }

  /**
   * Emits `phase:start` (as #stageStarted does); returns the phase's start time: `at`
   * when the caller has just read the clock (a lean stage's draft starts as the stage
   * does, its QA as the draft ends), else a new reading.
   */
  phaseStarted(
    node: CompiledAgentStage,
    phase: ExecutionStage,
    attempt: number,
    at: number = this.#svc.now(),
  ): number {
    const seq = ++this.#seq;
    if (this.#run.observes('phase:start')) {
      this.#emit({
        type: 'phase:start',
        runId: this.#runId,
        seq,
        at,
        path: node.path,
        labels: this.#labels,
        phase: phase.name,
        attempt,
      });
    }
    return at;
  }

  /** Records the span of a phase that succeeded and emits its `phase:end`; returns its end time. */
  phaseSucceeded(
    node: CompiledAgentStage,
    phase: ExecutionStage,
    attempt: number,
    startedAt: number,
  ): number {
    const endedAt = this.#svc.now();
    this.#span('phase', node.path, phase.name, 'succeeded', attempt, startedAt, endedAt);
    const seq = ++this.#seq;
    if (this.#run.observes('phase:end')) {
      this.#emit({
        type: 'phase:end',
        runId: this.#runId,
        seq,
        at: endedAt,
        path: node.path,
        labels: this.#labels,
        phase: phase.name,
        attempt,
        status: 'succeeded',
        durationMs: endedAt - startedAt,
      });
    }
    return endedAt;
  }

  /** Records the span of a phase that failed and emits its `phase:end`; returns the error to throw. */
  phaseFailed(
    node: CompiledAgentStage,
    phase: ExecutionStage,
    attempt: number,
    caught: unknown,
    phaseScope: AbortScope,
    startedAt: number,
  ): MacroError {
    const error = this.#normalise(caught, node.path, phaseScope);
    const endedAt = this.#svc.now();
    const status = statusOf(error);
    this.#span('phase', node.path, phase.name, status, attempt, startedAt, endedAt);
    this.#emit({
      type: 'phase:end',
      ...this.#base(node.path),
      phase: phase.name,
      attempt,
      status,
      durationMs: endedAt - startedAt,
      error: toErrorRecord(error),
    });
    return error;
  }

  /** Refuses output that still fails its gates; collects the attempt's artefacts. */
  pipelineEnded(node: CompiledAgentStage, state: PipelineState, artefacts: readonly Artefact[]): void {
    if (!state.passed) {
      throw new QualityGateError(
        node.path,
        state.verdicts.filter((v) => !v.passed).map((v) => v.gate),
      );
    }
    // Indexed: a for-of makes an iterator even over no artefacts, once per stage.
    for (let i = 0; i < artefacts.length; i++) {
      const shaped = artefacts[i] as Artefact;
      const artefact = snapshot(shaped); // its content may be the output itself
      this.#artefacts.push(artefact);
      this.#emit({ type: 'artefact', ...this.#base(node.path), artefact });
    }
  }

  /**
   * Invokes `agent` under the scheduling budget and `scope`; wraps every failure. Not an
   * async method: the race settles with the checked output or the wrapped failure itself
   * (see AgentOutcome), which saves a frame and an await per agent call. @internal
   */
  invokeAgent(
    agent: Agent,
    node: CompiledAgentStage | undefined,
    path: string,
    input: unknown,
    scope: AbortScope,
    attempt: number,
    feedback: readonly GateVerdict[],
    previous: unknown,
    validate: boolean,
  ): Promise<unknown> {
    if (scope.aborted) return Promise.reject(scope.reason);
    const invocation = new Invocation(this, path, scope, attempt, feedback, previous);
    const schema = validate ? node?.outputSchema : undefined;
    return this.#call(
      agent,
      input,
      invocation,
      scope,
      new AgentOutcome(agent, path, scope, invocation, schema),
    );
  }

  /** Calls `agent` under the scheduling budget; `watcher` hears how it settles, or of an abort. @internal */
  watchAgent(
    agent: Agent,
    input: unknown,
    invocation: Invocation,
    scope: AbortScope,
    watcher: Watcher<unknown>,
  ): void {
    const scheduler = this.#svc.scheduler;
    if (scheduler.unlimited) watchAgent(agent, input, invocation, scope, watcher);
    else {
      // Watched twice, as #call races twice: waiting for a slot, then the call itself.
      scope.watch(scheduler.schedule(agent.id, scheduledCall(agent, input, invocation, scope)), watcher);
    }
  }

  /** Calls `agent` under the scheduling budget, raced against `scope`; `outcome` maps how it settles. */
  #call(
    agent: Agent,
    input: unknown,
    invocation: Invocation,
    scope: AbortScope,
    outcome: RaceOutcome<unknown, unknown>,
  ): Promise<unknown> {
    if (scope.aborted) return Promise.reject(outcome.rejected(scope.reason));
    const scheduler = this.#svc.scheduler;
    if (scheduler.unlimited) return callAgent(agent, input, invocation, scope, outcome);
    // Raced twice: waiting for a slot, then the call itself, each stops at an abort.
    const call = scheduledCall(agent, input, invocation, scope);
    return scope.race(scheduler.schedule(agent.id, call), outcome);
  }

  /**
   * Runs `gates` on `output`, emitting and collecting each verdict: synchronously while
   * the gates answer synchronously (schema gates, plain predicates), asynchronously
   * from the first one that returns a promise. A failing check throws. @internal
   */
  #checkGates(
    gates: readonly QualityGate[],
    output: unknown,
    path: string,
    pass: number,
    scope: AbortScope,
    attempt = 1,
  ): GateCheck | Promise<GateCheck> {
    // Sized up front: a push onto `[]` makes room for 16 verdicts, where most stages have one.
    const check: GateCheck = { passed: true, verdicts: new Array<GateVerdict>(gates.length) };
    for (let i = 0; i < gates.length; i++) {
      const verdict = this.#checkGate(gates[i] as QualityGate, output, path, pass, scope, attempt);
      if (verdict instanceof Promise) {
        return this.#checkGatesFrom(i, verdict, check, gates, output, path, pass, scope, attempt);
      }
      this.#recordVerdict(path, verdict, check, i);
    }
    return check;
  }

  /** Goes on with #checkGates from gate `i`, whose verdict is pending. */
  async #checkGatesFrom(
    i: number,
    pending: Promise<GateVerdict>,
    check: GateCheck,
    gates: readonly QualityGate[],
    output: unknown,
    path: string,
    pass: number,
    scope: AbortScope,
    attempt: number,
  ): Promise<GateCheck> {
    this.#recordVerdict(path, await pending, check, i);
    for (let j = i + 1; j < gates.length; j++) {
      this.#recordVerdict(
        path,
        await this.#checkGate(gates[j] as QualityGate, output, path, pass, scope, attempt),
        check,
        j,
      );
    }
    return check;
  }

  #checkGate(
    gate: QualityGate,
    output: unknown,
    path: string,
    pass: number,
    scope: AbortScope,
    attempt: number,
  ) {
    // The judge closure is made only for judge gates.
    const judge = gate.kind === 'judge' ? this.#judge(path, scope, attempt) : noJudge;
    return checkGate(gate, output, path, pass, this.#context, judge);
  }

  /** Records the verdict of gate `index` of a check. */
  #recordVerdict(path: string, verdict: GateVerdict, check: GateCheck, index: number): void {
    check.verdicts[index] = verdict;
    this.#verdicts.push(verdict);
    if (!verdict.passed) check.passed = false;
    this.#gateVerdict(path, verdict);
  }

  /** Emits a verdict's `gate` event, and audits a failed one. */
  #gateVerdict(path: string, verdict: GateVerdict): void {
    if (verdict.passed) {
      const seq = ++this.#seq; // built only when received, as on the stage path
      if (this.#run.observes('gate')) {
        const at = this.#svc.now();
        this.#emit({ type: 'gate', runId: this.#runId, seq, at, path, labels: this.#labels, verdict });
      }
      return;
    }
    // Always built: the audit record repeats its seq and time.
    const event = { type: 'gate' as const, ...this.#base(path), verdict };
    this.#emit(event);
    this.#recordAudit('gate', event, { ...verdict });
  }

  /** How gates of `path` call their judge agents. */
  #judge(path: string, scope: AbortScope, attempt: number) {
    return (agentId: string, input: unknown): Promise<unknown> =>
      this.invokeAgent(
        this.#svc.agents.get(agentId) as Agent,
        undefined,
        path,
        input,
        scope,
        attempt,
        EMPTY_FEEDBACK,
        undefined,
        false,
      );
  }

  /** A stage's gates on `output` (see #checkGates): the check, or a promise of it; may throw. @internal */
  checkGates(
    node: CompiledAgentStage,
    output: unknown,
    pass: number,
    scope: AbortScope,
    attempt: number,
  ): GateCheck | Promise<GateCheck> {
    return this.#checkGates(node.gates, output, node.path, pass, scope, attempt);
  }

  deliver(node: CompiledAgentStage, output: unknown): Artefact[] {
    return node.def.deliver === undefined
      ? []
      : shapeArtefacts(node.def.deliver, output, this.#context, node.path);
  }

  async deploy(node: CompiledAgentStage, artefacts: readonly Artefact[]): Promise<void> {
    if (node.def.deploy === undefined) return;
    try {
      await node.def.deploy(artefacts, this.#context);
    } catch (error) {
      throw wrapUserError(error, node.path, 'deploy');
    }
  }

  agent(id: string): Agent | undefined {
    return this.#svc.agents.get(id);
  }

  progress(path: string, data: unknown): void {
    this.#emit({ type: 'stage:progress', ...this.#base(path), data });
  }

  get context(): MacroContext {
    return this.#context;
  }

  get logger(): Logger {
    return this.#logger;
  }

  get runId(): string {
    return this.#runId;
  }

  now(): number {
    return this.#svc.now();
  }

  get debug(): boolean {
    return this.#debug;
  }

  /** Turns anything caught into a MacroError; an aborted scope's reason wins. */
  #normalise(caught: unknown, path: string, scope: AbortScope): MacroError {
    if (isMacroError(caught)) return caught;
    if (scope.aborted) {
      const reason = scope.reason;
      if (isMacroError(reason)) return reason;
      return new CancelledError(path, reason);
    }
    return wrapUserError(caught, path, 'stage');
  }
}

/**
 * Whether a group's output is what its children's records hold: a sequence's (or
 * sub-macro's) is its last child's output, a parallel group's without merge or Harmony
 * the tuple of its branches' outputs.
 */
function derivesOutput(node: CompiledNode): node is Exclude<CompiledNode, CompiledAgentStage> {
  switch (node.kind) {
    case 'agent':
      return false;
    case 'parallel':
      return node.merge === undefined && node.harmony === undefined;
    default:
      return node.children.length > 0; // an empty sequence outputs its input, stored nowhere else
  }
}

/** Reports a stage that went through a promise (#node) to `sink`. */
function reportTo(branch: Promise<unknown>, sink: Sink, index: number): void {
  branch.then(
    (value) => sink.ok(index, value),
    (error: unknown) => sink.fail(index, error),
  );
}
