import type { MacroResult, RunStatus } from '../macro/types.js';

/** One entry of a run's audit trail. */
export interface AuditRecord {
  readonly runId: string;
  /** The sequence number of the event this record mirrors. */
  readonly seq: number;
  readonly at: number;
  readonly kind: 'decision' | 'retry' | 'fallback' | 'failure' | 'gate';
  readonly path: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A short description of a stored run, as listed by {@link MemoryAdapter.listRuns}. */
export interface RunSummary {
  readonly runId: string;
  readonly macro: string;
  readonly producedBy: string;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Filters for {@link MemoryAdapter.listRuns}. */
export interface ListRunsOptions {
  readonly macro?: string;
  readonly status?: RunStatus;
  /** Most recent first; at most this many. @default 100 */
  readonly limit?: number;
}

/**
 * Where runs persist. Implementations must make each method atomic; the engine retries
 * a failing write and reports it in the result when it keeps failing.
 */
export interface MemoryAdapter {
  saveResult(result: MacroResult): Promise<void>;
  loadResult(runId: string): Promise<MacroResult | undefined>;
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  /** The run's audit records in the order they were appended. */
  readAudit(runId: string): Promise<AuditRecord[]>;
  listRuns(options?: ListRunsOptions): Promise<RunSummary[]>;
}
