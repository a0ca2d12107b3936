/**
 * What a run returns and stores: the MacroResult and its parts (stage records,
 * timeline, QA summary, macros tried), and what an agent returns to the engine.
 * @module
 */
import type { ErrorRecord } from '../errors.js';
import type { Artefact } from './artefact.js';
import type { DecisionRecord } from './decision.js';
import type { GateVerdict } from './quality-gate.js';
import type { StageStatus } from './stage-status.js';
import type { RunUsage, UsageTotals } from './usage.js';

/** Every stage kind, once: the type below and the stored-record check read it; not exported from the package root, and not marked internal: stripInternal would drop the declaration the type reads. */
export const STAGE_KINDS = [
  'agent',
  'sequence',
  'parallel',
  'forEach',
  'route',
  'approval',
  'macro',
] as const;

/** The kinds of stage a record, an event or a span can name. */
export type StageKind = (typeof STAGE_KINDS)[number];

/** What one stage did. */
export interface StageRecord {
  readonly path: string;
  readonly id: string;
  readonly kind: StageKind;
  readonly status: StageStatus;
  /** The stage's output when it succeeded (or was restored). */
  readonly output?: unknown;
  readonly error?: ErrorRecord;
  /** Attempts made, retries included. */
  readonly attempts: number;
  /** Agent that produced the output (after elevation, the stronger agent). */
  readonly agent?: string;
  /** A route's case that ran. */
  readonly case?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  /**
   * Tokens the stage's agent calls reported (every attempt's, judges' included), per agent
   * and model; absent when none reported any. Reports made after the stage ended count in
   * `MacroResult.usage` only.
   */
  readonly usage?: RunUsage;
}

/** One closed span of the execution timeline. */
export interface TimelineEntry {
  readonly scope: 'macro' | 'stage' | 'phase';
  readonly path: string;
  /** Phase name for phases, stage kind for stages, macro name for macros. */
  readonly name: string;
  readonly status: StageStatus;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  /** On a stage span: the tokens that attempt's agent calls reported, if any. */
  readonly usage?: UsageTotals;
}

/** The QA summary of a run: every gate verdict, per stage. */
export interface QaSummary {
  readonly passed: boolean;
  readonly verdicts: readonly GateVerdict[];
}

/** One macro tried during a run (the requested one, then fallbacks). */
export interface MacroAttempt {
  readonly macro: string;
  readonly status: RunStatus;
  readonly error?: ErrorRecord;
}

/** Final status of a run. */
export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'cancelled' | 'suspended';

/** Where a suspended run waits, and what for (see `resume(runId, { input })`). */
export interface Suspension {
  /** The stage that suspended the run. */
  readonly path: string;
  /** What it handed out: a draft to approve, a question to answer. */
  readonly payload: unknown;
  /** Names this suspension; `resume(runId, { input, token })` resumes only this one. */
  readonly token: string;
}

interface MacroResultBase {
  readonly runId: string;
  /** The macro that was asked for. */
  readonly macro: string;
  /** The macro whose output this is (a fallback, when the requested macro failed). */
  readonly producedBy: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  /** Latest record of every stage that started, keyed by path. */
  readonly stages: Readonly<Record<string, StageRecord>>;
  readonly timeline: readonly TimelineEntry[];
  readonly qa: QaSummary;
  readonly artefacts: readonly Artefact[];
  /** Every error met, in order, including those later recovered by retries. */
  readonly errors: readonly ErrorRecord[];
  /** The requested macro and each fallback, in order. */
  readonly macros: readonly MacroAttempt[];
  /** Present when the result could not be persisted. */
  readonly persistence?: { readonly ok: false; readonly error: ErrorRecord };
  /** Harmony decisions, in the order they were made (agreements are not decisions). */
  readonly decisions: readonly DecisionRecord[];
  /**
   * Tokens the agents reported (`invocation.usage`), when any did: totals, and a row per
   * agent and model. A resumed run counts only what it used after resuming.
   */
  readonly usage?: RunUsage;
}

/** The result of a run, narrowed by `status`. */
export type MacroResult<O = unknown> =
  | (MacroResultBase & { readonly status: 'succeeded'; readonly output: O })
  | (MacroResultBase & {
      readonly status: 'partial';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    })
  | (MacroResultBase & {
      readonly status: 'failed';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    })
  | (MacroResultBase & {
      readonly status: 'cancelled';
      readonly output?: undefined;
      readonly error: ErrorRecord;
    })
  | (MacroResultBase & {
      readonly status: 'suspended';
      readonly output?: undefined;
      /** `SUSPENDED`, naming the stage. */
      readonly error: ErrorRecord;
      readonly suspension: Suspension;
    });

/** What an agent returns to the engine (output plus who produced it and when). */
export interface AgentResult<O = unknown> {
  readonly agent: string;
  readonly path: string;
  readonly output: O;
  readonly attempt: number;
  readonly durationMs: number;
}
