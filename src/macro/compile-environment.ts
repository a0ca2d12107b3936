/**
 * What compiling a catalogue works from: the orchestrator's environment, and a macro
 * definition once zod has parsed it.
 * @internal
 * @module
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { GateCheck } from '../model/quality-gate.js';
import type { ExecutionStage } from '../protocol/execution.js';
import type { AgentCheck, MacroDefinition, RetryPolicy } from './types.js';

export interface CompileEnvironment {
  readonly agents: AgentRegistry;
  readonly pipeline: readonly ExecutionStage[];
  /** Every phase a stage may name in its own `pipeline`. */
  readonly phases: ReadonlyMap<string, ExecutionStage>;
  readonly checkAgents: AgentCheck;
  /** Fallbacks a sub-macro stage may take, one after another (`maxFallbackDepth`). */
  readonly maxFallbackDepth: number;
  /** The checks predicate gates may name (`predicates`). */
  readonly predicates: ReadonlyMap<string, GateCheck>;
}

export type Parsed = MacroDefinition & {
  readonly defaults?: {
    retry?: RetryPolicy;
    timeoutMs?: number;
    phaseTimeoutsMs?: Readonly<Partial<Record<string, number>>>;
  };
};

/** The parsed macros by name, each with where it was defined (`macros[3]`). */
export type ParsedCatalogue = Map<string, { def: Parsed; at: string }>;
