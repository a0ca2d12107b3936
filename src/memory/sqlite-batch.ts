/**
 * Group commit for `SqliteMemory`: thousands of runs checkpointing in the same turn of the
 * event loop share one transaction instead of committing one each.
 * @internal
 * @module
 */
// From node:timers, not the global: a test's fake timers (which replace the global) must
// not hold the commit of checkpoints a run is waiting for.
import { setImmediate } from 'node:timers';
import type Database from 'better-sqlite3';
import { isLockError } from './sqlite-locks.js';

/**
 * Checkpoints a turn writes at once, each its own transaction, before the next ones wait
 * for the turn's end to commit together. A single run's checkpoints (one per stage) stay
 * immediate; under load, a turn's checkpoints cost one commit (at 10,000 concurrent runs,
 * a commit each was 60% of the time). Only checkpoints are batched: a run's first and
 * final writes (header, audit, result) and lease claims run at once, so a cancelled run's
 * result is stored within the turn its grace allows, and a lease is held as soon as taken.
 */
export const IMMEDIATE_WRITES_PER_TURN = 8;

interface Waiting {
  readonly operation: string;
  readonly write: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How long one batch transaction may hold the event loop (ms): the writes past it commit
 * in the next turn, so timers, cancels and other runs go on meanwhile.
 */
export const BATCH_SLICE_MS = 10;

/** The outcome of one write of a batch: its value, or what it threw. */
type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/**
 * Counts the writes of the current turn and commits those past
 * {@link IMMEDIATE_WRITES_PER_TURN} together when the turn ends. Each write is a
 * better-sqlite3 transaction function: inside the batch's transaction it runs in a
 * savepoint of its own, so one that throws (a lease refusal) takes back only itself.
 * When the batch as a whole fails (another connection holds the lock, or I/O failed),
 * nothing of it is stored, and every write is tried again on its own through `alone`.
 */
export class TurnBatch {
  #writes = 0;
  #waiting: Waiting[] = [];
  readonly #commit: (waiting: readonly Waiting[]) => Outcome[];
  readonly #alone: (operation: string, write: () => unknown) => Promise<unknown>;

  constructor(db: Database.Database, alone: (operation: string, write: () => unknown) => Promise<unknown>) {
    this.#alone = alone;
    this.#commit = db.transaction((waiting: readonly Waiting[]) => {
      const outcomes: Outcome[] = [];
      const until = performance.now() + BATCH_SLICE_MS;
      for (const { write } of waiting) {
        try {
          outcomes.push({ ok: true, value: write() });
        } catch (error) {
          // A lock, or an error after which SQLite rolled the whole transaction back
          // (SQLITE_FULL, IOERR, NOMEM): the whole batch goes back, to be tried write by write.
          if (isLockError(error) || !db.inTransaction) throw error;
          outcomes.push({ ok: false, error });
        }
        if (performance.now() > until) break;
      }
      return outcomes;
    }).immediate;
  }

  /** Counts a write made now; `true` when it runs at once, `false` when it must {@link join} the batch. */
  admit(): boolean {
    if (this.#writes++ === 0) setImmediate(this.#endTurn);
    return this.#writes <= IMMEDIATE_WRITES_PER_TURN;
  }

  /** Queues `write` for the commit at the end of this turn; settles with its value or error. */
  join<T>(operation: string, write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ operation, write, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /**
   * Commits the writes waiting now (the turn ended), in slices of {@link BATCH_SLICE_MS}
   * a turn; `all`: every one of them now, slice after slice (the database is about to close).
   */
  flush(all = false): void {
    for (;;) {
      const waiting = this.#waiting;
      if (waiting.length === 0) return;
      this.#waiting = [];
      let outcomes: Outcome[];
      try {
        outcomes = this.#commit(waiting);
      } catch {
        for (const w of waiting) this.#alone(w.operation, w.write).then(w.resolve, w.reject);
        return;
      }
      for (let i = 0; i < outcomes.length; i++) {
        const outcome = outcomes[i] as Outcome;
        const w = waiting[i] as Waiting;
        if (outcome.ok) w.resolve(outcome.value);
        else w.reject(outcome.error);
      }
      if (outcomes.length === waiting.length) return;
      // The rest go first in the next slice, ahead of the writes made meanwhile.
      this.#waiting = waiting.slice(outcomes.length).concat(this.#waiting);
      if (!all) {
        this.#writes = IMMEDIATE_WRITES_PER_TURN; // until then, new writes join the batch: in order
        setImmediate(this.#endTurn);
        return;
      }
    }
  }

  readonly #endTurn = (): void => {
    this.#writes = 0;
    this.flush();
  };
}
