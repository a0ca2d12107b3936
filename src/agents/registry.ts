import { describe, MacroError } from '../errors.js';
import type { Agent } from './agent.js';

/** Agents by id. The orchestrator resolves every agent a macro needs from it at construction. */
export class AgentRegistry {
  readonly #agents = new Map<string, Agent>();

  /** @throws {MacroError} `INVALID_OPTIONS` as {@link register}, and when iterating `agents` throws (its error is the cause). */
  constructor(agents: Iterable<Agent> = []) {
    const iterator = iterate(agents);
    for (let at = 0; ; at++) {
      let done: boolean | undefined;
      let agent: Agent;
      try {
        ({ done, value: agent } = iterator.next());
      } catch (error) {
        throw cannot(`iterate the agents at agents[${at}]`, error);
      }
      if (done === true) return;
      try {
        this.#add(agent, at);
      } catch (error) {
        close(iterator);
        throw error;
      }
    }
  }

  /**
   * Adds an agent. Throws `INVALID_OPTIONS` on a duplicate id or a malformed agent, and
   * when reading its `id` or `invoke` throws (the error is the cause).
   */
  register(agent: Agent): this {
    return this.#add(agent, undefined);
  }

  /** Adds `agent`, found at `agents[at]` when `at` is given. */
  #add(agent: Agent, at: number | undefined): this {
    let id: unknown;
    let invoke: unknown;
    try {
      if (typeof agent === 'object' && agent !== null) {
        id = agent.id;
        invoke = agent.invoke;
      }
    } catch (error) {
      // A revoked proxy, a getter that throws.
      const named = typeof id === 'string' ? `agent ${JSON.stringify(id)}` : 'the agent';
      throw cannot(`read ${at === undefined ? named : `${named} at agents[${at}]`}`, error);
    }
    if (typeof agent !== 'object' || agent === null || typeof invoke !== 'function') {
      throw new MacroError('INVALID_OPTIONS', 'Expected an agent with an `id` and an `invoke` function');
    }
    if (typeof id !== 'string' || id.length === 0) {
      throw new MacroError('INVALID_OPTIONS', 'Expected agent `id` to be a non-empty string');
    }
    if (this.#agents.has(id)) {
      throw new MacroError('INVALID_OPTIONS', `Agent "${id}" is registered twice`);
    }
    this.#agents.set(id, agent);
    return this;
  }

  /** The agent registered as `id`, or `undefined`. */
  get(id: string): Agent | undefined {
    return this.#agents.get(id);
  }

  /** Whether an agent is registered as `id`. */
  has(id: string): boolean {
    return this.#agents.has(id);
  }

  /** Every registered agent, in the order registered. */
  list(): Agent[] {
    return [...this.#agents.values()];
  }
}

/**
 * `agents` if it is a registry, else a registry of them.
 * @throws {MacroError} `INVALID_OPTIONS` as the registry's constructor, and when `agents` cannot be read (a revoked proxy).
 * @internal
 */
export function registryOf(agents: Iterable<Agent> | AgentRegistry | undefined): AgentRegistry {
  let registry: boolean;
  try {
    registry = agents instanceof AgentRegistry;
  } catch (error) {
    throw cannot('read the agents', error); // a revoked proxy
  }
  return registry ? (agents as AgentRegistry) : new AgentRegistry((agents as Iterable<Agent>) ?? []);
}

/** The iterator of `agents`. */
function iterate(agents: Iterable<Agent>): Iterator<Agent> {
  let method: unknown;
  try {
    method = agents[Symbol.iterator];
  } catch (error) {
    throw cannot('read the agents', error); // a revoked proxy, a getter that throws
  }
  let iterator: unknown;
  if (typeof method === 'function') {
    try {
      iterator = method.call(agents);
    } catch (error) {
      throw cannot('iterate the agents', error);
    }
  }
  if (typeof iterator !== 'object' || iterator === null) {
    throw new MacroError('INVALID_OPTIONS', 'Expected the agents to be iterable or an AgentRegistry');
  }
  return iterator as Iterator<Agent>;
}

/** Closes `iterator` as `for…of` does when its body throws; its own failure is not the one to report. */
function close(iterator: Iterator<Agent>): void {
  try {
    iterator.return?.();
  } catch {
    // the error being thrown already says what is wrong
  }
}

/** `Cannot <what>: <the error>`, with the error as cause. */
function cannot(what: string, error: unknown): MacroError {
  return new MacroError('INVALID_OPTIONS', `Cannot ${what}: ${describe(error)}`, { cause: error });
}
