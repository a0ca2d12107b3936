import type { z } from 'zod';
import type { MacroContext } from '../model/context.js';
import type { MacroLogger } from '../model/logger.js';
import type { GateVerdict } from '../model/quality-gate.js';
import type { TokenUsage } from '../model/usage.js';

/** What an agent receives besides its input. */
export interface AgentInvocation {
  /** Aborted when the stage times out, a sibling fails fast, or the run is cancelled. Pass it on. */
  readonly signal: AbortSignal;
  readonly context: MacroContext;
  /** A child logger bound to the run, the stage path and the macro's labels (pino unless you gave another). */
  readonly logger: MacroLogger;
  readonly runId: string;
  /** Stage path, such as `code-review/reviews/security`. */
  readonly path: string;
  /** 1 for the first attempt, 2+ for retries. */
  readonly attempt: number;
  /**
   * The pipeline phase that called the agent (`'draft'`, `'refinement'`…; for a judge gate's
   * agent, the phase whose QA pass called it); undefined for Harmony and macro-gate judges.
   */
  readonly phase?: string | undefined;
  /** Failed gate verdicts of the previous output, given during Refinement and Elevation. */
  readonly feedback: readonly GateVerdict[];
  /** The previous output being refined, if any. */
  readonly previous?: unknown;
  /**
   * Streams a progress update as a `stage:progress` event: a text delta, tool call or tool
   * result (`ProgressData`) as it is, any other value as `{ type: 'custom', value }`.
   * Dropped once the call has settled or was aborted.
   */
  report(data: unknown): void;
  /**
   * Adds this call's token usage to the run's totals (`MacroResult.usage`), the stage's
   * record and the attempt's span, and emits it as a `usage` progress event while the call
   * runs. Counts must be whole numbers ≥ 0, else `INVALID_OPTIONS`. The AI SDK agents
   * report theirs themselves.
   */
  usage(usage: TokenUsage): void;
  /**
   * Suspends the run here, to wait for input from outside (a person's approval, an
   * answer): the run keeps what finished, emits `suspended`, and settles with status
   * `suspended` and `payload` in `result.suspension`. `resume(runId, { input })`, in any
   * process sharing the memory, calls this agent again with the input in `resumed`.
   * Throws, so nothing after it runs. Bound on access.
   */
  readonly suspend: (payload?: unknown) => never;
  /** On the call of a resumed run that answers this stage's suspension: the input it was resumed with. */
  readonly resumed?: { readonly input: unknown } | undefined;
}

/** An AI agent (or any worker) the orchestrator can invoke. */
export interface Agent<I = any, O = unknown> {
  /** Unique id that macros refer to. */
  readonly id: string;
  readonly description?: string;
  /** Free-form capability tags, for registries and reports. */
  readonly capabilities?: readonly string[];
  /** Schema every output must match; checked in Draft before QA. */
  readonly output?: z.ZodType<O>;
  /**
   * Does the work: `input` is the stage's input (the previous stage's output, or the
   * run's), `invocation` the run's context, feedback, signal, `report` and more.
   */
  invoke(input: I, invocation: AgentInvocation): O | Promise<O>;
}

/**
 * Defines an agent with its types inferred.
 * @example
 * const upper = defineAgent({ id: 'upper', invoke: (text: string) => text.toUpperCase() });
 */
export function defineAgent<I, O>(agent: Agent<I, O>): Agent<I, O> {
  return agent;
}

/** The agent call a wrapper runs around. */
export interface AgentCall {
  readonly runId: string;
  /** The stage path the call is made for. */
  readonly path: string;
  readonly attempt: number;
  /** The pipeline phase that calls (as `AgentInvocation.phase`); undefined for Harmony and macro-gate judges. */
  readonly phase: string | undefined;
  /** The id of the agent called. */
  readonly agent: string;
}

/**
 * Runs around one agent call: calls `proceed()` (which calls the agent, or the next
 * wrapper) and returns what it returns. `proceed` runs once: called again, it gives the
 * first call's result (or error) again. What the wrapper returns is the call's answer (one
 * that never calls `proceed` answers in the agent's place); what it throws fails the call
 * as the agent's own error would.
 * @example
 * orchestrator.aroundAgentCalls((call, proceed) => storage.run({ path: call.path }, proceed));
 */
export type AgentCallWrapper = (call: AgentCall, proceed: () => unknown) => unknown;
