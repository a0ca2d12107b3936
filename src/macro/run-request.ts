/**
 * What the orchestrator hands a run: the services every run shares, and the request
 * that describes this one.
 * @internal
 * @module
 */

import type { Agent } from '../agents/agent.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import type { MacroLogger } from '../model/logger.js';
import type { ModelPrice } from '../model/usage.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { TurnBudget } from '../scheduling/turn-budget.js';
import type { CheckpointSettings, RestorePoint } from './checkpoints.js';
import type { CompiledMacro } from './compiled.js';
import type { MacroContext, RetryPolicy } from './types.js';

/** What the orchestrator lends every run. */
export interface EngineServices {
  readonly catalogue: ReadonlyMap<string, CompiledMacro>;
  readonly agents: { get(id: string): Agent | undefined };
  readonly memory: MemoryAdapter;
  /** True for the plain InMemoryMemory, whose calls settle within microtasks and never hang. */
  readonly memorySettlesPromptly: boolean;
  readonly scheduler: Scheduler;
  readonly logger: MacroLogger;
  readonly now: () => number;
  readonly random: () => number;
  readonly maxFallbackDepth: number;
  readonly persistenceRetry: RetryPolicy;
  /** How stage checkpoints are written: the memory, the durability, the shared turns. */
  readonly checkpointing: CheckpointSettings;
  /** How long the engine's work may hold one turn of the event loop. */
  readonly turns: TurnBudget;
  /** Model prices for usage costs (`OrchestratorOptions.prices`). */
  readonly prices: Readonly<Record<string, ModelPrice>>;
}

export interface RunRequest {
  readonly runId: string;
  readonly macro: CompiledMacro;
  readonly context: MacroContext;
  readonly input: unknown;
  readonly scope: AbortScope;
  readonly logger: MacroLogger;
  /** Set when resuming: stages finished before the interruption are restored, not run again. */
  readonly restore?: RestorePoint;
  /** When the run first started; a resumed run keeps it. @default now */
  readonly startedAt?: number;
  /** A suspended run resumed with input: the stage waiting for it, and the input (checked). */
  readonly resumeWith?: { readonly path: string; readonly input: unknown };
  /** What the run may use (`RunOptions.budget`). */
  readonly budget?: { readonly maxTokens?: number; readonly maxCostUsd?: number };
}
