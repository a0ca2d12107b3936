/**
 * `runMacro`: the one-call entry point for a meta-agent.
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { readOptions } from '../internal/options.js';
import { kindOf } from '../internal/safe.js';
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
  // Read once: the values checked are the values used.
  const given = readOptions('runMacro options', options, RUN_MACRO_OPTION_KEYS);
  const { input, runId, signal, timeoutMs, deadline, budget, orchestrator, ...rest } = given as RunOptions &
    OrchestratorOptions<M> & { orchestrator?: MacroOrchestrator<M> };
  if (orchestrator !== undefined) {
    if (Object.keys(rest).length > 0) {
      // They would be ignored: the orchestrator was built with its own.
      throw new MacroError(
        'INVALID_OPTIONS',
        `Invalid runMacro options: pass an orchestrator or orchestrator options, not both (got orchestrator and ${Object.keys(rest).join(', ')})`,
      );
    }
  }
  // The checked method, called as read (a getter is read once).
  const run = orchestrator === undefined ? undefined : runMethodOf(orchestrator);
  const runOptions: { -readonly [K in keyof RunOptions]: RunOptions[K] } = {};
  if (input !== undefined) runOptions.input = input;
  if (runId !== undefined) runOptions.runId = runId;
  if (signal !== undefined) runOptions.signal = signal;
  if (timeoutMs !== undefined) runOptions.timeoutMs = timeoutMs;
  if (deadline !== undefined) runOptions.deadline = deadline;
  if (budget !== undefined) runOptions.budget = budget;
  if (run === undefined) return new MacroOrchestrator<M>(rest).run(name, context, runOptions);
  return run.call(orchestrator, name, context, runOptions) as MacroRun<MacroOutput<M, N>>;
}

const RUN_MACRO_OPTION_KEYS = [...RUN_OPTION_KEYS, 'orchestrator', ...ORCHESTRATOR_OPTION_KEYS];

/**
 * The `run` method of `orchestrator` (a `MacroOrchestrator`, possibly of another copy of
 * this package, where `instanceof` would say no); throws unless it has one.
 */
function runMethodOf(orchestrator: unknown): (...args: unknown[]) => unknown {
  let run: unknown;
  try {
    run = (orchestrator as { run?: unknown }).run;
  } catch (error) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Cannot read runMacro options: orchestrator: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  if (typeof run !== 'function') {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid runMacro options: orchestrator must be a MacroOrchestrator, got ${kindOf(orchestrator)} without a run method`,
    );
  }
  return run as (...args: unknown[]) => unknown;
}
