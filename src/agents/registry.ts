import { MacroError } from '../errors.js';
import type { Agent } from './agent.js';

/** Agents by id. The orchestrator resolves every agent a macro needs from it at construction. */
export class AgentRegistry {
  readonly #agents = new Map<string, Agent>();

  constructor(agents: Iterable<Agent> = []) {
    for (const agent of agents) this.register(agent);
  }

  /** Adds an agent. Throws `INVALID_OPTIONS` on a duplicate id or a malformed agent. */
  register(agent: Agent): this {
    if (typeof agent !== 'object' || agent === null || typeof agent.invoke !== 'function') {
      throw new MacroError('INVALID_OPTIONS', 'Expected an agent with an `id` and an `invoke` function');
    }
    if (typeof agent.id !== 'string' || agent.id.length === 0) {
      throw new MacroError('INVALID_OPTIONS', 'Expected agent `id` to be a non-empty string');
    }
    if (this.#agents.has(agent.id)) {
      throw new MacroError('INVALID_OPTIONS', `Agent "${agent.id}" is registered twice`);
    }
    this.#agents.set(agent.id, agent);
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
