/**
 * `SqliteMemory`: the embedded durable {@link MemoryAdapter}, on better-sqlite3. Import
 * it from `macro-orchestrator/sqlite`, so that `better-sqlite3` (an optional peer
 * dependency with a native build) is loaded only by those who use it.
 * @module
 */
import Database from 'better-sqlite3';
import { MacroError } from '../errors.js';
import { checkOptionKeys, kindOf } from '../internal/options.js';
import type { MacroResult } from '../model/result.js';
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunState,
  RunSummary,
  StoredRun,
} from './memory-adapter.js';

/** Options of {@link SqliteMemory}. */
export interface SqliteMemoryOptions {
  /** Database file, created if missing. `':memory:'` keeps a private database in memory. @default ':memory:' */
  readonly path?: string;
  /**
   * `'normal'`: a commit survives a crash of the process (WAL); `'full'`: also a power
   * loss, at the cost of an fsync per write.
   * @default 'normal'
   */
  readonly synchronous?: 'normal' | 'full';
  /**
   * How long an operation waits for another connection's lock, in ms, before it rejects
   * with `PERSISTENCE_FAILED`. The wait never blocks the event loop: each attempt fails
   * at once on a lock and the next one is scheduled with a timer. Only opening the file
   * waits synchronously (see the constructor). `0`: fail at the first lock.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
}

const OPTION_KEYS: readonly (keyof SqliteMemoryOptions)[] = ['path', 'synchronous', 'busyTimeoutMs'];

/**
 * Checks the constructor's argument once, before anything is opened: unknown keys and
 * invalid values throw `INVALID_OPTIONS` (a misspelt `filename` must not quietly open a
 * database in memory). An option that is `undefined` takes its default.
 */
function parseOptions(pathOrOptions: string | SqliteMemoryOptions | undefined): {
  path: string;
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
} {
  const options = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
  checkOptionKeys('SqliteMemory options', options, OPTION_KEYS);
  const { path = ':memory:', synchronous = 'normal', busyTimeoutMs = 5000 } = options ?? {};
  if (typeof path !== 'string' || path === '') {
    throw invalidOption('path', 'a non-empty string', path);
  }
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw invalidOption('synchronous', '"normal" or "full"', synchronous);
  }
  if (typeof busyTimeoutMs !== 'number' || !Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw invalidOption('busyTimeoutMs', 'a finite number of milliseconds ≥ 0', busyTimeoutMs);
  }
  return { path, synchronous, busyTimeoutMs };
}

function invalidOption(key: string, expected: string, value: unknown): MacroError {
  const got =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'number'
        ? String(value)
        : kindOf(value);
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "${key}" in SqliteMemory options: expected ${expected}, got ${got}`,
  );
}

/**
 * Schema migrations, in order: migration `i` brings the schema to version `i + 1`.
 * Append only; never edit a migration that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id          INTEGER PRIMARY KEY,
     run_id      TEXT    NOT NULL UNIQUE,
     macro       TEXT    NOT NULL,
     produced_by TEXT    NOT NULL,
     status      TEXT    NOT NULL,
     started_at  INTEGER NOT NULL,
     ended_at    INTEGER,
     updated_at  INTEGER NOT NULL,
     header      TEXT,
     result      TEXT
   );
   CREATE INDEX runs_by_status ON runs (status, id);
   CREATE INDEX runs_by_macro ON runs (macro, id);
   CREATE TABLE checkpoints (
     id     INTEGER PRIMARY KEY,
     run_id TEXT    NOT NULL,
     seq    INTEGER NOT NULL,
     at     INTEGER NOT NULL,
     data   TEXT    NOT NULL
   );
   CREATE INDEX checkpoints_by_run ON checkpoints (run_id, id);
   CREATE TABLE audit (
     id     INTEGER PRIMARY KEY,
     run_id TEXT    NOT NULL,
     seq    INTEGER NOT NULL,
     at     INTEGER NOT NULL,
     kind   TEXT    NOT NULL,
     path   TEXT    NOT NULL,
     data   TEXT    NOT NULL
   );
   CREATE INDEX audit_by_run ON audit (run_id, id);`,
];

/** The schema version this code reads and writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

interface RunRow {
  run_id: string;
  macro: string;
  produced_by: string;
  status: RunState;
  started_at: number;
  ended_at: number | null;
  updated_at: number;
}
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
  coalesce((SELECT at FROM checkpoints c WHERE c.run_id = runs.run_id ORDER BY c.id DESC LIMIT 1), updated_at)
    AS updated_at`;

/** The first pause between two attempts of an operation that met a lock, in ms; it doubles. */
const FIRST_RETRY_DELAY_MS = 1;
/** The longest pause between two attempts: how late a released lock may be noticed. */
const MAX_RETRY_DELAY_MS = 50;
/** The largest value SQLite's `busy_timeout` pragma takes (a C int). */
const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

/**
 * True for the driver's errors that say another connection holds a lock: `SQLITE_BUSY`
 * and its extended codes (`SQLITE_BUSY_SNAPSHOT`: our read snapshot went stale before
 * the write, `SQLITE_BUSY_RECOVERY`, …), and `SQLITE_LOCKED` with its own. Trying again
 * later can succeed; every other error is final.
 */
function isLockError(error: unknown): error is Database.SqliteError {
  if (!(error instanceof Database.SqliteError)) return false;
  const { code } = error;
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A {@link MemoryAdapter} on an SQLite file: runs survive the process, and a run that
 * crashed can be resumed from its checkpoints by another process. WAL mode lets
 * readers and one writer work side by side; every method is one transaction; the
 * schema is versioned and migrated on open. Checkpoints are deleted when the run's
 * result is saved, so the file holds checkpoints only for runs in flight.
 *
 * better-sqlite3 is synchronous: a write completes before the returned promise
 * settles, which is what makes awaiting a checkpoint cheap and durable.
 *
 * **Locks.** When another connection (usually another process) holds the write lock, a
 * method does not wait inside SQLite, which would block the event loop and with it every
 * run, timer and cancellation in the process: each attempt fails at once, and the next
 * one runs after a pause (1 ms, doubling up to 50 ms) until `busyTimeoutMs` has passed
 * since the call; then the method rejects with a {@link MacroError}
 * `PERSISTENCE_FAILED` (`retryable`) whose `cause` is the driver's `SQLITE_BUSY` error,
 * and nothing of it is stored. Writes that meet a lock, and writes made while one waits,
 * are applied in the order they were made. Reads (`load*`, `readAudit`, `listRuns`) do
 * the same when they meet a lock, which WAL makes rare, and never wait behind writes.
 * @example
 * import { SqliteMemory } from 'macro-orchestrator/sqlite';
 * const memory = new SqliteMemory('runs.db');
 * const orchestrator = new MacroOrchestrator({ agents, memory });
 */
export class SqliteMemory implements MemoryAdapter {
  /** The underlying connection, for inspection and maintenance. */
  readonly db: Database.Database;
  readonly #busyTimeoutMs: number;
  readonly #saveCheckpoint: (runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => void;
  readonly #saveResult: (result: MacroResult) => void;
  readonly #beginRun: (header: RunHeader) => void;
  readonly #appendAudit: (records: readonly AuditRecord[]) => void;
  readonly #deleteRun: (runId: string) => boolean;
  readonly #prune: (endedBefore: number) => number;
  readonly #loadRun: (runId: string) => StoredRun | undefined;
  readonly #loadResult: (runId: string) => MacroResult | undefined;
  readonly #readAudit: (runId: string) => AuditRecord[];
  readonly #listRuns: (options: ListRunsOptions) => RunSummary[];
  /**
   * Settles after the last write that is waiting for a lock (or queued behind one);
   * `undefined` when none is, and a write runs at once.
   */
  #queue: Promise<void> | undefined;
  /** How many writes the queue holds. */
  #queued = 0;

  /**
   * Opens (creating it if missing) and sets up the database: WAL mode, `synchronous`,
   * and the schema migrations this file still needs.
   *
   * Opening is synchronous, so it is the one place that may wait for a lock by blocking:
   * for up to `busyTimeoutMs`, and only when setting up needs a lock another connection
   * holds. Opening a file already in WAL mode and at this schema version only reads, and
   * does not wait for another connection's writes; a new file, or one that needs a
   * migration, takes the write lock once. So open the database when your process starts,
   * before runs are in flight.
   *
   * @param pathOrOptions the database file, or {@link SqliteMemoryOptions}.
   * @throws {MacroError} `INVALID_OPTIONS` for an unknown option or an invalid value, before
   * anything is opened; `PERSISTENCE_FAILED` when another connection's lock outlasted
   * `busyTimeoutMs` while setting up, or when the file's schema is newer than this code.
   */
  constructor(pathOrOptions?: string | SqliteMemoryOptions) {
    const options = parseOptions(pathOrOptions);
    this.#busyTimeoutMs = options.busyTimeoutMs;
    const db = new Database(options.path);
    this.db = db;
    const opening = performance.now();
    try {
      // SQLite's own busy handler, which sleeps in this thread: for the setup only.
      db.pragma(`busy_timeout = ${Math.min(Math.ceil(options.busyTimeoutMs), MAX_BUSY_TIMEOUT_MS)}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrate(db);
      // From here on a lock fails at once, and the methods wait for it with timers.
      db.pragma('busy_timeout = 0');
    } catch (error) {
      db.close();
      if (!isLockError(error)) throw error;
      throw this.#lockTimeout('open', performance.now() - opening, error);
    }

    const s = {
      beginRun: db.prepare(
        `INSERT INTO runs (run_id, macro, produced_by, status, started_at, updated_at, header)
         VALUES (?, ?, ?, 'running', ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
           status = 'running', started_at = excluded.started_at, ended_at = NULL,
           updated_at = excluded.updated_at, header = excluded.header, result = NULL`,
      ),
      isBegun: db
        .prepare<[string], number>('SELECT 1 FROM runs WHERE run_id = ? AND header IS NOT NULL')
        .pluck(),
      insertCheckpoint: db.prepare('INSERT INTO checkpoints (run_id, seq, at, data) VALUES (?, ?, ?, ?)'),
      deleteCheckpoints: db.prepare('DELETE FROM checkpoints WHERE run_id = ?'),
      selectCheckpoints: db
        .prepare<[string], string>('SELECT data FROM checkpoints WHERE run_id = ? ORDER BY id')
        .pluck(),
      saveResult: db.prepare(
        `INSERT INTO runs (run_id, macro, produced_by, status, started_at, ended_at, updated_at, result)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
           status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
           updated_at = excluded.updated_at, result = excluded.result`,
      ),
      selectRun: db.prepare<[string], { header: string | null; result: string | null }>(
        'SELECT header, result FROM runs WHERE run_id = ?',
      ),
      selectResult: db.prepare<[string], string | null>('SELECT result FROM runs WHERE run_id = ?').pluck(),
      insertAudit: db.prepare(
        'INSERT INTO audit (run_id, seq, at, kind, path, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      selectAudit: db.prepare<[string], AuditRow>(
        'SELECT run_id, seq, at, kind, path, data FROM audit WHERE run_id = ? ORDER BY id',
      ),
      listAll: db.prepare<[number], RunRow>(`SELECT ${SUMMARY_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?`),
      listByMacro: db.prepare<[string, number], RunRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE macro = ? ORDER BY id DESC LIMIT ?`,
      ),
      listByStatus: db.prepare<[string, number], RunRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE status = ? ORDER BY id DESC LIMIT ?`,
      ),
      listByBoth: db.prepare<[string, string, number], RunRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE macro = ? AND status = ? ORDER BY id DESC LIMIT ?`,
      ),
      deleteRun: db.prepare('DELETE FROM runs WHERE run_id = ?'),
      deleteAudit: db.prepare('DELETE FROM audit WHERE run_id = ?'),
      selectEndedBefore: db
        .prepare<[number], string>('SELECT run_id FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?')
        .pluck(),
    };

    const insertAudit = (records: readonly AuditRecord[]) => {
      for (const r of records)
        s.insertAudit.run(r.runId, r.seq, r.at, r.kind, r.path, JSON.stringify(r.data));
    };
    const deleteRun = (runId: string) => {
      s.deleteCheckpoints.run(runId);
      s.deleteAudit.run(runId);
      return s.deleteRun.run(runId).changes > 0;
    };
    this.#appendAudit = db.transaction(insertAudit);
    this.#beginRun = db.transaction((header: RunHeader) => {
      const json = JSON.stringify(header);
      s.beginRun.run(header.runId, header.macro, header.macro, header.startedAt, header.startedAt, json);
      s.deleteCheckpoints.run(header.runId);
    });
    this.#saveCheckpoint = db.transaction(
      (runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]) => {
        if (s.isBegun.get(runId) === undefined) {
          throw new Error(`Run "${runId}" was never begun`);
        }
        s.insertCheckpoint.run(runId, checkpoint.seq, checkpoint.at, JSON.stringify(checkpoint));
        insertAudit(audit);
      },
    );
    this.#saveResult = db.transaction((result: MacroResult) => {
      const json = JSON.stringify(result);
      s.saveResult.run(
        result.runId,
        result.macro,
        result.producedBy,
        result.status,
        result.startedAt,
        result.endedAt,
        result.endedAt,
        json,
      );
      s.deleteCheckpoints.run(result.runId);
    });
    this.#deleteRun = db.transaction(deleteRun);
    this.#prune = db.transaction((endedBefore: number) => {
      let deleted = 0;
      for (const runId of s.selectEndedBefore.all(endedBefore)) if (deleteRun(runId)) deleted += 1;
      return deleted;
    });
    // One read transaction: the header and the checkpoints from the same snapshot.
    this.#loadRun = db.transaction((runId: string) => {
      const row = s.selectRun.get(runId);
      if (row === undefined) return undefined;
      const stored: { -readonly [K in keyof StoredRun]: StoredRun[K] } = {
        checkpoints: s.selectCheckpoints.all(runId).map((d) => JSON.parse(d) as Checkpoint),
      };
      if (row.header !== null) stored.header = JSON.parse(row.header) as RunHeader;
      if (row.result !== null) stored.result = JSON.parse(row.result) as MacroResult;
      return stored;
    });
    this.#loadResult = (runId) => {
      const json = s.selectResult.get(runId);
      return json === undefined || json === null ? undefined : (JSON.parse(json) as MacroResult);
    };
    this.#readAudit = (runId) =>
      s.selectAudit.all(runId).map((row) => ({
        runId: row.run_id,
        seq: row.seq,
        at: row.at,
        kind: row.kind,
        path: row.path,
        data: JSON.parse(row.data) as AuditRecord['data'],
      }));
    this.#listRuns = (options) => {
      const limit = options.limit ?? 100;
      const { macro, status } = options;
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
  }

  beginRun(header: RunHeader): Promise<void> {
    return this.#write('beginRun', this.#beginRun, header);
  }

  saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    return this.#write('saveCheckpoint', this.#saveCheckpoint, runId, checkpoint, audit);
  }

  loadRun(runId: string): Promise<StoredRun | undefined> {
    return this.#read('loadRun', this.#loadRun, runId);
  }

  saveResult(result: MacroResult): Promise<void> {
    return this.#write('saveResult', this.#saveResult, result);
  }

  loadResult(runId: string): Promise<MacroResult | undefined> {
    return this.#read('loadResult', this.#loadResult, runId);
  }

  appendAudit(records: readonly AuditRecord[]): Promise<void> {
    return this.#write('appendAudit', this.#appendAudit, records);
  }

  readAudit(runId: string): Promise<AuditRecord[]> {
    return this.#read('readAudit', this.#readAudit, runId);
  }

  listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    return this.#read('listRuns', this.#listRuns, options);
  }

  /** Deletes a run with its checkpoints and audit trail; resolves to true when it existed. */
  deleteRun(runId: string): Promise<boolean> {
    return this.#write('deleteRun', this.#deleteRun, runId);
  }

  /**
   * Retention: deletes every finished run that ended before `endedBefore` (epoch ms),
   * with its checkpoints and audit trail, in one transaction. Runs still `running` are
   * kept. Resolves to how many were deleted.
   */
  prune(options: { endedBefore: number }): Promise<number> {
    return this.#write('prune', this.#prune, options.endedBefore);
  }

  /**
   * Closes the database. The adapter cannot be used afterwards; an operation still
   * waiting for a lock then rejects with the driver's error.
   */
  close(): void {
    this.db.close();
  }

  /**
   * Runs a write transaction at once, unless writes are already waiting for a lock:
   * then, or when it meets a lock itself, it joins the end of their queue. The common
   * case costs a try/catch and a resolved promise.
   */
  #write<A, B, C, T>(operation: string, write: (a: A, b: B, c: C) => T, a: A, b?: B, c?: C): Promise<T> {
    if (this.#queue === undefined) {
      try {
        return Promise.resolve(write(a, b as B, c as C));
      } catch (error) {
        if (!isLockError(error)) return Promise.reject(error);
        return this.#enqueue(operation, () => write(a, b as B, c as C), error);
      }
    }
    return this.#enqueue(operation, () => write(a, b as B, c as C), undefined);
  }

  /** Runs a read at once; when it meets a lock, tries again as {@link #retry} does. Reads never queue. */
  #read<A, T>(operation: string, read: (a: A) => T, a: A): Promise<T> {
    try {
      return Promise.resolve(read(a));
    } catch (error) {
      if (!isLockError(error)) return Promise.reject(error);
      return this.#retry(operation, () => read(a), performance.now(), error);
    }
  }

  /** Queues a write behind those waiting for a lock; its budget counts from now. */
  #enqueue<T>(operation: string, attempt: () => T, lockError: unknown): Promise<T> {
    const since = performance.now();
    const previous = this.#queue;
    const done =
      previous === undefined
        ? this.#retry(operation, attempt, since, lockError)
        : previous.then(() => this.#retry(operation, attempt, since, lockError));
    this.#queued += 1;
    this.#queue = done.then(this.#dequeue, this.#dequeue);
    return done;
  }

  readonly #dequeue = (): void => {
    this.#queued -= 1;
    if (this.#queued === 0) this.#queue = undefined;
  };

  /**
   * Tries `attempt` until it does not meet a lock, pausing between tries with timers (the
   * event loop runs meanwhile), and rejects with `PERSISTENCE_FAILED` once `busyTimeoutMs`
   * has passed since `since`. `lockError`: the lock the caller's own try met (the first
   * try is then after a pause); `undefined` to try at once.
   */
  async #retry<T>(operation: string, attempt: () => T, since: number, lockError: unknown): Promise<T> {
    let last = lockError;
    if (last === undefined) {
      try {
        return attempt();
      } catch (error) {
        if (!isLockError(error)) throw error;
        last = error;
      }
    }
    const budget = this.#busyTimeoutMs;
    for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
      const waited = performance.now() - since;
      if (waited >= budget) throw this.#lockTimeout(operation, waited, last);
      await sleep(Math.min(delay, budget - waited));
      try {
        return attempt();
      } catch (error) {
        if (!isLockError(error)) throw error;
        last = error;
      }
    }
  }

  #lockTimeout(operation: string, waitedMs: number, cause: unknown): MacroError {
    return new MacroError(
      'PERSISTENCE_FAILED',
      `SqliteMemory ${operation} on ${this.db.name} gave up: another connection held the database lock ` +
        `(waited ${Math.round(waitedMs)} ms, busyTimeoutMs ${this.#busyTimeoutMs}): ${(cause as Error).message}`,
      { cause, retryable: true },
    );
  }
}

function toSummary(row: RunRow): RunSummary {
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

/** Brings the schema to {@link SQLITE_SCHEMA_VERSION}, one transaction per migration. */
function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const current = db.prepare<[], number | null>('SELECT max(version) FROM schema_version').pluck();
  const record = db.prepare('INSERT INTO schema_version (version) VALUES (?)');
  const step = db.transaction((index: number) => {
    // Re-read inside the (immediate) transaction: another process may have migrated meanwhile.
    if ((current.get() ?? 0) > index) return;
    db.exec(MIGRATIONS[index] as string);
    record.run(index + 1);
  });
  const found = current.get() ?? 0;
  if (found > MIGRATIONS.length) {
    throw new MacroError(
      'PERSISTENCE_FAILED',
      `Database schema version ${found} is newer than this macro-orchestrator supports (${MIGRATIONS.length}); upgrade the package`,
    );
  }
  for (let index = found; index < MIGRATIONS.length; index++) step.immediate(index);
}
