/**
 * Calling an agent: under the scheduling budget and its stage's abort scope, settling
 * with its output checked against the stage's output schema, or with its failure as a
 * MacroError.
 * @internal
 * @module
 */
import type { z } from 'zod';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import { AgentError, CancelledError, InvalidOutputError, isMacroError, type MacroError } from '../errors.js';
import type { AbortScope, RaceOutcome, Watcher } from '../internal/abort-scope.js';
import { formatIssues, type IssueFormat } from '../internal/zod-issues.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import { type CallWrappers, wrappedCall } from './call-wrappers.js';
import type { CompiledAgentStage } from './compiled.js';
import { Invocation, type InvocationHost } from './invocation.js';
import type { GateVerdict } from './types.js';

/** What one agent call hands its agent besides the input, and how its output is checked. */
export interface CallOptions {
  readonly path: string;
  readonly attempt: number;
  /** The pipeline phase that calls; undefined for Harmony and macro-gate judges. */
  readonly phase: string | undefined;
  readonly feedback: readonly GateVerdict[];
  readonly previous: unknown;
  /** The stage's output schema, checked on the output; none for judges. */
  readonly schema: z.ZodType | undefined;
}

/** The `aroundAgentCalls` wrappers of a run: its own, and its orchestrator's. */
export interface RunWrappers {
  readonly calls: CallWrappers;
  readonly sharedCalls: CallWrappers;
}

/** Calls a run's agents under its scheduling budget, inside its `aroundAgentCalls` wrappers. */
export class AgentCaller {
  readonly #scheduler: Scheduler;
  readonly #host: InvocationHost;
  readonly #own: CallWrappers;
  readonly #shared: CallWrappers;

  constructor(scheduler: Scheduler, host: InvocationHost, wrappers: RunWrappers) {
    this.#scheduler = scheduler;
    this.#host = host;
    this.#own = wrappers.calls;
    this.#shared = wrappers.sharedCalls;
  }

  /** Calls `agent` itself: inside the wrappers, if there are any. */
  callAgent(agent: Agent, input: unknown, invocation: AgentInvocation): unknown {
    const own = this.#own;
    const shared = this.#shared;
    if (own.list.length === 0 && shared.list.length === 0) return agent.invoke(input, invocation);
    return wrappedCall(shared, own, agent, input, invocation);
  }

  /**
   * Calls `agent` on `input` under `scope`; settles with the checked output or the failure
   * as a MacroError. Not async: the race settles with what AgentOutcome maps, which saves
   * a frame and an await per call.
   */
  invoke(agent: Agent, input: unknown, scope: AbortScope, options: CallOptions): Promise<unknown> {
    if (scope.aborted) return Promise.reject(scope.reason);
    const { path } = options;
    const invocation = new Invocation(
      this.#host,
      agent,
      path,
      scope,
      options.attempt,
      options.phase,
      options.feedback,
      options.previous,
    );
    const outcome = new AgentOutcome(agent, path, scope, invocation, options.schema);
    const scheduler = this.#scheduler;
    if (scheduler.unlimited) return callAgent(this, agent, input, invocation, scope, outcome);
    // Raced twice: waiting for a slot, then the call itself, each stops at an abort.
    const task = scheduledCall(this, agent, input, invocation, scope);
    return scope.race(scheduler.schedule(agent.id, task), outcome);
  }

  /** Calls `agent` and tells `watcher` how the call settles, or of an abort first; no promise of its own. */
  watch(
    agent: Agent,
    input: unknown,
    invocation: Invocation,
    scope: AbortScope,
    watcher: Watcher<unknown>,
  ): void {
    const scheduler = this.#scheduler;
    if (scheduler.unlimited) watchAgent(this, agent, input, invocation, scope, watcher);
    // Watched twice, as invoke races twice: waiting for a slot, then the call itself.
    else
      scope.watch(
        scheduler.schedule(agent.id, scheduledCall(this, agent, input, invocation, scope)),
        watcher,
      );
  }
}

/** `message at field.0.name`, or the message alone at the root. */
const OUTPUT_ISSUES: IssueFormat = { keys: 'dots', place: 'after' };

/** An agent's output checked against the stage's output schema. */
function parseOutput(schema: z.ZodType, output: unknown, agent: Agent, path: string): unknown {
  const parsed = schema.safeParse(output);
  if (parsed.success) return parsed.data;
  const detail = formatIssues(parsed.error.issues, OUTPUT_ISSUES);
  throw new InvalidOutputError(agent.id, path, detail, parsed.error);
}

/** An into-call's answer, its invocation closed: the output, checked against the stage's output schema. */
export function answerOf(invocation: Invocation, output: unknown, stage: CompiledAgentStage): unknown {
  invocation.close();
  const schema = stage.outputSchema;
  return schema === undefined ? output : parseOutput(schema, output, invocation.callee, stage.path);
}

/** The task the scheduler runs once a slot is free: the call, unless the scope aborted meanwhile. */
function scheduledCall(
  caller: AgentCaller,
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
): () => Promise<unknown> {
  return () =>
    scope.aborted ? Promise.reject(scope.reason) : callAgent(caller, agent, input, invocation, scope);
}

/** Calls `agent` raced against `scope`; a synchronous throw becomes a rejection at once. */
function callAgent(
  caller: AgentCaller,
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
  outcome?: RaceOutcome<unknown, unknown>,
): Promise<unknown> {
  try {
    const called = Promise.resolve(caller.callAgent(agent, input, invocation));
    return outcome === undefined ? scope.race(called) : scope.race(called, outcome);
  } catch (error) {
    return Promise.reject(outcome === undefined ? error : outcome.rejected(error));
  }
}

/**
 * How the race of an agent call settles: with the agent's output, checked against the
 * stage's output schema if it has one, or with the failure as a MacroError (the scope's
 * abort reason once it aborted, an AgentError for what the agent threw). Either way the
 * invocation is closed: reports made after it are dropped.
 */
class AgentOutcome implements RaceOutcome<unknown, unknown> {
  readonly #agent: Agent;
  readonly #path: string;
  readonly #scope: AbortScope;
  readonly #invocation: Invocation;
  readonly #schema: z.ZodType | undefined;

  constructor(
    agent: Agent,
    path: string,
    scope: AbortScope,
    invocation: Invocation,
    schema: z.ZodType | undefined,
  ) {
    this.#agent = agent;
    this.#path = path;
    this.#scope = scope;
    this.#invocation = invocation;
    this.#schema = schema;
  }

  fulfilled(output: unknown): unknown {
    this.#invocation.close();
    return this.#schema === undefined ? output : parseOutput(this.#schema, output, this.#agent, this.#path);
  }

  rejected(error: unknown): MacroError {
    this.#invocation.close();
    return agentFailure(error, this.#agent, this.#path, this.#scope);
  }
}

/** What an agent call's failure becomes: the scope's abort reason once it aborted, else an AgentError. */
export function agentFailure(error: unknown, agent: Agent, path: string, scope: AbortScope): MacroError {
  if (scope.aborted) {
    const reason = scope.reason;
    return isMacroError(reason) ? reason : new CancelledError(path, reason);
  }
  return isMacroError(error) ? error : new AgentError(agent.id, path, error);
}

/** Calls `agent` and watches the call from `scope`; a synchronous throw is a rejection. */
function watchAgent(
  caller: AgentCaller,
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
  watcher: Watcher<unknown>,
): void {
  let called: Promise<unknown>;
  try {
    called = Promise.resolve(caller.callAgent(agent, input, invocation));
  } catch (error) {
    watcher.rejected(error);
    return;
  }
  scope.watch(called, watcher);
}
