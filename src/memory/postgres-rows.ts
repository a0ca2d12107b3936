/**
 * Rows of {@link PostgresMemory}'s statements: the audit records as the column arrays its
 * writes unnest.
 * @internal
 * @module
 */
import type { AuditRecord } from './memory-adapter.js';

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
