/**
 * macro-orchestrator: declarative macros that coordinate many AI agents.
 * @module
 */
export type { Agent, AgentCall, AgentCallWrapper, AgentInvocation } from './agents/agent.js';
export { defineAgent } from './agents/agent.js';
export { AgentRegistry } from './agents/registry.js';
export {
  AgentError,
  AgentNotFoundError,
  BudgetExceededError,
  CancelledError,
  type ConfigIssue,
  type ErrorRecord,
  InvalidOutputError,
  isMacroError,
  isRetryableCause,
  MacroConfigurationError,
  MacroError,
  type MacroErrorCode,
  type MacroErrorOptions,
  PersistenceError,
  QualityGateError,
  StageTimeoutError,
  SuspendedError,
  toErrorRecord,
} from './errors.js';
export type * from './events.js';
export type { LogLevel } from './logger.js';
export type { Durability } from './macro/checkpoints.js';
export type {
  AgentStageOptions,
  ForEachOptions,
  HarmonyParallelOptions,
  ParallelOptions,
  RouteOptions,
} from './macro/helpers.js';
export {
  agentStage,
  approval,
  defineMacro,
  forEach,
  parallel,
  retryableStage,
  route,
  sequence,
  subMacro,
} from './macro/helpers.js';
export { macroJsonSchema } from './macro/json-schema.js';
export { macroToMermaid } from './macro/macro-graph.js';
export { MacroOrchestrator, type MacroOutput } from './macro/orchestrator.js';
export type {
  OrchestratorOptions,
  ResumeIncompleteOptions,
  ResumeOptions,
  RunOptions,
} from './macro/orchestrator-options.js';
export { MacroRun } from './macro/run.js';
export { type RunMacroOptions, runMacro } from './macro/run-macro.js';
export {
  type BuiltinMacroName,
  builtinMacros,
  type ConsolidatedReview,
  ConsolidatedReviewSchema,
  codeReview,
  type Document,
  DocumentSchema,
  incidentTriage,
  type ReleaseNotes,
  ReleaseNotesSchema,
  type Review,
  ReviewSchema,
  releaseNotes,
  releaseNotesMinimal,
  researchDraftReview,
  type Triage,
  TriageSchema,
} from './macro/scripts.js';
export {
  type AgentCheck,
  type AgentResult,
  type AgentStageDefinition,
  type ApprovalStageDefinition,
  type Artefact,
  type ArtefactInput,
  type CustomHarmony,
  type DecisionRecord,
  type DecisionVariant,
  type ExcludedBranch,
  type ForEachStageDefinition,
  type GateCheck,
  type GateCheckResult,
  type GateVerdict,
  type HarmonyBase,
  type HarmonyChoice,
  type HarmonyComparison,
  type HarmonyField,
  type HarmonyJudgeInput,
  type HarmonyOptions,
  type HarmonyStrategy,
  type HarmonyVariant,
  type JudgeGate,
  type JudgeHarmony,
  type KnowledgePacket,
  type MacroAttempt,
  type MacroContext,
  type MacroContextInput,
  MacroContextSchema,
  type MacroDefinition,
  MacroDefinitionSchema,
  type MacroResult,
  type MacroStageDefinition,
  type MajorityHarmony,
  type NamedPredicateGate,
  type ParallelFailureMode,
  type ParallelStageDefinition,
  type PredicateGate,
  type PriorityHarmony,
  type QaSummary,
  type QualityGate,
  type RetryableStageDefinition,
  type RetryPolicy,
  type RetryPolicyInput,
  RetryPolicySchema,
  type RouteStageDefinition,
  type RunStatus,
  type SchemaGate,
  type SequenceStageDefinition,
  type StageDefinition,
  type StageKind,
  type StageOutput,
  type StageRecord,
  type StageStatus,
  type Suspension,
  type TimelineEntry,
  type WeightedHarmony,
} from './macro/types.js';
export { InMemoryMemory, type InMemoryMemoryOptions, type InMemoryMemorySize } from './memory/in-memory.js';
export type { ClaimStaleOptions, LeaseOptions } from './memory/lease.js';
export type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunState,
  RunSummary,
  StoredRun,
} from './memory/memory-adapter.js';
export type { LogFn, MacroLogger } from './model/logger.js';
export type {
  CustomProgress,
  ProgressData,
  TextDeltaProgress,
  ToolCallProgress,
  ToolResultProgress,
  UsageProgress,
} from './model/progress.js';
export type { ModelPrice, RunUsage, TokenUsage, UsageRow, UsageTotals } from './model/usage.js';
export {
  DeliveryStage,
  DeployStage,
  DraftStage,
  defaultPipeline,
  ElevationStage,
  ExecutionStage,
  type InvokeOptions,
  type PhaseContext,
  type PhaseStageInfo,
  type PipelineState,
  QAStage,
  RefinementStage,
} from './protocol/execution.js';
export { type JudgeInput, judgeGate, predicateGate, schemaGate } from './protocol/quality-gates.js';
export { escapeMarkdown } from './report/escape.js';
export { runToGantt } from './report/gantt.js';
export { type ReportOptions, renderReport } from './report/markdown.js';
export type { SchedulingPolicy, SchedulingPolicyInput } from './scheduling/scheduler.js';
