/**
 * A three-branch parallel group (`a`, `b`, `c`) whose agents return fixed outputs,
 * for the Harmony tests. An `Error` as an output makes that branch's agent throw.
 * Not a test file.
 */
import {
  type Agent,
  agentStage,
  defineMacro,
  type HarmonyOptions,
  type MacroEvent,
  MacroOrchestrator,
  parallel,
} from '../../src/index.js';
import { fnAgent, recordEvents } from '../support/index.js';

export type Three = readonly [unknown, unknown, unknown];

/** Agents `a`, `b`, `c` returning (or throwing) `outputs`. */
export function branchAgents(outputs: Three): Agent[] {
  return (['a', 'b', 'c'] as const).map((id, i) =>
    fnAgent(id, () => {
      const output = outputs[i];
      if (output instanceof Error) throw output;
      return output;
    }),
  );
}

/** A macro `vote` with one parallel group `answers` over branches `a`, `b`, `c`. */
export function voteMacro(
  harmony: HarmonyOptions,
  options: { failure?: 'settle'; minSuccesses?: number } = {},
) {
  return defineMacro({
    name: 'vote',
    description: 'three answers, one output',
    stages: [
      parallel('answers', [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')], {
        ...options,
        harmony,
      }),
    ],
  });
}

/** Runs `vote` with `harmony` over `outputs`; returns the result, its events and the orchestrator. */
export async function decide(
  harmony: HarmonyOptions,
  outputs: Three,
  options: { failure?: 'settle'; minSuccesses?: number; agents?: readonly Agent[] } = {},
) {
  const { agents = [], ...parallelOptions } = options;
  const orchestrator = new MacroOrchestrator({
    agents: [...branchAgents(outputs), ...agents],
    macros: [voteMacro(harmony, parallelOptions)],
  });
  const run = orchestrator.run('vote', { intent: 'pick one answer' });
  const events: MacroEvent[] = recordEvents(run);
  const result = await run;
  return { result, events, orchestrator, decision: result.decisions[0] };
}

/** An agent that records each input it receives and answers with `answer(input)`. */
export function spyAgent(id: string, answer: (input: any) => unknown) {
  const inputs: any[] = [];
  const agent = fnAgent(id, (input: unknown) => {
    inputs.push(input);
    return answer(input);
  });
  return { agent, inputs };
}
