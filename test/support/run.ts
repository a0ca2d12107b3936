/** Starting a run with every event it emits recorded. Not a test file. */
import {
  type Agent,
  type MacroDefinition,
  type MacroEvent,
  MacroOrchestrator,
  type MacroRun,
  type OrchestratorOptions,
  type RunOptions,
} from '../../src/index.js';
import { recordEvents } from './events.js';

/** A started run with every event it emits recorded in order. */
export interface Started<O = unknown> {
  readonly orchestrator: MacroOrchestrator;
  readonly run: MacroRun<O>;
  readonly events: MacroEvent[];
}

/** Builds an orchestrator for `macros` and `agents`, starts `name`, and records its events. */
export function start(
  macros: readonly MacroDefinition[],
  agents: readonly Agent[],
  options: { orchestrator?: OrchestratorOptions; run?: RunOptions; name?: string } = {},
): Started {
  const orchestrator = new MacroOrchestrator({
    agents,
    macros,
    random: () => 0,
    ...options.orchestrator,
  });
  const run = orchestrator.run(
    options.name ?? (macros[0] as MacroDefinition).name,
    { intent: 'test' },
    options.run,
  );
  return { orchestrator, run: run as MacroRun<unknown>, events: recordEvents(run as MacroRun<unknown>) };
}
