/**
 * The typed event map of a run. Every event carries the run id, a per-run sequence
 * number, the stage path and the macro's telemetry labels. Every `*:start` is
 * followed by exactly one matching `*:end`, on success and on failure.
 * @module
 */
import type { ErrorRecord } from './errors.js';
import type { Artefact } from './model/artefact.js';
import type { DecisionRecord } from './model/decision.js';
import type { ProgressData } from './model/progress.js';
import type { GateVerdict } from './model/quality-gate.js';
import type { MacroResult, RunStatus, StageRecord } from './model/result.js';
import type { StageStatus } from './model/stage-status.js';

/** Fields every event has. */
export interface EventBase {
  readonly runId: string;
  /** 1, 2, 3… in emission order within a run. */
  readonly seq: number;
  /** Epoch ms from the orchestrator's clock. */
  readonly at: number;
  /** Stage path; the macro name for run- and macro-level events. */
  readonly path: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RunStartEvent extends EventBase {
  readonly type: 'run:start';
  readonly macro: string;
  /** Present on a run continued by `resume()`: its `seq` continues after the last checkpoint. */
  readonly resumed?: true;
}
export interface RunEndEvent extends EventBase {
  readonly type: 'run:end';
  readonly macro: string;
  readonly status: RunStatus;
  readonly durationMs: number;
  readonly result: MacroResult;
}
/** A macro (the requested one, a fallback or a sub-macro) starts. */
export interface MacroStartEvent extends EventBase {
  readonly type: 'macro:start';
  readonly macro: string;
}
export interface MacroEndEvent extends EventBase {
  readonly type: 'macro:end';
  readonly macro: string;
  readonly status: StageStatus;
  readonly durationMs: number;
  readonly error?: ErrorRecord;
}
export interface StageStartEvent extends EventBase {
  readonly type: 'stage:start';
  readonly kind: StageRecord['kind'];
  readonly attempt: number;
  /** An agent stage's own agent (a phase may call others: see `stage:end`'s record). */
  readonly agent?: string;
}
export interface StageEndEvent extends EventBase {
  readonly type: 'stage:end';
  readonly kind: StageRecord['kind'];
  readonly attempt: number;
  readonly status: StageStatus;
  readonly durationMs: number;
  readonly error?: ErrorRecord;
}
export interface PhaseStartEvent extends EventBase {
  readonly type: 'phase:start';
  readonly phase: string;
  readonly attempt: number;
}
export interface PhaseEndEvent extends EventBase {
  readonly type: 'phase:end';
  readonly phase: string;
  readonly attempt: number;
  readonly status: StageStatus;
  readonly durationMs: number;
  readonly error?: ErrorRecord;
}
/** A stage attempt failed and will be retried after `delayMs`. */
export interface RetryEvent extends EventBase {
  readonly type: 'retry';
  /** The attempt that failed. */
  readonly attempt: number;
  readonly error: ErrorRecord;
  readonly delayMs: number;
  readonly retriesLeft: number;
}
/** A macro failed and its fallback takes over. */
export interface FallbackEvent extends EventBase {
  readonly type: 'fallback';
  readonly from: string;
  readonly to: string;
  readonly error: ErrorRecord;
  /** 1 for the first fallback, 2 for its fallback… */
  readonly depth: number;
}
/** A quality gate gave a verdict. */
export interface GateEvent extends EventBase {
  readonly type: 'gate';
  readonly verdict: GateVerdict;
}
/** A stage delivered an artefact. */
export interface ArtefactEvent extends EventBase {
  readonly type: 'artefact';
  readonly artefact: Artefact;
}
/**
 * The Harmony Protocol decided between conflicting parallel outputs. Carries the whole
 * {@link DecisionRecord}; `path` is the parallel group's. Not emitted when the outputs agree.
 */
export interface DecisionEvent extends EventBase, Omit<DecisionRecord, 'path' | 'at'> {
  readonly type: 'decision';
}
/**
 * A stage suspended the run to wait for input (`invocation.suspend`, an `approval`);
 * `path` is that stage's. The run then settles `suspended`.
 */
export interface SuspendedEvent extends EventBase {
  readonly type: 'suspended';
  readonly payload: unknown;
  /** Names the suspension (`result.suspension.token`). */
  readonly token: string;
}
/** A route chose the case it runs; `path` is the route's. Also kept in the audit trail. */
export interface RouteEvent extends EventBase {
  readonly type: 'route';
  /** The case that runs. */
  readonly case: string;
  /** What `select` named: the case, or a name no case has when the route's `default` runs. */
  readonly selected: string;
  /** `'select'` when the case is the one selected, `'default'` when the selection named none. */
  readonly by: 'select' | 'default';
}
/**
 * An agent call's progress: what the agent reported with `invocation.report()` (a streamed
 * text delta, a tool call or result, or `custom` data), or the tokens it reported with
 * `invocation.usage()`.
 */
export interface ProgressEvent extends EventBase {
  readonly type: 'stage:progress';
  /** The stage attempt that made the call. */
  readonly attempt: number;
  /** The pipeline phase that made the call; undefined for a Harmony or macro-gate judge's call. */
  readonly phase: string | undefined;
  readonly data: ProgressData;
}
/**
 * A memory write failed for good (after its retries, for the retried writes). The run
 * goes on and reports the failure in `result.persistence` too.
 */
export interface PersistenceErrorEvent extends EventBase {
  readonly type: 'persistence:error';
  readonly operation: string;
  readonly error: ErrorRecord;
}

/** Event name → listener arguments, for eventemitter3. */
export interface MacroEventMap {
  'run:start': [RunStartEvent];
  'run:end': [RunEndEvent];
  'macro:start': [MacroStartEvent];
  'macro:end': [MacroEndEvent];
  'stage:start': [StageStartEvent];
  'stage:end': [StageEndEvent];
  'stage:progress': [ProgressEvent];
  'phase:start': [PhaseStartEvent];
  'phase:end': [PhaseEndEvent];
  retry: [RetryEvent];
  fallback: [FallbackEvent];
  gate: [GateEvent];
  artefact: [ArtefactEvent];
  decision: [DecisionEvent];
  route: [RouteEvent];
  suspended: [SuspendedEvent];
  'persistence:error': [PersistenceErrorEvent];
}

/** Any event, discriminated on `type`. */
export type MacroEvent = MacroEventMap[keyof MacroEventMap][0];
/** Any event name. */
export type MacroEventType = keyof MacroEventMap;

/** Distributive omit, so that each union member keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the engine stamps `runId`, `seq`, `at` and `labels` on it. */
export type EventDraft = DistributiveOmit<MacroEvent, 'runId' | 'seq' | 'at' | 'labels'>;
