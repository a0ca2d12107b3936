/**
 * The SQLite schema of {@link SqliteMemory}: its versioned migrations, applied on open.
 * @internal
 * @module
 */
import type Database from 'better-sqlite3';
import { MacroError } from '../errors.js';
import { cannotOpen, lockTimeout } from './sqlite-failure.js';
import { isLockError, MAX_BUSY_TIMEOUT_MS } from './sqlite-locks.js';

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
  // 2: leases. The owner, its process and host (a claim on the same host takes over the
  // lease of a process that is gone), the fencing token and the expiry (epoch ms). Tokens
  // come from one counter, so a run id used again after its row was deleted never meets
  // a token an old process still remembers.
  `ALTER TABLE runs ADD COLUMN lease_owner TEXT;
   ALTER TABLE runs ADD COLUMN lease_pid INTEGER;
   ALTER TABLE runs ADD COLUMN lease_host TEXT;
   ALTER TABLE runs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
   CREATE TABLE lease_tokens (last INTEGER NOT NULL);
   INSERT INTO lease_tokens (last) VALUES (0);`,
  // 3: checkpoints keyed by their run's row id, not its run id. Run ids are random (UUIDs),
  // so each checkpoint went into its own page of the index on run_id: 10,000 live runs
  // wrote 0.85 pages of log per write; with run numbers, which live runs hold in a narrow
  // range, 0.19 (docs/performance.md, "Checkpoints keyed by run number"). A checkpoint
  // without its run (none is written so) is dropped: a new run could take its row number.
  `CREATE TABLE checkpoints_by_number (
     id     INTEGER PRIMARY KEY,
     run_no INTEGER NOT NULL,
     seq    INTEGER NOT NULL,
     at     INTEGER NOT NULL,
     data   TEXT    NOT NULL
   );
   INSERT INTO checkpoints_by_number (id, run_no, seq, at, data)
     SELECT c.id, r.id, c.seq, c.at, c.data FROM checkpoints c JOIN runs r ON r.run_id = c.run_id;
   DROP TABLE checkpoints;
   ALTER TABLE checkpoints_by_number RENAME TO checkpoints;
   CREATE INDEX checkpoints_by_run ON checkpoints (run_no, id);`,
];

/** The schema version this code reads and writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

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

/**
 * Sets the opened `db` up: WAL mode, `synchronous`, the migrations it needs. Blocks for
 * another connection's lock at most `busyTimeoutMs` (SQLite's busy handler, for the setup
 * only: afterwards a lock fails at once, and the adapter waits for it with timers).
 * @throws {MacroError} `PERSISTENCE_FAILED` naming `path`, once `db` is closed.
 */
export function setUp(
  db: Database.Database,
  path: string,
  synchronous: 'normal' | 'full',
  busyTimeoutMs: number,
): void {
  const opening = performance.now();
  try {
    db.pragma(`busy_timeout = ${Math.min(Math.ceil(busyTimeoutMs), MAX_BUSY_TIMEOUT_MS)}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    migrate(db);
    db.pragma('busy_timeout = 0');
  } catch (error) {
    db.close();
    if (!isLockError(error)) throw cannotOpen(path, error);
    throw lockTimeout(db.name, busyTimeoutMs, 'open', performance.now() - opening, error);
  }
}
