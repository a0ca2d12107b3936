/**
 * `SqliteMemory`: the embedded durable {@link MemoryAdapter}, on better-sqlite3. Import
 * it from `macro-orchestrator/sqlite`, so that `better-sqlite3` (an optional peer
 * dependency with a native build) is loaded only by those who use it. Its options,
 * schema, statements and lock handling are in the `sqlite-*.ts` files beside it.
 * @module
 */
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MacroError } from '../errors.js';
import { noop } from '../internal/noop.js';
import type { MacroResult } from '../model/result.js';
import {
  type ClaimStaleFilter,
  claimStaleOptions,
  endedBefore,
  listRunsOptions,
  runIdOf,
} from './call-arguments.js';
import { type ClaimStaleOptions, HeldLeases, leaseLost } from './lease.js';
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunSummary,
  StoredRun,
} from './memory-adapter.js';
import { TurnBatch } from './sqlite-batch.js';
import { afterClose, cannotClose, damaged, lockTimeout, openDatabase } from './sqlite-failure.js';
import { processSpace, type SqliteLeases, sqliteLeases } from './sqlite-leases.js';
import { LockQueue } from './sqlite-lock-queue.js';
import { isLockError } from './sqlite-locks.js';
import { parseOptions, type SqliteMemoryOptions } from './sqlite-options.js';
import { setUp } from './sqlite-schema.js';
import { SQL, type SqliteOperations, sqliteOperations } from './sqlite-statements.js';
import { finalCheckpoint, startWal, type WalCheckpointer } from './sqlite-wal.js';
import { type RemoteWrite, startWriteThread } from './sqlite-write-thread.js';
import { checkedHeader, checkedResult, invalidAudit, invalidCheckpoint } from './write-arguments.js';

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
  /** The statements' operations, each in its own transaction, and `inBatch` without one, for the turn's batch. */
  readonly #ops: SqliteOperations;
  /** Who holds the leases this adapter takes. */
  readonly owner: string;
  readonly #held: HeldLeases;
  readonly #leases: SqliteLeases;
  /** The writes waiting for a lock, or queued behind one. */
  readonly #locks: LockQueue;
  /** What a write's or read's error other than a lock becomes: a damaged file, named. */
  readonly #failed: (operation: string, error: unknown) => unknown;
  /** Commits a busy turn's checkpoints together (see {@link TurnBatch}). */
  readonly #batch: TurnBatch;
  /** Copies the WAL into the file from a thread (`walThread`); `undefined` in memory. */
  readonly #wal: WalCheckpointer | undefined;
  /** The batched writes as the write thread runs them (`writeThread`). */
  readonly #remote: SqliteOperations['remote'] | undefined;

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
   * anything is opened; `PERSISTENCE_FAILED` when the file cannot be opened or is no SQLite
   * database (naming it), when another connection's lock outlasted `busyTimeoutMs` while
   * setting up, or when the file's schema is newer than this code.
   */
  constructor(pathOrOptions?: string | SqliteMemoryOptions) {
    const options = parseOptions(pathOrOptions);
    this.#busyTimeoutMs = options.busyTimeoutMs;
    const db = openDatabase(options.path);
    this.db = db;
    setUp(db, options.path, options.synchronous, options.busyTimeoutMs);
    this.owner = options.owner;
    // A write's error other than a lock, on any path (at once, batched, queued): a damaged file named.
    const failed = (operation: string, error: unknown) => damaged(db.name, operation, error);
    this.#failed = failed;
    this.#locks = new LockQueue({
      busyTimeoutMs: options.busyTimeoutMs,
      isOpen: () => db.open,
      afterClose: (operation, cause) => afterClose(operation, cause),
      lockTimeout: (operation, waited, cause) => this.#lockTimeout(operation, waited, cause),
      failed,
    });
    this.#batch = new TurnBatch(db, (op, write, lock) => this.#locks.enqueue(op, write, lock), failed);
    const held = new HeldLeases(options.leaseMs, (runs) =>
      this.#write('renewLeases', this.#leases.renew, runs, Date.now()),
    );
    this.#held = held;
    const me = { owner: options.owner, leaseMs: options.leaseMs, pid: process.pid, host: processSpace() };
    const holder = {
      ...me,
      token: (runId: string) => held.token(runId),
      holds: (runId: string) => held.holds(runId),
    };
    this.#leases = sqliteLeases(db, holder);
    const ops = sqliteOperations(db, this.#leases, Date.now);
    this.#ops = ops;
    // Last: nothing after it throws, so a thread is never left behind by a failed constructor.
    const file = resolve(options.path); // now: the threads open it later, perhaps after a chdir
    this.#wal = options.walThread && !db.memory ? startWal(db, file, Database, this.#batch) : undefined;
    if (options.writeThread && !db.memory) {
      this.#batch.useThread(() => startWriteThread(db, file, Database, SQL));
      this.#remote = ops.remote;
    }
  }

  beginRun(given: RunHeader): Promise<void> {
    const header = checkedHeader('SqliteMemory', given); // a copy: its fields are read once
    if (header instanceof MacroError) return Promise.reject(header);
    if (!this.db.open) return this.#closed(header.runId, 'beginRun');
    if (this.#locks.idle && !this.#batch.admit()) {
      const { beginRun } = this.#ops.inBatch;
      const { runId } = header;
      const begin = this.#remote?.beginRun;
      const remote = begin === undefined ? undefined : () => begin(header);
      // Its token is known at once: the run's later writes in the batch's transaction pass the fence.
      const write = (inBatch: boolean) =>
        this.#held.taken(runId, (inBatch ? beginRun : this.#ops.beginRun)(header));
      return this.#batch.join('beginRun', write, (token) => this.#held.hold(runId, token), remote).then(noop);
    }
    // Held as soon as committed, not a microtask later: a close() right after gives it back.
    return this.#write('beginRun', this.#beginHeld, header);
  }

  /** Begins the run in its own transaction and holds its lease once committed. */
  readonly #beginHeld = (header: RunHeader): void => {
    this.#held.hold(header.runId, this.#ops.beginRun(header));
  };

  saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    const invalid = invalidCheckpoint('SqliteMemory', runId, checkpoint, audit);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (!this.db.open) return this.#closed(runId, 'saveCheckpoint');
    const { saveCheckpoint: write, inBatch } = this.#ops;
    const remote = this.#remote?.saveCheckpoint;
    return this.#writeInTurn(
      'saveCheckpoint',
      write,
      inBatch.saveCheckpoint,
      remote,
      runId,
      checkpoint,
      audit,
    );
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    return this.#read('loadRun', this.#ops.loadRun, runIdOf('SqliteMemory', 'loadRun', runId));
  }

  saveResult(given: MacroResult): Promise<void> {
    const result = checkedResult('SqliteMemory', given);
    if (result instanceof MacroError) return Promise.reject(result);
    if (!this.db.open) return this.#closed(result.runId, 'saveResult');
    // A cancelled or timed-out run waits one turn for its result (see withGrace): written at once.
    const saving =
      result.status === 'cancelled' || result.status === 'partial'
        ? this.#write('saveResult', this.#ops.saveResult, result)
        : this.#writeInTurn(
            'saveResult',
            this.#ops.saveResult,
            this.#ops.inBatch.saveResult,
            this.#remote?.saveResult,
            result,
          );
    return saving.then(() => this.#held.release(result.runId));
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    return this.#read('loadResult', this.#ops.loadResult, runIdOf('SqliteMemory', 'loadResult', runId));
  }

  appendAudit(records: readonly AuditRecord[]): Promise<void> {
    const invalid = invalidAudit('SqliteMemory.appendAudit', records);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.#write('appendAudit', this.#ops.appendAudit, records);
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    return this.#read('readAudit', this.#ops.readAudit, runIdOf('SqliteMemory', 'readAudit', runId));
  }

  /** @throws {MacroError} `INVALID_OPTIONS` for options `listRuns` cannot use (see {@link ListRunsOptions}). */
  async listRuns(options?: ListRunsOptions): Promise<RunSummary[]> {
    return this.#read('listRuns', this.#ops.listRuns, listRunsOptions('SqliteMemory', options));
  }

  /**
   * Takes the lease of a `running` or `suspended` run (see {@link MemoryAdapter.claimRun}):
   * free, expired, held by this adapter, or held by a process of this host that is gone.
   * @throws {MacroError} `RUN_LEASED` while another live owner holds it.
   */
  async claimRun(runId: string): Promise<void> {
    return this.#write('claimRun', this.#claimHeld, runIdOf('SqliteMemory', 'claimRun', runId), Date.now());
  }

  /** Claims the run and holds its lease at once (a close() right after gives it back). */
  readonly #claimHeld = (runId: string, now: number): void => {
    const token = this.#leases.claimRun(runId, now);
    if (token !== null) this.#held.hold(runId, token);
  };

  /**
   * Claims up to `limit` stale `running` runs, oldest first (see {@link MemoryAdapter.claimStale}).
   * @throws {MacroError} `INVALID_OPTIONS` for options it cannot use, before any claim.
   */
  async claimStale(options: ClaimStaleOptions): Promise<RunSummary[]> {
    return this.#write(
      'claimStale',
      this.#claimStaleHeld,
      claimStaleOptions('SqliteMemory', options),
      Date.now(),
    );
  }

  readonly #claimStaleHeld = (options: ClaimStaleFilter, now: number): RunSummary[] =>
    this.#leases.claimStale(options, now).map(({ summary, token }) => {
      this.#held.hold(summary.runId, token);
      return summary;
    });

  /** Gives back the lease of `runId` if this adapter holds it (see {@link MemoryAdapter.releaseRun}). */
  async releaseRun(runId: string): Promise<void> {
    const token = this.#held.holds(runId) ? this.#held.token(runId) : null;
    if (token === null) return;
    this.#held.release(runId);
    await this.#write('releaseRun', this.#leases.release, new Map([[runId, token]]));
  }

  /** Renews every lease held now (the heartbeat does this every third of `leaseMs`). */
  renewLeases(): Promise<void> {
    return this.#held.beat();
  }

  /** Deletes a run with its checkpoints and audit trail; resolves to true when it existed. */
  async deleteRun(runId: string): Promise<boolean> {
    return this.#write('deleteRun', this.#ops.deleteRun, runIdOf('SqliteMemory', 'deleteRun', runId));
  }

  /**
   * Retention: deletes every finished run that ended before `endedBefore` (epoch ms),
   * with its checkpoints and audit trail, in one transaction. Runs still `running`, and
   * `suspended` ones (waiting for a resume), are kept. Resolves to how many were deleted.
   */
  async prune(options: { endedBefore: number }): Promise<number> {
    return this.#write('prune', this.#ops.prune, endedBefore('SqliteMemory', options));
  }

  /**
   * Closes the database. The adapter cannot be used afterwards: a call then, or one still
   * waiting for a lock, rejects with `PERSISTENCE_FAILED` ("… after close()"), or with
   * `LEASE_LOST` for a write of a run whose lease it held. The file is whole once close()
   * returns (with a batch in the write thread, once that batch is answered: close() waits
   * for it first); the promise settles once no connection of this adapter is open on it (its
   * checkpoint thread closes its own after this one): await it before moving or deleting
   * the file. Called while the connection is busy (from inside an iteration over `db`), it
   * rejects with `PERSISTENCE_FAILED`, the driver's error the cause, and the connection
   * stays open: call it again once the iteration is over.
   */
  close(): Promise<void> {
    // A batch in the thread is answered first: its writes are stored or written here.
    if (this.#batch.sent) return this.#batch.settled().then(() => this.close());
    try {
      this.#closeConnection();
    } catch (error) {
      return Promise.reject(cannotClose(this.db.name, error));
    }
    // Told only now: two connections closing at once may each see the other, and neither
    // would then remove the log as the last one.
    const wal = this.#wal;
    return this.#batch.closeThread().then(() => wal?.close());
  }

  /** Writes what is batched, gives the leases back, copies the log in and closes the connection. */
  #closeConnection(): void {
    // Throws while the connection is busy (an iteration over db is open), before the batch
    // is written or a lease given back: a close() called again after the loop still has both.
    if (this.db.open) this.db.exec(''); // not a read: better-sqlite3 lets reads run in an iteration
    if (this.db.open) this.#batch.flush(true);
    this.#held.close();
    const held = this.#held.snapshot();
    try {
      // The leases still held go back, so another process can take their runs over at once.
      if (held.size > 0 && this.db.open) this.#leases.release(held);
    } catch {
      // Locked or closed: the leases expire instead.
    }
    for (const runId of held.keys()) this.#held.release(runId);
    // The thread closes its connection after this one: copy the log into the file now, so
    // the file is whole once close() returns (SQLite does it for the last connection only).
    if (this.#wal !== undefined && this.db.open) finalCheckpoint(this.db, this.#busyTimeoutMs);
    if (this.db.open) this.db.close();
  }

  /**
   * Runs a write transaction at once, unless writes are already waiting for a lock:
   * then, or when it meets a lock itself, it joins the end of their queue. The common
   * case costs a try/catch and a resolved promise.
   */
  #write<A, B, C, T>(operation: string, write: (a: A, b: B, c: C) => T, a: A, b?: B, c?: C): Promise<T> {
    if (!this.db.open) return Promise.reject(afterClose(operation));
    // A batch in the thread holds the write lock: after it (none is sent meanwhile), as its own transaction.
    if (this.#batch.sent) return this.#batch.settled().then(() => this.#write(operation, write, a, b, c));
    if (this.#locks.idle) {
      try {
        return Promise.resolve(write(a, b as B, c as C));
      } catch (error) {
        if (!isLockError(error)) return Promise.reject(this.#failed(operation, error));
        return this.#locks.enqueue(operation, () => write(a, b as B, c as C), error);
      }
    }
    return this.#locks.enqueue(operation, () => write(a, b as B, c as C), undefined);
  }

  /**
   * As {@link #write}, but past the first few writes of a turn, the write commits with the
   * others when the turn ends (TurnBatch: `bare` runs inside its transaction, or `write` on
   * its own if the batch fails): at 10,000 runs, a commit each was most of the time.
   */
  #writeInTurn<A, B, C, T>(
    operation: string,
    write: (a: A, b: B, c: C) => T,
    bare: (a: A, b: B, c: C) => T,
    remote: ((a: A, b: B, c: C) => RemoteWrite) | undefined,
    a: A,
    b?: B,
    c?: C,
  ): Promise<T> {
    if (!this.#locks.idle || this.#batch.admit()) return this.#write(operation, write, a, b, c);
    const inThread = remote === undefined ? undefined : () => remote(a, b as B, c as C);
    const here = (inBatch: boolean) => (inBatch ? bare : write)(a, b as B, c as C);
    return this.#batch.join(operation, here, undefined, inThread);
  }

  /** Runs a read at once; when it meets a lock, tries again as queued writes do. Reads never queue. */
  #read<A, T>(operation: string, read: (a: A) => T, a: A): Promise<T> {
    if (!this.db.open) return Promise.reject(afterClose(operation));
    try {
      return Promise.resolve(read(a));
    } catch (error) {
      if (!isLockError(error)) return Promise.reject(this.#failed(operation, error));
      return this.#locks.retry(operation, () => read(a), performance.now(), error);
    }
  }

  /**
   * A write after close(): for a run whose lease this adapter had, `LEASE_LOST` (it gave
   * the lease back on close, and the run stops); otherwise {@link afterClose}.
   */
  #closed(runId: string, operation: string): Promise<never> {
    if (this.#held.token(runId) !== null) return Promise.reject(leaseLost(runId, operation, this.owner));
    return Promise.reject(afterClose(operation));
  }

  #lockTimeout(operation: string, waitedMs: number, cause: unknown): MacroError {
    return lockTimeout(this.db.name, this.#busyTimeoutMs, operation, waitedMs, cause);
  }
}
