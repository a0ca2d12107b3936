/**
 * The `MemoryAdapter` extension point: where results, audit trails and the checkpoints
 * of runs in flight persist. `InMemoryMemory` is the default; `SqliteMemory`
 * (`macro-orchestrator/sqlite`) is the embedded durable one. Any adapter must pass
 * `memoryAdapterContract` (`macro-orchestrator/testing`, src/testing.ts).
 * @module
 */
import type { ErrorRecord } from '../errors.js';
import { everyKey, type RequiredKeys } from '../internal/keys.js';
import type { Artefact } from '../model/artefact.js';
import type { MacroContext } from '../model/context.js';
import type { DecisionRecord } from '../model/decision.js';
import type { GateVerdict } from '../model/quality-gate.js';
import type { MacroResult, RunStatus, StageRecord, TimelineEntry } from '../model/result.js';
import type { ClaimStaleOptions } from './lease.js';

/** One entry of a run's audit trail. */
export interface AuditRecord {
  readonly runId: string;
  /** The sequence number of the event this record mirrors. */
  readonly seq: number;
  readonly at: number;
  readonly kind: 'decision' | 'route' | 'retry' | 'fallback' | 'failure' | 'gate';
  readonly path: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Where a stored run stands: `running` until its result is saved (or forever, if it crashed). */
export type RunState = RunStatus | 'running';

/** A short description of a stored run, as listed by {@link MemoryAdapter.listRuns}. */
export interface RunSummary {
  readonly runId: string;
  readonly macro: string;
  /** The macro whose output the result is; the requested macro while the run is `running`. */
  readonly producedBy: string;
  readonly status: RunState;
  readonly startedAt: number;
  /** Absent while the run is `running`. */
  readonly endedAt?: number;
  /** Time of the last write for the run: its start, last checkpoint or end. */
  readonly updatedAt: number;
}

/** Filters for {@link MemoryAdapter.listRuns}. */
export interface ListRunsOptions {
  readonly macro?: string;
  /** `running` lists runs without a result: in flight, or interrupted by a crash. */
  readonly status?: RunState;
  /** Most recently started first; at most this many (an integer from 0 to 2^53 - 1). @default 100 */
  readonly limit?: number;
}

/** What a run was started with: enough to start it again. Written once, when the run starts. */
export interface RunHeader {
  readonly runId: string;
  /** The requested macro. */
  readonly macro: string;
  /** The parsed context. */
  readonly context: MacroContext;
  /** Input of the first stage. */
  readonly input: unknown;
  readonly startedAt: number;
}

/**
 * What a run added since its previous checkpoint: a delta, never a snapshot, so a
 * checkpoint's size does not grow with the run. Usually one finished stage; more when
 * stages finish while a write is in flight, or a failed write's stages ride along.
 */
export interface Checkpoint {
  /** Sequence number of the last event emitted before the checkpoint was taken. */
  readonly seq: number;
  /** When it was taken (the orchestrator's clock). */
  readonly at: number;
  /**
   * Stages that finished (succeeded), each with its output, except a group whose output
   * its children's records hold (a sequence's last output, a parallel group's tuple without
   * merge or Harmony): stored once, in the children; a resumed run rebuilds it.
   */
  readonly stages: readonly StageRecord[];
  readonly timeline: readonly TimelineEntry[];
  readonly errors: readonly ErrorRecord[];
  readonly verdicts: readonly GateVerdict[];
  readonly artefacts: readonly Artefact[];
  readonly decisions: readonly DecisionRecord[];
}

/** Everything stored about one run. */
export interface StoredRun {
  /** Absent for a run that was only ever saved as a result. */
  readonly header?: RunHeader;
  /** In the order they were saved; empty once the result is saved (the result supersedes them). */
  readonly checkpoints: readonly Checkpoint[];
  /** Present once the run finished. */
  readonly result?: MacroResult;
}

/**
 * Where runs persist. Everything stored is JSON: what is loaded is what
 * `JSON.parse(JSON.stringify(value))` gives, so stage outputs must be JSON-serialisable
 * for a run to be resumable (a `Date` comes back as a string, a `Map` as `{}`).
 *
 * Each method must be atomic: it stores all of its records or none. The engine retries
 * failing result writes and reports what keeps failing in the result and a
 * `persistence:error` event; a failing checkpoint is reported and its contents ride
 * with the next one.
 */
export interface MemoryAdapter {
  /** Records a run as `running`, with what it needs to be resumed. Called once, before any checkpoint. */
  beginRun(header: RunHeader): Promise<void>;
  /**
   * Appends a checkpoint and `audit` records to a begun run, in one transaction.
   * @throws when `runId` was never begun.
   */
  saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void>;
  /** Header, checkpoints and result of a run, or `undefined` for a run never stored. */
  loadRun(runId: string): Promise<StoredRun | undefined>;
  /**
   * Stores the final result, marks the run finished and may drop its checkpoints; but a
   * `suspended` result keeps them (resume reads them), and such a run must be kept, not
   * evicted or pruned, until a later result replaces it.
   */
  saveResult(result: MacroResult): Promise<void>;
  /** The run's saved result, or `undefined` while it has none (running, or unknown). */
  loadResult(runId: string): Promise<MacroResult | undefined>;
  /** Appends audit records (of one or more runs) no checkpoint carried; stores all or none. */
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  /** The run's audit records in the order they were appended. */
  readAudit(runId: string): Promise<AuditRecord[]>;
  /**
   * Runs, most recently begun first, filtered by macro and status, at most `limit`. The
   * built-in adapters reject options they cannot use (an unknown key or status, a `limit`
   * that is no integer ≥ 0) with `INVALID_OPTIONS`.
   */
  listRuns(options?: ListRunsOptions): Promise<RunSummary[]>;
  /**
   * Optional, for adapters that several processes share: takes the lease of a `running`
   * or `suspended` run, so that this adapter alone writes it from now on. Resolves once it
   * holds the lease, or at once for a finished or unknown run (nothing to hold); rejects
   * with `RUN_LEASED` while another owner's lease is live. `resume()` calls it before
   * loading the run. An adapter that has it refuses (`LEASE_LOST`) the writes of a run
   * whose lease it no longer holds, and takes the lease of every run it begins.
   */
  claimRun?(runId: string): Promise<void>;
  /**
   * Optional, with {@link claimRun}: claims at once (atomically: two processes never get
   * the same run) up to `limit` runs listed `running` whose lease is free or expired,
   * oldest first. `resumeIncomplete()` resumes what it returns, instead of listing runs.
   */
  claimStale?(options: ClaimStaleOptions): Promise<RunSummary[]>;
  /**
   * Optional, with {@link claimRun}: gives back the lease of a run this adapter holds (a
   * no-op otherwise), so another process may take the run over. The engine calls it when a
   * run it claimed settles without its result saved: a resume refused after the claim, a
   * result that could not be written, a claim that came back after the caller gave up.
   */
  releaseRun?(runId: string): Promise<void>;
}

/** Every method {@link MemoryAdapter} requires, for checks of an adapter's shape. @internal */
export const MEMORY_METHODS = everyKey<RequiredKeys<MemoryAdapter>>()([
  'beginRun',
  'saveCheckpoint',
  'loadRun',
  'saveResult',
  'loadResult',
  'appendAudit',
  'readAudit',
  'listRuns',
]);
