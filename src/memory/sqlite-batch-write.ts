/**
 * A write waiting in SQLite's group commit (`TurnBatch`), and how it settles.
 * @internal
 * @module
 */
import type Database from 'better-sqlite3';
import { isLockError } from './sqlite-locks.js';
import type { RemoteWrite } from './sqlite-write-thread.js';

/** A write of a turn's batch and its promise. */
export interface Waiting {
  readonly operation: string;
  /**
   * Runs the write: bare inside the batch's transaction (`true`), or as a transaction of
   * its own (`false`; a savepoint when the batch's transaction is open).
   */
  readonly write: (inBatch: boolean) => unknown;
  /** Told the write's value once it is committed, before its promise settles. */
  readonly committed: ((value: unknown) => void) | undefined;
  /** Makes the write as the write thread runs it (its JSON); `undefined`: it commits on the adapter's connection only. */
  readonly remote: (() => RemoteWrite) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What a write that threw in its savepoint inside the batch left: its error, for its promise. */
class Refused {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * Runs `write` in a savepoint of the batch's transaction: a throw rolls back only its own
 * statements, and becomes its {@link Refused} outcome. When SQLite rolled the whole
 * transaction back (`SQLITE_FULL`, I/O) or a lock was met, the batch cannot go on: it throws.
 */
export function inSavepoint(db: Database.Database, write: (inBatch: boolean) => unknown): unknown {
  try {
    return write(false);
  } catch (error) {
    if (!db.inTransaction || isLockError(error)) throw error;
    return new Refused(error);
  }
}

/** What a write's error becomes before it rejects its promise (a damaged file, named: `SqliteMemory`'s). */
export type Failed = (operation: string, error: unknown) => unknown;

/** Settles a write with its outcome, telling its committed hook first; an error as `failed` makes it. */
export function settle(w: Waiting, outcome: unknown, failed: Failed): void {
  if (outcome instanceof Refused) {
    w.reject(failed(w.operation, outcome.error));
    return;
  }
  w.committed?.(outcome);
  w.resolve(outcome);
}
