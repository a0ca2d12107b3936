/**
 * The prepared statements of {@link SqliteMemory} and the operations made of them, each
 * one transaction, synchronous (the adapter makes them promises and waits out locks).
 * @internal
 * @module
 */
import type Database from 'better-sqlite3';
import { MacroError } from '../errors.js';
import type { MacroResult } from '../model/result.js';
import type { ListRunsFilter } from './call-arguments.js';
import type { AuditRecord, Checkpoint, RunHeader, RunSummary, StoredRun } from './memory-adapter.js';
import { NEXT_TOKEN_SQL, type SqliteLeases } from './sqlite-leases.js';
import type { RemoteWrite } from './sqlite-write-thread.js';
import { checkpointJson, parseCheckpoint, parseResult, resultJson } from './stored-json.js';
import { type SummaryRow, toSummary } from './summary-row.js';

interface AuditRow {
  run_id: string;
  seq: number;
  at: number;
  kind: AuditRecord['kind'];
  path: string;
  data: string;
}

// A checkpoint does not touch its run's row (one page less per write): a running run's
// updated_at is the time of its latest checkpoint, found through checkpoints_by_run.
const SUMMARY_COLUMNS = `run_id, macro, produced_by, status, started_at, ended_at,
  coalesce((SELECT at FROM checkpoints c WHERE c.run_no = runs.id ORDER BY c.id DESC LIMIT 1), updated_at)
    AS updated_at`;

/** The row number of run `?`, which its checkpoints are stored under (schema version 3). */
const RUN_NO = '(SELECT id FROM runs WHERE run_id = ?)';

/** The statements of the writes a batch holds: the adapter's, and its write thread's (sqlite-write-thread.ts). */
export const SQL = {
  beginRun: `INSERT INTO runs (run_id, macro, produced_by, status, started_at, updated_at, header,
                       lease_owner, lease_pid, lease_host, lease_token, lease_expires_at)
     VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
       status = 'running', started_at = excluded.started_at, ended_at = NULL,
       updated_at = excluded.updated_at, header = excluded.header, result = NULL,
       lease_owner = excluded.lease_owner, lease_pid = excluded.lease_pid,
       lease_host = excluded.lease_host, lease_token = excluded.lease_token,
       lease_expires_at = excluded.lease_expires_at`,
  // The lease check in the insert: one statement and no row object a write (the fence's
  // SELECT was 1.6 µs of a checkpoint's write at 10,000 concurrent runs); `fence` runs only
  // when nothing was inserted, for the refusal's reason.
  insertCheckpoint: `INSERT INTO checkpoints (run_no, seq, at, data)
     SELECT id, ?, ?, ? FROM runs WHERE run_id = ? AND lease_token = ? AND header IS NOT NULL`,
  deleteCheckpoints: `DELETE FROM checkpoints WHERE run_no = ${RUN_NO}`,
  saveResult: `INSERT INTO runs (run_id, macro, produced_by, status, started_at, ended_at, updated_at, result)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
       status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
       updated_at = excluded.updated_at, result = excluded.result,
       lease_owner = NULL, lease_pid = NULL, lease_host = NULL, lease_expires_at = NULL
     WHERE runs.lease_token = ?`,
  insertAudit: 'INSERT INTO audit (run_id, seq, at, kind, path, data) VALUES (?, ?, ?, ?, ?, ?)',
  leaseToken: 'SELECT lease_token FROM runs WHERE run_id = ?',
  nextToken: NEXT_TOKEN_SQL,
} as const;

/** The writes that may join a turn's batch, as they run inside a transaction the caller holds. */
interface BatchedWrites {
  readonly beginRun: (header: RunHeader) => number;
  readonly saveCheckpoint: (runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => void;
  readonly saveResult: (result: MacroResult) => void;
}

/** The adapter's operations on one connection: each one transaction (or one read). */
export interface SqliteOperations {
  /** Returns the lease token the adapter now holds. */
  readonly beginRun: (header: RunHeader) => number;
  readonly saveCheckpoint: (runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => void;
  readonly saveResult: (result: MacroResult) => void;
  readonly appendAudit: (records: readonly AuditRecord[]) => void;
  readonly deleteRun: (runId: string) => boolean;
  readonly prune: (endedBefore: number) => number;
  readonly loadRun: (runId: string) => StoredRun | undefined;
  readonly loadResult: (runId: string) => MacroResult | undefined;
  readonly readAudit: (runId: string) => AuditRecord[];
  readonly listRuns: (filter: ListRunsFilter) => RunSummary[];
  /**
   * `beginRun`, `saveCheckpoint` and `saveResult` without a transaction of their own, for a
   * batch's transaction: a savepoint each cost 2.5–6 µs a write (two statements).
   */
  readonly inBatch: BatchedWrites;
  /** The same three writes as the write thread runs them, their JSON made here. */
  readonly remote: {
    readonly beginRun: (header: RunHeader) => RemoteWrite;
    readonly saveCheckpoint: (
      runId: string,
      checkpoint: Checkpoint,
      audit: readonly AuditRecord[],
    ) => RemoteWrite;
    readonly saveResult: (result: MacroResult) => RemoteWrite;
  };
}

/**
 * Prepares the statements on `db` (migrated already) and makes the operations of them.
 * Every write checks the run's lease in its transaction: checkpoints and results in their
 * own statement (`leases.fence` then says why one changed nothing), the others first.
 */
export function sqliteOperations(
  db: Database.Database,
  leases: SqliteLeases,
  now: () => number,
): SqliteOperations {
  const s = {
    beginRun: db.prepare(SQL.beginRun),
    insertCheckpoint: db.prepare<[number, number, string, string, number]>(SQL.insertCheckpoint),
    deleteCheckpoints: db.prepare<[string]>(SQL.deleteCheckpoints),
    selectCheckpoints: db
      .prepare<[string], string>(`SELECT data FROM checkpoints WHERE run_no = ${RUN_NO} ORDER BY id`)
      .pluck(),
    saveResult: db.prepare(SQL.saveResult),
    selectRun: db.prepare<[string], { header: string | null; result: string | null }>(
      'SELECT header, result FROM runs WHERE run_id = ?',
    ),
    selectResult: db.prepare<[string], string | null>('SELECT result FROM runs WHERE run_id = ?').pluck(),
    insertAudit: db.prepare(SQL.insertAudit),
    selectAudit: db.prepare<[string], AuditRow>(
      'SELECT run_id, seq, at, kind, path, data FROM audit WHERE run_id = ? ORDER BY id',
    ),
    listAll: db.prepare<[number], SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?`),
    listByMacro: db.prepare<[string, number], SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE macro = ? ORDER BY id DESC LIMIT ?`,
    ),
    listByStatus: db.prepare<[string, number], SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE status = ? ORDER BY id DESC LIMIT ?`,
    ),
    listByBoth: db.prepare<[string, string, number], SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE macro = ? AND status = ? ORDER BY id DESC LIMIT ?`,
    ),
    deleteRun: db.prepare('DELETE FROM runs WHERE run_id = ?'),
    deleteAudit: db.prepare('DELETE FROM audit WHERE run_id = ?'),
    selectEndedBefore: db
      .prepare<[number], string>(
        "SELECT run_id FROM runs WHERE ended_at IS NOT NULL AND ended_at < ? AND status <> 'suspended'",
      )
      .pluck(),
  };

  const insertAudit = (records: readonly AuditRecord[]) => {
    for (const r of records) s.insertAudit.run(r.runId, r.seq, r.at, r.kind, r.path, JSON.stringify(r.data));
  };
  const deleteRun = (runId: string) => {
    s.deleteCheckpoints.run(runId);
    s.deleteAudit.run(runId);
    return s.deleteRun.run(runId).changes > 0;
  };
  const appendAudit = db.transaction((records: readonly AuditRecord[]) => {
    const checked = new Set<string>();
    for (const { runId } of records) {
      if (!checked.has(runId)) leases.fence(runId, 'appendAudit');
      checked.add(runId);
    }
    insertAudit(records);
  });
  /** Begins the run; returns the lease token it now holds. */
  const beginRunIn = (header: RunHeader) => {
    const json = JSON.stringify(header);
    const lease = leases.begun(leases.fence(header.runId, 'beginRun'), now());
    const { runId, macro, startedAt } = header;
    s.beginRun.run(runId, macro, macro, startedAt, startedAt, json, ...lease);
    s.deleteCheckpoints.run(header.runId);
    return lease[3];
  };
  /** Throws why a fenced write of `runId` changed nothing: its lease is another's (fence throws), or `why`. */
  const refused = (runId: string, operation: string, why: string): never => {
    leases.fence(runId, operation);
    throw new MacroError('PERSISTENCE_FAILED', `SqliteMemory ${operation}: run "${runId}" ${why}`);
  };
  const saveCheckpointIn = (runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => {
    const json = checkpointJson(checkpoint);
    const token = leases.expected(runId);
    if (s.insertCheckpoint.run(checkpoint.seq, checkpoint.at, json, runId, token).changes === 0) {
      refused(runId, 'saveCheckpoint', 'was never begun');
    }
    insertAudit(audit);
  };
  const saveResultIn = (result: MacroResult) => {
    const json = resultJson(result);
    const stored = s.saveResult.run(
      result.runId,
      result.macro,
      result.producedBy,
      result.status,
      result.startedAt,
      result.endedAt,
      result.endedAt,
      json,
      leases.expected(result.runId),
    );
    // A new row, or the run's own row updated: nothing only when its lease is another's.
    if (stored.changes === 0) refused(result.runId, 'saveResult', 'has a result that was not stored');
    // A suspended run is resumed from its checkpoints: they stay until it ends.
    if (result.status !== 'suspended') s.deleteCheckpoints.run(result.runId);
  };
  const deleteRunTx = db.transaction(deleteRun);
  const prune = db.transaction((endedBefore: number) => {
    let deleted = 0;
    for (const runId of s.selectEndedBefore.all(endedBefore)) if (deleteRun(runId)) deleted += 1;
    return deleted;
  });
  // One read transaction: the header and the checkpoints from the same snapshot.
  const loadRun = db.transaction((runId: string) => {
    const row = s.selectRun.get(runId);
    if (row === undefined) return undefined;
    const stored: { -readonly [K in keyof StoredRun]: StoredRun[K] } = {
      checkpoints: s.selectCheckpoints.all(runId).map(parseCheckpoint),
    };
    if (row.header !== null) stored.header = JSON.parse(row.header) as RunHeader;
    if (row.result !== null) stored.result = parseResult(row.result);
    return stored;
  });
  const loadResult: SqliteOperations['loadResult'] = (runId) => {
    const json = s.selectResult.get(runId);
    return json === undefined || json === null ? undefined : parseResult(json);
  };
  const readAudit: SqliteOperations['readAudit'] = (runId) =>
    s.selectAudit.all(runId).map((row) => ({
      runId: row.run_id,
      seq: row.seq,
      at: row.at,
      kind: row.kind,
      path: row.path,
      data: JSON.parse(row.data) as AuditRecord['data'],
    }));
  const listRuns: SqliteOperations['listRuns'] = ({ macro, status, limit }) => {
    const rows =
      macro === undefined
        ? status === undefined
          ? s.listAll.all(limit)
          : s.listByStatus.all(status, limit)
        : status === undefined
          ? s.listByMacro.all(macro, limit)
          : s.listByBoth.all(macro, status, limit);
    return rows.map(toSummary);
  };
  return {
    beginRun: db.transaction(beginRunIn),
    saveCheckpoint: db.transaction(saveCheckpointIn),
    saveResult: db.transaction(saveResultIn),
    appendAudit,
    deleteRun: deleteRunTx,
    prune,
    loadRun,
    loadResult,
    readAudit,
    listRuns,
    inBatch: { beginRun: beginRunIn, saveCheckpoint: saveCheckpointIn, saveResult: saveResultIn },
    remote: {
      beginRun: (header) => {
        const { runId, macro, startedAt } = header;
        const lessee = leases.holder(now());
        return ['begin', runId, macro, startedAt, JSON.stringify(header), leases.expected(runId), ...lessee];
      },
      saveCheckpoint: (runId, checkpoint, audit) => [
        'checkpoint',
        checkpoint.seq,
        checkpoint.at,
        checkpointJson(checkpoint),
        runId,
        leases.expected(runId),
        audit.map((r) => [r.runId, r.seq, r.at, r.kind, r.path, JSON.stringify(r.data)] as const),
      ],
      saveResult: (result) => [
        'result',
        result.runId,
        result.macro,
        result.producedBy,
        result.status,
        result.startedAt,
        result.endedAt,
        resultJson(result),
        leases.expected(result.runId),
        result.status !== 'suspended',
      ],
    },
  };
}
