/**
 * `runMacro`: the one-call entry point for a meta-agent.
 * @module
 */
import { MacroError } from '../errors.js';
import { checkOptionKeys } from '../internal/options.js';
import { MacroOrchestrator, type MacroOutput } from './orchestrator.js';
import {
  ORCHESTRATOR_OPTION_KEYS,
  type OrchestratorOptions,
  type RunOptions,
} from './orchestrator-options.js';
import type { MacroRun } from './run.js';
import { RUN_OPTION_KEYS } from './run-input.js';
import type { MacroContextInput, MacroDefinition } from './types.js';

/** Options of {@link runMacro}: an orchestrator to use, or what to build one from. */
export type RunMacroOptions<M extends MacroDefinition<string, any> = MacroDefinition> = RunOptions &
  (
    | { readonly orchestrator: MacroOrchestrator<M> }
    | (OrchestratorOptions<M> & { readonly orchestrator?: undefined })
  );

/**
 * Runs a macro in one call: the meta-agent's entry point. Pass an `orchestrator` to
 * reuse its catalogue, memory and scheduling budget, or orchestrator options to build
 * one for this run.
 * @example
 * const run = runMacro('code-review', { intent: 'Review PR #42' }, { agents });
 * run.on('stage:end', (e) => log(e.path, e.status));
 * const result = await run;
 */
export function runMacro<
  M extends MacroDefinition<string, any> = MacroDefinition,
  N extends M['name'] = M['name'],
>(name: N, context: MacroContextInput, options: RunMacroOptions<M> = {}): MacroRun<MacroOutput<M, N>> {
  checkOptionKeys('runMacro options', options, [
    ...RUN_OPTION_KEYS,
    'orchestrator',
    ...ORCHESTRATOR_OPTION_KEYS,
  ]);
  const { input, runId, signal, timeoutMs, deadline, budget, orchestrator, ...rest } = options as RunOptions &
    OrchestratorOptions<M> & { orchestrator?: MacroOrchestrator<M> };
  if (orchestrator !== undefined && Object.keys(rest).length > 0) {
    // They would be ignored: the orchestrator was built with its own.
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid runMacro options: pass an orchestrator or orchestrator options, not both (got orchestrator and ${Object.keys(rest).join(', ')})`,
    );
  }
  const runOptions: { -readonly [K in keyof RunOptions]: RunOptions[K] } = {};
  if (input !== undefined) runOptions.input = input;
  if (runId !== undefined) runOptions.runId = runId;
  if (signal !== undefined) runOptions.signal = signal;
  if (timeoutMs !== undefined) runOptions.timeoutMs = timeoutMs;
  if (deadline !== undefined) runOptions.deadline = deadline;
  if (budget !== undefined) runOptions.budget = budget;
  return (orchestrator ?? new MacroOrchestrator<M>(rest)).run(name, context, runOptions);
}
