/**
 * Calling an agent: under its stage's abort scope, settling with its output checked
 * against the stage's output schema, or with its failure as a MacroError.
 * @internal
 * @module
 */
import type { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import { AgentError, CancelledError, InvalidOutputError, isMacroError, type MacroError } from '../errors.js';
import type { AbortScope, RaceOutcome, Watcher } from '../internal/abort-scope.js';
import type { Invocation } from './invocation.js';

/** An agent's output checked against the stage's output schema. */
export function parseOutput(schema: z.ZodType, output: unknown, agent: Agent, path: string): unknown {
  const parsed = schema.safeParse(output);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((i) => `${i.message}${i.path.length > 0 ? ` at ${i.path.join('.')}` : ''}`)
    .join('; ');
  throw new InvalidOutputError(agent.id, path, detail, parsed.error);
}

/** The task the scheduler runs once a slot is free: the call, unless the scope aborted meanwhile. */
export function scheduledCall(
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
): () => Promise<unknown> {
  return () => (scope.aborted ? Promise.reject(scope.reason) : callAgent(agent, input, invocation, scope));
}

/** Calls `agent` raced against `scope`; a synchronous throw becomes a rejection at once. */
export function callAgent(
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
  outcome?: RaceOutcome<unknown, unknown>,
): Promise<unknown> {
  try {
    const called = Promise.resolve(agent.invoke(input, invocation));
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
export class AgentOutcome implements RaceOutcome<unknown, unknown> {
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
export function watchAgent(
  agent: Agent,
  input: unknown,
  invocation: Invocation,
  scope: AbortScope,
  watcher: Watcher<unknown>,
): void {
  let called: Promise<unknown>;
  try {
    called = Promise.resolve(agent.invoke(input, invocation));
  } catch (error) {
    watcher.rejected(error);
    return;
  }
  scope.watch(called, watcher);
}
