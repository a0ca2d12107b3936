/**
 * Group commit for `SqliteMemory`: thousands of runs starting, checkpointing or ending in
 * the same turn of the event loop share one transaction instead of committing one each.
 * @internal
 * @module
 */
// From node:timers, not the global: a test's fake timers (which replace the global) must
// not hold the commit of checkpoints a run is waiting for.
import { setImmediate as timersSetImmediate } from 'node:timers';
import type Database from 'better-sqlite3';

/** Node's own, taken when the module loads: fake timers that patch `timers` later cannot capture it. */
const setImmediate = timersSetImmediate;

/**
 * Writes a turn makes at once, each its own transaction, before the next ones wait for
 * the turn's end to commit together. A single run's writes stay immediate; under load, a
 * turn's checkpoints, run headers and results cost one commit (at 10,000 concurrent runs,
 * a commit each was 60% of the time). The result of a cancelled or timed-out run, audit
 * appends and lease claims and renewals run at once: such a run's result is stored within
 * the turn its grace allows, and a lease is held as soon as it is taken.
 */
export const IMMEDIATE_WRITES_PER_TURN = 8;

interface Waiting {
  readonly operation: string;
  /** Runs the write: inside the batch's transaction (`true`), or as its own (`false`). */
  readonly write: (inBatch: boolean) => unknown;
  /** Told the write's value once it is committed, before its promise settles. */
  readonly committed: ((value: unknown) => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How long one batch transaction may hold the event loop (ms): the writes past it commit
 * in the next turn, so timers, cancels and other runs go on meanwhile.
 */
export const BATCH_SLICE_MS = 10;

/**
 * Counts the writes of the current turn and commits those past
 * {@link IMMEDIATE_WRITES_PER_TURN} together when the turn ends. Inside the batch's
 * transaction the writes run bare, with no savepoint each (two statements a write). When
 * one throws (a lease refusal, a lock, failed I/O), nothing of the batch is stored, and
 * every write of it is tried again as its own transaction through `alone`, in order: each
 * ends as it would have alone, and one refusal takes back only itself.
 */
export class TurnBatch {
  #writes = 0;
  #waiting: Waiting[] = [];
  readonly #commit: (waiting: readonly Waiting[]) => unknown[];
  readonly #alone: (operation: string, write: () => unknown) => Promise<unknown>;

  constructor(db: Database.Database, alone: (operation: string, write: () => unknown) => Promise<unknown>) {
    this.#alone = alone;
    this.#commit = db.transaction((waiting: readonly Waiting[]) => {
      const values: unknown[] = [];
      const until = performance.now() + BATCH_SLICE_MS;
      for (const { write } of waiting) {
        values.push(write(true)); // a throw rolls the whole batch back (see flush)
        if (performance.now() > until) break;
      }
      return values;
    }).immediate;
  }

  /** Counts a write made now; `true` when it runs at once, `false` when it must {@link join} the batch. */
  admit(): boolean {
    if (this.#writes++ === 0) setImmediate(this.#endTurn);
    return this.#writes <= IMMEDIATE_WRITES_PER_TURN;
  }

  /**
   * Queues `write` for the commit at the end of this turn; settles with its value or error.
   * `write(true)` runs inside the batch's transaction, `write(false)` as a transaction of its
   * own. `committed` is told the value as soon as it is committed, before the promise settles
   * (a `close()` that flushes the batch sees its effect at once).
   */
  join<T>(operation: string, write: (inBatch: boolean) => T, committed?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({
        operation,
        write,
        committed: committed as ((value: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
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
      let values: unknown[];
      try {
        values = this.#commit(waiting);
      } catch {
        for (const w of waiting) {
          const committed = w.committed;
          const alone = this.#alone(w.operation, () => w.write(false));
          (committed === undefined ? alone : alone.then(tell(committed))).then(w.resolve, w.reject);
        }
        return;
      }
      for (let i = 0; i < values.length; i++) {
        const w = waiting[i] as Waiting;
        w.committed?.(values[i]);
        w.resolve(values[i]);
      }
      if (values.length === waiting.length) return;
      // The rest go first in the next slice, ahead of the writes made meanwhile.
      this.#waiting = waiting.slice(values.length).concat(this.#waiting);
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

/** Passes a value on once `committed` has been told it. */
function tell(committed: (value: unknown) => void): (value: unknown) => unknown {
  return (value) => {
    committed(value);
    return value;
  };
}
