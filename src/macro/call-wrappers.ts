/**
 * Code run around every agent call (`aroundAgentCalls` on an orchestrator or a run): the
 * place to make a tracing span or a request context current while the agent runs, so what
 * the agent does (an AI SDK call and its own spans) is attributed to its stage.
 * @internal
 * @module
 */
import type { Agent, AgentCall, AgentCallWrapper, AgentInvocation } from '../agents/agent.js';
import { MacroError } from '../errors.js';

/** A list of wrappers, the first added outermost. @internal */
export class CallWrappers {
  /** Read on every agent call (a plain field: no getter on that path). */
  list: readonly AgentCallWrapper[] = [];

  /** Adds `wrapper`; returns the function that removes it. `where` names the method for the error. */
  add(wrapper: AgentCallWrapper, where: string): () => void {
    if (typeof wrapper !== 'function') {
      throw new MacroError('INVALID_OPTIONS', `${where} expects a function, got ${typeof wrapper}`);
    }
    // A new array each time: a call under way keeps the list it started with.
    this.list = [...this.list, wrapper];
    return () => {
      this.list = this.list.filter((added) => added !== wrapper);
    };
  }

  /** Calls `proceed` inside every wrapper of this list. */
  wrap(call: AgentCall, proceed: () => unknown): unknown {
    const { list } = this;
    const at = (i: number): unknown =>
      i === list.length
        ? proceed()
        : (list[i] as AgentCallWrapper)(
            call,
            once(() => at(i + 1)),
          );
    return at(0);
  }
}

/**
 * `run`, made to run once: a wrapper that calls `proceed` again gets the first call's
 * result (or its error) again, and the agent is not called twice.
 */
function once(run: () => unknown): () => unknown {
  let outcome: { ok: boolean; value: unknown } | undefined;
  return () => {
    if (outcome === undefined) {
      try {
        outcome = { ok: true, value: run() };
      } catch (error) {
        outcome = { ok: false, value: error };
      }
    }
    if (!outcome.ok) throw outcome.value;
    return outcome.value;
  };
}

/**
 * Calls `agent` inside the orchestrator's wrappers (outermost), then the run's.
 * @internal
 */
export function wrappedCall(
  shared: CallWrappers,
  own: CallWrappers,
  agent: Agent,
  input: unknown,
  invocation: AgentInvocation,
): unknown {
  const call: AgentCall = {
    runId: invocation.runId,
    path: invocation.path,
    attempt: invocation.attempt,
    phase: invocation.phase,
    agent: agent.id,
  };
  const inner = once(() => agent.invoke(input, invocation));
  const runs = own.list.length === 0 ? inner : once(() => own.wrap(call, inner));
  return shared.list.length === 0 ? runs() : shared.wrap(call, runs);
}
