/**
 * Agents for tests: inline ones, and fault injection (agents that throw, hang, flake or
 * run late, recording what they were called with). Not a test file.
 */
import { type Agent, type AgentInvocation, defineAgent, type TokenUsage } from '../../src/index.js';
import { delay } from './clock.js';

/** An agent that applies `fn` to its input. */
export function fnAgent<I, O>(id: string, fn: (input: I) => O): Agent<I, O> {
  return defineAgent({ id, invoke: (input: I) => fn(input) });
}

/** What an agent saw on each call: its input and its invocation. */
export interface Call {
  readonly input: unknown;
  readonly invocation: AgentInvocation;
}

/** An agent that records its calls and behaves as `behave` says on call `n` (1-based). */
export function scriptedAgent(
  id: string,
  behave: (n: number, input: unknown, invocation: AgentInvocation) => unknown,
): Agent & { readonly calls: Call[] } {
  const calls: Call[] = [];
  return {
    id,
    calls,
    invoke(input: unknown, invocation: AgentInvocation) {
      calls.push({ input, invocation });
      return behave(calls.length, input, invocation);
    },
  };
}

/** Returns `output` on every call. */
export const okAgent = (id: string, output: unknown = `${id}-out`) => scriptedAgent(id, () => output);

/** Throws `value` (an Error or anything else) on every call. */
export const throwingAgent = (id: string, value: unknown) =>
  scriptedAgent(id, () => {
    throw value;
  });

/** Returns a promise that never settles and ignores its abort signal. */
export const hangingAgent = (id: string) => scriptedAgent(id, () => new Promise(() => {}));

/** Fails its first `failures` calls with `error(n)`, then returns `output`. */
export const flakyAgent = (
  id: string,
  failures: number,
  output: unknown = `${id}-out`,
  error: (n: number) => unknown = (n) => new Error(`${id} failed on call ${n}`),
) =>
  scriptedAgent(id, async (n) => {
    if (n <= failures) throw error(n);
    return output;
  });

/**
 * Resolves `output` after `ms` (fake-timer friendly). With `honourSignal`, rejects
 * with the signal's reason as soon as it aborts; without, it ignores the signal.
 */
export const slowAgent = (id: string, ms: number, output: unknown = `${id}-out`, honourSignal = true) =>
  scriptedAgent(id, (_n, _input, { signal }) =>
    delay(ms, honourSignal ? signal : undefined).then(() => output),
  );

/** An agent that reports `usage` on every call and answers with `answer(call number)`. */
export function spendingAgent(
  id: string,
  usage: TokenUsage,
  answer: (call: number) => unknown = () => id,
): Agent {
  let calls = 0;
  return {
    id,
    invoke: (_input: unknown, invocation: AgentInvocation) => {
      invocation.usage(usage);
      return answer(++calls);
    },
  };
}

/** An agent whose calls never settle; `reached` resolves at its first call (a run "interrupted" there). */
export function stuckAgent(id: string): Agent & { readonly reached: Promise<void> } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  return {
    id,
    reached,
    invoke: () => {
      reach();
      return new Promise(() => {});
    },
  };
}
