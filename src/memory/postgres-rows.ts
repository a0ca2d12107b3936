/**
 * Rows of {@link PostgresMemory}'s statements: the audit records as the column arrays its
 * writes unnest, and what its reads return as stored runs and audit records.
 * @internal
 * @module
 */
import type { AuditRecord, RunHeader, StoredRun } from './memory-adapter.js';
import { parseCheckpoint, parseResult } from './stored-json.js';

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

/** A row of the `loadRun` statement. */
export interface StoredRunRow {
  readonly header: string | null;
  readonly result: string | null;
  readonly checkpoints: string[];
}

/** The run a `loadRun` row holds; `undefined` for none. */
export function storedRun(row: StoredRunRow | undefined): StoredRun | undefined {
  if (row === undefined) return undefined;
  const stored: { -readonly [K in keyof StoredRun]: StoredRun[K] } = {
    checkpoints: row.checkpoints.map(parseCheckpoint),
  };
  if (row.header !== null) stored.header = JSON.parse(row.header) as RunHeader;
  if (row.result !== null) stored.result = parseResult(row.result);
  return stored;
}

/** A row of the `readAudit` statement. */
export type AuditRow = Omit<AuditRecord, 'data' | 'runId'> & { run_id: string; data: string };

/** The audit record a `readAudit` row holds. */
export function auditRecord(r: AuditRow): AuditRecord {
  return {
    runId: r.run_id,
    seq: r.seq,
    at: r.at,
    kind: r.kind,
    path: r.path,
    data: JSON.parse(r.data) as AuditRecord['data'],
  };
}
