/**
 * Rows of {@link PostgresMemory}'s statements: the audit records as the column arrays its
 * writes unnest, and a listed run as a `RunSummary`.
 * @internal
 * @module
 */
import type { AuditRecord, RunState, RunSummary } from './memory-adapter.js';

/** A run as `listRuns` and `claimStale` select it. */
export interface SummaryRow {
  run_id: string;
  macro: string;
  produced_by: string;
  status: RunState;
  started_at: number;
  ended_at: number | null;
  updated_at: number;
}

/** The audit records as the six column arrays the statements unnest. */
export function auditColumns(records: readonly AuditRecord[]): unknown[][] {
  const n = records.length;
  const columns: unknown[][] = [
    new Array(n),
    new Array(n),
    new Array(n),
    new Array(n),
    new Array(n),
    new Array(n),
  ];
  for (let i = 0; i < n; i++) {
    const r = records[i] as AuditRecord;
    (columns[0] as unknown[])[i] = r.runId;
    (columns[1] as unknown[])[i] = r.seq;
    (columns[2] as unknown[])[i] = r.at;
    (columns[3] as unknown[])[i] = r.kind;
    (columns[4] as unknown[])[i] = r.path;
    (columns[5] as unknown[])[i] = JSON.stringify(r.data);
  }
  return columns;
}

export function toSummary(row: SummaryRow): RunSummary {
  const summary: { -readonly [K in keyof RunSummary]: RunSummary[K] } = {
    runId: row.run_id,
    macro: row.macro,
    producedBy: row.produced_by,
    status: row.status,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
  if (row.ended_at !== null) summary.endedAt = row.ended_at;
  return summary;
}
