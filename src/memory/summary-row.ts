/**
 * A stored run's row as the SQL adapters select it (SQLite, PostgreSQL: the same column
 * names), and the `RunSummary` it lists as.
 * @internal
 * @module
 */
import type { RunState, RunSummary } from './memory-adapter.js';

/** The summary columns of a run row. */
export interface SummaryRow {
  run_id: string;
  macro: string;
  produced_by: string;
  status: RunState;
  started_at: number;
  ended_at: number | null;
  updated_at: number;
}

/** The row as a `RunSummary` (no `endedAt` while the run has none). */
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
