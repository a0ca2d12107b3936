/**
 * What the compiler makes of a macro definition: a tree of nodes with everything resolved
 * (agents, paths, retry policies, phase lists, gates), which the engine runs without
 * looking anything up by name again.
 * @internal
 * @module
 */
import type { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import type { ConfigIssue } from '../errors.js';
import type { LabelScopes } from '../model/stage-path.js';
import type { ExecutionStage, PhaseStageInfo } from '../protocol/execution.js';
import type { Harmony } from '../protocol/harmony.js';
import type { StageKindRule } from './stage-kind.js';
import type {
  AgentStageDefinition,
  ForEachStageDefinition,
  HarmonyOptions,
  MacroDefinition,
  ParallelFailureMode,
  QualityGate,
  RetryPolicy,
} from './types.js';

interface CompiledBase {
  /** Everything that differs by kind (kinds/*.ts); its fields come after `kind` in every node. */
  readonly rule: StageKindRule;
  readonly id: string;
  readonly path: string;
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly labels: Readonly<Record<string, string>>;
}
export interface CompiledAgentStage extends CompiledBase {
  readonly kind: 'agent';
  readonly agent: Agent;
  readonly def: AgentStageDefinition;
  /** The stage's `input` mapper, copied from `def`: user definitions come in many shapes. */
  readonly input: AgentStageDefinition['input'];
  readonly outputSchema: z.ZodType | undefined;
  readonly gates: readonly QualityGate[];
  readonly pipeline: readonly ExecutionStage[];
  readonly maxRefinements: number;
  /** Time budget per phase name (stage values over macro defaults), or undefined when none. */
  readonly phaseTimeoutsMs: ReadonlyMap<string, number> | undefined;
  /** What phases see of the stage (`PhaseContext.stage`): built once, frozen, shared by its attempts. */
  readonly info: PhaseStageInfo;
}
export interface CompiledSequence extends CompiledBase {
  readonly kind: 'sequence';
  readonly children: readonly CompiledNode[];
}
export interface CompiledParallel extends CompiledBase {
  readonly kind: 'parallel';
  readonly children: readonly CompiledNode[];
  readonly failure: ParallelFailureMode;
  readonly merge: ((outputs: readonly unknown[], context: any) => unknown) | undefined;
  /** Conflict resolution over the branch outputs, when the group declares `harmony`. */
  readonly harmony: Harmony | undefined;
}
/** A forEach stage: its element stage compiled once, copied per element at run time (element-node.ts). */
export interface CompiledForEach extends CompiledBase {
  readonly kind: 'forEach';
  /** The element stage, compiled at path `<path>[*]`. */
  readonly template: CompiledNode;
  readonly items: ForEachStageDefinition['items'];
  /** Most elements in flight; `Infinity` when unbounded. */
  readonly concurrency: number;
  readonly failure: ParallelFailureMode;
  readonly merge: ((outputs: readonly unknown[], context: any) => unknown) | undefined;
  /** The group's Harmony options; a `Harmony` is made per attempt, once the elements are known. */
  readonly harmony: HarmonyOptions | undefined;
  readonly minSuccesses: number | undefined;
}
/** A route: its cases compiled as its children, `caseNames[i]` naming `children[i]`. */
export interface CompiledRoute extends CompiledBase {
  readonly kind: 'route';
  readonly children: readonly CompiledNode[];
  readonly caseNames: readonly string[];
  /** The selecting function, or the id of the selecting agent. */
  readonly select: ((input: unknown, context: any) => unknown) | string;
  /** The case run when the selection names none; undefined: `ROUTE_NOT_FOUND`. */
  readonly fallbackCase: string | undefined;
}
/** An approval: suspends the run until resumed with input, its output. */
export interface CompiledApproval extends CompiledBase {
  readonly kind: 'approval';
  readonly prompt: string | undefined;
  readonly schema: z.ZodType | undefined;
}
/** A macro's stages and gates, as a sub-macro stage runs them: its own, or a fallback's. */
export interface CompiledBody {
  readonly macro: string;
  readonly children: readonly CompiledNode[];
  /** The macro's own quality gates, checked on its output wherever it runs. */
  readonly gates: readonly QualityGate[];
}
/** A fallback of a sub-macro stage, its stages at `<stage path>/~<macro>`. */
export interface CompiledFallback extends CompiledBody {
  readonly path: string;
}
export interface CompiledMacroStage extends CompiledBase, CompiledBody {
  readonly kind: 'macro';
  /** The sub-macro's fallback, then that one's, and so on (at most `maxFallbackDepth`). */
  readonly fallbacks: readonly CompiledFallback[];
}
export type CompiledNode =
  | CompiledAgentStage
  | CompiledSequence
  | CompiledParallel
  | CompiledForEach
  | CompiledRoute
  | CompiledApproval
  | CompiledMacroStage;

export interface CompiledMacro {
  readonly name: string;
  readonly definition: MacroDefinition;
  readonly children: readonly CompiledNode[];
  readonly fallback: string | undefined;
  readonly gates: readonly QualityGate[];
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of its labelled sub-macros (and their fallbacks) by scope path; undefined when none. */
  readonly labelScopes: LabelScopes | undefined;
  /** Agent ids the macro needs (stages, judges, elevation, sub-macros). */
  readonly agents: ReadonlySet<string>;
  /**
   * Agents missing for a run of this macro: its own, its sub-macros' and its
   * fallbacks' (transitively). A macro with any cannot run.
   */
  readonly missingAgents: readonly ConfigIssue[];
}
