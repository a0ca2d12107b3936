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
  AgentError,
  CancelledError,
  type ErrorRecord,
  InvalidOutputError,
  isMacroError,
  MacroError,
  PersistenceError,
  QualityGateError,
  StageTimeoutError,
  toErrorRecord,
} from '../errors.js';
import type { MacroEvent } from '../events.js';
import { AbortScope, sleep } from '../internal/abort-scope.js';
import type { AuditRecord, MemoryAdapter } from '../memory/memory-adapter.js';
import type { PipelineState } from '../protocol/execution.js';
import { JudgeVerdictSchema, normaliseCheck } from '../protocol/quality-gates.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { CompiledAgentStage, CompiledMacro, CompiledNode, CompiledParallel } from './compile.js';
import { Invocation, StageAttempt } from './invocation.js';
import { backoffDelay, isRetryable, retryAfter } from './retry.js';
import type { MacroRun } from './run.js';
import {
  type Artefact,
  ArtefactSchema,
  type GateVerdict,
  type MacroAttempt,
  type MacroContext,
  type MacroResult,
  type QualityGate,
  type RetryPolicy,
  type RunStatus,
  type StageRecord,
  type StageStatus,
  type TimelineEntry,
} from './types.js';

/** What the orchestrator lends every run. */
export interface EngineServices {
  readonly catalogue: ReadonlyMap<string, CompiledMacro>;
  readonly agents: { get(id: string): Agent | undefined };
  readonly memory: MemoryAdapter;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly maxFallbackDepth: number;
  readonly persistenceRetry: RetryPolicy;
}

export interface RunRequest {
  readonly runId: string;
  readonly macro: CompiledMacro;
  readonly context: MacroContext;
  readonly input: unknown;
  readonly scope: AbortScope;
  readonly logger: Logger;
}

type Outcome =
  | { status: 'succeeded'; output: unknown }
  | { status: 'partial' | 'failed' | 'cancelled'; error: MacroError };

const EMPTY_FEEDBACK: readonly GateVerdict[] = Object.freeze([]);

function statusOf(error: MacroError): StageStatus {
  if (error.code === 'STAGE_TIMEOUT' || error.code === 'RUN_TIMEOUT') return 'timed-out';
  if (error.code === 'CANCELLED') return 'cancelled';
  return 'failed';
}

export class RunExecution {
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

  constructor(svc: EngineServices, req: RunRequest, run: MacroRun<unknown>) {
    this.#svc = svc;
    this.#req = req;
    this.#run = run;
    this.#runId = req.runId;
    this.#logger = req.logger;
    this.#debug = req.logger.isLevelEnabled('debug');
    this.#labels = req.macro.labels;
    this.#context = req.context;
  }

  // ── events ────────────────────────────────────────────────────────────────

  #emit(event: MacroEvent): void {
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
    const startedAt = this.#svc.now();
    this.#emit({ type: 'run:start', ...this.#base(this.#req.macro.name), macro: this.#req.macro.name });

    let macro = this.#req.macro;
    let outcome: Outcome;
    for (let depth = 0; ; depth++) {
      outcome = await this.#runMacro(macro, this.#req.input, scope);
      this.#macros.push(
        outcome.status === 'succeeded'
          ? { macro: macro.name, status: 'succeeded' }
          : { macro: macro.name, status: outcome.status, error: toErrorRecord(outcome.error) },
      );
      if (outcome.status !== 'failed' || macro.fallback === undefined || scope.aborted) break;
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
    scope.dispose();
    return this.#finish(macro, outcome, startedAt);
  }

  async #runMacro(macro: CompiledMacro, input: unknown, scope: AbortScope): Promise<Outcome> {
    const startedAt = this.#svc.now();
    this.#emit({ type: 'macro:start', ...this.#base(macro.name), macro: macro.name });
    let outcome: Outcome;
    try {
      let value = input;
      for (const child of macro.children) value = await this.#node(child, value, scope);
      if (macro.gates.length > 0) {
        const { passed, verdicts } = await this.#checkGates(macro.gates, value, macro.name, 1, scope);
        if (!passed) {
          throw new QualityGateError(
            macro.name,
            verdicts.filter((v) => !v.passed).map((v) => v.gate),
          );
        }
      }
      outcome = { status: 'succeeded', output: value };
    } catch (caught) {
      const error = this.#normalise(caught, macro.name, scope);
      const stageStatus = statusOf(error);
      outcome = {
        status:
          stageStatus === 'timed-out' ? 'partial' : stageStatus === 'cancelled' ? 'cancelled' : 'failed',
        error,
      };
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
      ...this.#base(macro.name),
      macro: macro.name,
      status,
      durationMs: endedAt - startedAt,
    };
    this.#emit(outcome.status === 'succeeded' ? end : { ...end, error: toErrorRecord(outcome.error) });
    return outcome;
  }

  async #finish(macro: CompiledMacro, outcome: Outcome, startedAt: number): Promise<MacroResult> {
    const endedAt = this.#svc.now();
    const base = {
      runId: this.#runId,
      macro: this.#req.macro.name,
      producedBy: macro.name,
      labels: this.#req.macro.labels,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
      stages: this.#stages,
      timeline: this.#timeline,
      qa: { passed: latestVerdictsPass(this.#verdicts), verdicts: this.#verdicts },
      artefacts: this.#artefacts,
      errors: this.#errors,
      macros: this.#macros,
    };
    let result: MacroResult =
      outcome.status === 'succeeded'
        ? { ...base, status: 'succeeded', output: outcome.output }
        : { ...base, status: outcome.status, error: toErrorRecord(outcome.error) };

    const failure = await this.#persist(result);
    if (failure !== undefined) {
      const error = toErrorRecord(failure);
      result = { ...result, persistence: { ok: false, error } };
      this.#emit({
        type: 'persistence:error',
        ...this.#base(macro.name),
        operation: failure.operation,
        error,
      });
    }
    const status: RunStatus = result.status;
    this.#emit({
      type: 'run:end',
      ...this.#base(this.#req.macro.name),
      macro: this.#req.macro.name,
      status,
      durationMs: result.durationMs,
      result,
    });
    return result;
  }

  /** Saves the audit trail and the result, retrying each; returns the failure if one kept failing. */
  async #persist(result: MacroResult): Promise<PersistenceError | undefined> {
    const memory = this.#svc.memory;
    let failure: PersistenceError | undefined;
    if (this.#audit.length > 0) {
      failure = await this.#withRetry('appendAudit', () => memory.appendAudit(this.#audit));
    }
    const saved = await this.#withRetry('saveResult', () => memory.saveResult(result));
    return saved ?? failure;
  }

  async #withRetry(operation: string, write: () => Promise<void>): Promise<PersistenceError | undefined> {
    const policy = this.#svc.persistenceRetry;
    const scope = AbortScope.root();
    try {
      await pRetry(write, {
        retries: policy.retries,
        minTimeout: 0,
        onFailedAttempt: async ({ attemptNumber, retriesLeft, error }) => {
          this.#logger.warn({ err: error, operation, attempt: attemptNumber }, 'memory write failed');
          if (retriesLeft > 0) await sleep(backoffDelay(policy, attemptNumber, this.#svc.random), scope);
        },
      });
      return undefined;
    } catch (error) {
      this.#logger.error(
        { err: error, operation },
        'memory write kept failing; the result is returned unsaved',
      );
      return new PersistenceError(operation, error);
    }
  }

  // ── stages ────────────────────────────────────────────────────────────────

  #node(node: CompiledNode, input: unknown, scope: AbortScope): Promise<unknown> {
    if (node.retry === undefined || node.retry.retries === 0) return this.#attempt(node, input, scope, 1);
    return this.#withStageRetry(node, node.retry, input, scope);
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
        const delayMs = retryAfter(error) ?? backoffDelay(policy, attemptNumber, this.#svc.random);
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

  async #attempt(node: CompiledNode, input: unknown, parent: AbortScope, attempt: number): Promise<unknown> {
    const startedAt = this.#svc.now();
    const { path, kind } = node;
    this.#emit({ type: 'stage:start', ...this.#base(path), kind, attempt });
    const scope =
      node.timeoutMs === undefined
        ? parent
        : parent.child(node.timeoutMs, () => new StageTimeoutError(path, node.timeoutMs as number));
    let agentId: string | undefined;
    try {
      let output: unknown;
      switch (node.kind) {
        case 'agent': {
          const state = await this.#pipeline(node, input, scope, attempt);
          output = state.output;
          agentId = state.agent;
          break;
        }
        case 'sequence':
        case 'macro': {
          output = input;
          for (const child of node.children) output = await this.#node(child, output, scope);
          break;
        }
        case 'parallel':
          output = await this.#parallel(node, input, scope);
          break;
      }
      const endedAt = this.#svc.now();
      const record: StageRecord = {
        path,
        id: node.id,
        kind,
        status: 'succeeded',
        output,
        attempts: attempt,
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
      };
      this.#stages[path] = agentId === undefined ? record : { ...record, agent: agentId };
      this.#span('stage', path, kind, 'succeeded', attempt, startedAt, endedAt);
      this.#emit({
        type: 'stage:end',
        ...this.#base(path),
        kind,
        attempt,
        status: 'succeeded',
        durationMs: endedAt - startedAt,
      });
      return output;
    } catch (caught) {
      const error = this.#normalise(caught, path, scope);
      const endedAt = this.#svc.now();
      const status = statusOf(error);
      const errorRecord = toErrorRecord(error);
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
      throw error;
    } finally {
      if (scope !== parent) scope.dispose();
    }
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
    const outputs: unknown[] = new Array(node.children.length);
    let firstError: unknown;
    let failed = false;
    try {
      await Promise.all(
        node.children.map((child, i) =>
          this.#node(child, input, scope).then(
            (value) => {
              outputs[i] = value;
            },
            (error: unknown) => {
              if (failed) return;
              failed = true;
              firstError = error;
              if (failFast) {
                scope.abort(new CancelledError(child.path, `sibling ${child.path} failed (fail-fast)`));
              }
            },
          ),
        ),
      );
    } finally {
      if (scope !== parent) scope.dispose();
    }
    if (failed) throw firstError;
    if (node.merge === undefined) return outputs;
    try {
      return await node.merge(outputs, this.#context);
    } catch (error) {
      throw wrapUserError(error, node.path, 'merge');
    }
  }

  // ── the Execution Pipeline ────────────────────────────────────────────────

  async #pipeline(
    node: CompiledAgentStage,
    input: unknown,
    scope: AbortScope,
    attempt: number,
  ): Promise<PipelineState> {
    let stageInput = input;
    if (node.def.input !== undefined) {
      try {
        stageInput = node.def.input(input, this.#context);
      } catch (error) {
        throw wrapUserError(error, node.path, 'input');
      }
    }
    const ctx = new StageAttempt(this, node, stageInput, scope, attempt);
    const state: PipelineState = {
      output: undefined,
      agent: node.agent.id,
      passed: true,
      verdicts: EMPTY_FEEDBACK,
      qaPasses: 0,
      artefacts: [],
    };
    for (const phase of node.pipeline) {
      if (!phase.shouldRun(state, ctx)) continue;
      const startedAt = this.#svc.now();
      this.#emit({ type: 'phase:start', ...this.#base(node.path), phase: phase.name, attempt });
      try {
        await phase.execute(state, ctx);
        if (scope.aborted) throw scope.reason;
      } catch (caught) {
        const error = this.#normalise(caught, node.path, scope);
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
        throw error;
      }
      const endedAt = this.#svc.now();
      this.#span('phase', node.path, phase.name, 'succeeded', attempt, startedAt, endedAt);
      this.#emit({
        type: 'phase:end',
        ...this.#base(node.path),
        phase: phase.name,
        attempt,
        status: 'succeeded',
        durationMs: endedAt - startedAt,
      });
    }
    if (!state.passed) {
      throw new QualityGateError(
        node.path,
        state.verdicts.filter((v) => !v.passed).map((v) => v.gate),
      );
    }
    for (const artefact of state.artefacts) {
      this.#artefacts.push(artefact);
      this.#emit({ type: 'artefact', ...this.#base(node.path), artefact });
    }
    return state;
  }

  /** Invokes `agent` under the scheduling budget and `scope`; wraps every failure. @internal */
  async invokeAgent(
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
    if (scope.aborted) throw scope.reason;
    const invocation = new Invocation(this, path, scope.signal, attempt, feedback, previous);
    const call = (): Promise<unknown> => {
      if (scope.aborted) return Promise.reject(scope.reason);
      try {
        return scope.race(Promise.resolve(agent.invoke(input, invocation)));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    let output: unknown;
    try {
      const scheduler = this.#svc.scheduler;
      output = await (scheduler.unlimited ? call() : scope.race(scheduler.schedule(agent.id, call)));
    } catch (error) {
      if (scope.aborted) throw this.#normalise(scope.reason, path, scope);
      if (isMacroError(error)) throw error;
      throw new AgentError(agent.id, path, error);
    }
    const schema = validate ? (node?.outputSchema ?? undefined) : undefined;
    if (schema !== undefined) {
      const parsed = schema.safeParse(output);
      if (!parsed.success) {
        const detail = parsed.error.issues
          .map((i) => `${i.message}${i.path.length > 0 ? ` at ${i.path.join('.')}` : ''}`)
          .join('; ');
        throw new InvalidOutputError(agent.id, path, detail, parsed.error);
      }
      return parsed.data;
    }
    return output;
  }

  /** Runs `gates` on `output`, emitting and collecting each verdict. @internal */
  async #checkGates(
    gates: readonly QualityGate[],
    output: unknown,
    path: string,
    pass: number,
    scope: AbortScope,
    attempt = 1,
  ): Promise<{ passed: boolean; verdicts: GateVerdict[] }> {
    const verdicts: GateVerdict[] = [];
    let passed = true;
    for (const gate of gates) {
      const verdict = await this.#gate(gate, output, path, pass, scope, attempt);
      verdicts.push(verdict);
      this.#verdicts.push(verdict);
      const event = { type: 'gate' as const, ...this.#base(path), verdict };
      this.#emit(event);
      if (!verdict.passed) {
        passed = false;
        this.#recordAudit('gate', event, { ...verdict });
      }
    }
    return { passed, verdicts };
  }

  checkGates(node: CompiledAgentStage, output: unknown, pass: number, scope: AbortScope, attempt: number) {
    return this.#checkGates(node.gates, output, node.path, pass, scope, attempt);
  }

  async #gate(
    gate: QualityGate,
    output: unknown,
    path: string,
    pass: number,
    scope: AbortScope,
    attempt: number,
  ): Promise<GateVerdict> {
    const verdict = (
      passed: boolean,
      extra: { score?: number | undefined; feedback?: string | undefined },
    ) => {
      const v: { -readonly [K in keyof GateVerdict]: GateVerdict[K] } = { gate: gate.id, path, passed, pass };
      if (extra.score !== undefined) v.score = extra.score;
      if (extra.feedback !== undefined) v.feedback = extra.feedback;
      return v;
    };
    switch (gate.kind) {
      case 'schema': {
        const parsed = gate.schema.safeParse(output);
        return parsed.success
          ? verdict(true, {})
          : verdict(false, { feedback: parsed.error.issues.map((i) => i.message).join('; ') });
      }
      case 'predicate': {
        let result: ReturnType<typeof normaliseCheck>;
        try {
          result = normaliseCheck(await gate.check(output, this.#context), gate.feedback);
        } catch (error) {
          throw wrapUserError(error, path, `gate "${gate.id}"`);
        }
        return verdict(result.passed, result);
      }
      case 'judge': {
        const judge = this.#svc.agents.get(gate.agent) as Agent;
        const raw = await this.invokeAgent(
          judge,
          undefined,
          path,
          { output, gate: gate.id, intent: this.#context.intent },
          scope,
          attempt,
          EMPTY_FEEDBACK,
          undefined,
          false,
        );
        const parsed = JudgeVerdictSchema.safeParse(raw);
        if (!parsed.success) {
          throw new InvalidOutputError(
            gate.agent,
            path,
            'a judge must return { score: number, feedback?: string }',
          );
        }
        return verdict(parsed.data.score >= gate.threshold, parsed.data);
      }
    }
  }

  deliver(node: CompiledAgentStage, output: unknown): Artefact[] {
    if (node.def.deliver === undefined) return [];
    let raw: readonly unknown[];
    try {
      raw = node.def.deliver(output, this.#context);
    } catch (error) {
      throw wrapUserError(error, node.path, 'deliver');
    }
    return raw.map((item, i) => {
      const parsed = ArtefactSchema.safeParse({ path: node.path, ...(item as object) });
      if (!parsed.success) {
        throw new MacroError('STAGE_FAILED', `deliver returned an invalid artefact [${i}] at ${node.path}`, {
          cause: parsed.error,
          path: node.path,
        });
      }
      return { ...parsed.data, path: node.path };
    });
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

/** True when the latest verdict of every gate at every path passed. */
function latestVerdictsPass(verdicts: readonly GateVerdict[]): boolean {
  const latest = new Map<string, boolean>();
  for (const v of verdicts) latest.set(`${v.path}\u0000${v.gate}`, v.passed);
  for (const passed of latest.values()) if (!passed) return false;
  return true;
}

function wrapUserError(error: unknown, path: string, where: string): MacroError {
  if (isMacroError(error)) return error;
  return new MacroError(
    'STAGE_FAILED',
    `${where} failed at ${path}: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
      path,
      retryable: true,
    },
  );
}
