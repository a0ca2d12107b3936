/**
 * Small parts of compiling a stage: its phase time budgets over the macro's defaults, the
 * stand-in for an agent that is not registered, and gates whose checks are named.
 * @internal
 * @module
 */
import type { Agent } from '../agents/agent.js';
import { AgentNotFoundError } from '../errors.js';
import type { GateCheck, QualityGate } from '../model/quality-gate.js';

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

/**
 * `gates` with each check named by a string (`check: 'cites-sources'`) replaced by the
 * function `predicates` holds under that name (the catalogue check made sure it does).
 */
export function namedChecks(
  gates: readonly QualityGate[],
  predicates: ReadonlyMap<string, GateCheck>,
): readonly QualityGate[] {
  return gates.map((gate) =>
    gate.kind === 'predicate' && typeof gate.check === 'string'
      ? { ...gate, check: predicates.get(gate.check) as GateCheck }
      : gate,
  );
}
