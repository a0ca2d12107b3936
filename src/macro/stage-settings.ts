/**
 * Small parts of compiling an agent stage: its phase time budgets over the macro's
 * defaults, and the stand-in for an agent that is not registered.
 * @internal
 * @module
 */
import type { Agent } from '../agents/agent.js';
import { AgentNotFoundError } from '../errors.js';

/** Stands in for an agent that is not registered; a run that reaches it is refused before it starts. */
export function missingAgent(id: string, path: string): Agent {
  return {
    id,
    invoke() {
      throw new AgentNotFoundError(id, path);
    },
  };
}

/** A stage's phase time budgets over the macro's defaults; undefined when there are none. */
export function phaseTimeouts(
  defaults: Readonly<Partial<Record<string, number>>> | undefined,
  own: Readonly<Partial<Record<string, number>>> | undefined,
): ReadonlyMap<string, number> | undefined {
  const merged = new Map<string, number>();
  for (const source of [defaults, own]) {
    for (const [phase, ms] of Object.entries(source ?? {})) if (ms !== undefined) merged.set(phase, ms);
  }
  return merged.size === 0 ? undefined : merged;
}
