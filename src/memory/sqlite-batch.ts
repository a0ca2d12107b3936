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
import { checkPhaseSlice } from '../internal/check-phase.js';
import { isLockError } from './sqlite-locks.js';

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
  /**
   * Runs the write: bare inside the batch's transaction (`true`), or as a transaction of
   * its own (`false`; a savepoint when the batch's transaction is open).
   */
  readonly write: (inBatch: boolean) => unknown;
  /** Told the write's value once it is committed, before its promise settles. */
  readonly committed: ((value: unknown) => void) | undefined;
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
 * How long writes one by one (after a batch that could not commit) may hold the event loop
 * (ms), and those of the lock queue. A batch takes its slice of the check phase's budget
 * (check-phase.ts), shared with the orchestrators' turns: the writes past it commit in the
 * next turn, so timers, cancels and other runs go on meanwhile.
 */
export const BATCH_SLICE_MS = 10;

/**
 * Counts the writes of the current turn and commits those past
 * {@link IMMEDIATE_WRITES_PER_TURN} together when the turn ends. Inside the batch's
 * transaction the writes run bare, with no savepoint each (two statements a write). When
 * one throws (a lease refusal, a value it cannot store), the batch rolls back and commits
 * again, the writes before it bare and it and those after it in a savepoint each: one
 * refusal takes back only itself, and the others still share a commit. When the batch
 * cannot commit at all (a lock, failed I/O), each write runs as its own transaction, in
 * order, and from the first that meets a lock, the rest wait for it through `alone`.
 */
export class TurnBatch {
  #writes = 0;
  #waiting: Waiting[] = [];
  /** Held (see {@link hold}): writes wait, and nothing commits. */
  #held = false;
  /** The write the batch's transaction is running; -1 before the first and once all ran (its COMMIT). */
  #at = -1;
  /** Commits `waiting` (from `savepointsFrom` on, each in a savepoint) until `until`, but at least through `through`. */
  readonly #commit: (
    waiting: readonly Waiting[],
    savepointsFrom: number,
    until: number,
    through: number,
  ) => unknown[];
  readonly #alone: (operation: string, write: () => unknown, lockError: unknown) => Promise<unknown>;

  /**
   * @param alone runs a write that met a lock as its own transaction, queued behind those
   * already waiting; `lockError` is the lock its first try met (`undefined`: none yet).
   */
  constructor(
    db: Database.Database,
    alone: (operation: string, write: () => unknown, lockError: unknown) => Promise<unknown>,
  ) {
    this.#alone = alone;
    this.#commit = db.transaction(
      (waiting: readonly Waiting[], savepointsFrom: number, until: number, through: number) => {
        const outcomes: unknown[] = [];
        for (let i = 0; i < waiting.length; i++) {
          const { write } = waiting[i] as Waiting;
          this.#at = i;
          outcomes.push(i < savepointsFrom ? write(true) : inSavepoint(db, write));
          if (i >= through && performance.now() > until) break;
        }
        this.#at = -1;
        return outcomes;
      },
    ).immediate;
  }

  /** Counts a write made now; `true` when it runs at once, `false` when it must {@link join} the batch. */
  admit(): boolean {
    if (this.#writes++ === 0) setImmediate(this.#endTurn);
    return this.#writes <= IMMEDIATE_WRITES_PER_TURN && !this.#held;
  }

  /**
   * From now on every write joins the batch, and the batch does not commit until
   * {@link release} (the WAL thread is copying the log: the next commit then restarts it).
   * `flush(true)` still commits.
   */
  hold(): void {
    this.#held = true;
  }

  /** Ends a {@link hold}: what waits commits in the next check phase, within its budget. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    // Until then, new writes join the batch: none commits ahead of those held.
    if (this.#waiting.length > 0) this.#writes = IMMEDIATE_WRITES_PER_TURN;
    setImmediate(this.#endTurn);
  }

  /**
   * Queues `write` for the commit at the end of this turn; settles with its value or error.
   * `write(true)` runs bare inside the batch's transaction, `write(false)` as a transaction
   * of its own (a savepoint inside the batch's). `committed` is told the value as soon as it
   * is committed, before the promise settles (a `close()` that flushes the batch sees its
   * effect at once).
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
   * Commits the writes waiting now (the turn ended), a slice of the check phase's budget
   * a turn, none while held; `all`: every one of them now, slice after slice, held or not
   * (the database is about to close).
   */
  flush(all = false): void {
    if (this.#held && !all) return;
    for (;;) {
      const waiting = this.#waiting;
      if (waiting.length === 0) return;
      this.#waiting = [];
      const settled = this.#commitSlice(waiting);
      if (settled === waiting.length) return;
      // The rest go first in the next slice, ahead of the writes made meanwhile.
      this.#waiting = waiting.slice(settled).concat(this.#waiting);
      if (!all) {
        this.#writes = IMMEDIATE_WRITES_PER_TURN; // until then, new writes join the batch: in order
        setImmediate(this.#endTurn);
        return;
      }
    }
  }

  /** Commits as many of `waiting` as fit in a slice, settles each, and says how many it settled. */
  #commitSlice(waiting: readonly Waiting[]): number {
    // A refusal's second commit shares the first one's slice; the one-by-one path, which
    // follows a batch that could not commit at all, has its own (else under load it would
    // run one write a slice, trying the whole batch again before each).
    const outcomes = this.#tryCommit(waiting, performance.now() + checkPhaseSlice());
    if (outcomes === undefined) return this.#oneByOne(waiting, performance.now() + BATCH_SLICE_MS);
    for (let i = 0; i < outcomes.length; i++) settle(waiting[i] as Waiting, outcomes[i]);
    return outcomes.length;
  }

  /** The batch's outcomes, or `undefined` when it could not commit (nothing of it is stored). */
  #tryCommit(waiting: readonly Waiting[], until: number): unknown[] | undefined {
    this.#at = -1;
    try {
      return this.#commit(waiting, waiting.length, until, 0);
    } catch (error) {
      const at = this.#at;
      if (at < 0 || isLockError(error)) return undefined;
      // Write `at` threw and took the batch back with it: again, a savepoint from it on.
      this.#at = -1;
      try {
        // The writes before `at` fit in this slice once: they run again, past its end if need be.
        return this.#commit(waiting, at, until, at);
      } catch {
        return undefined;
      }
    }
  }

  /**
   * Runs the writes as their own transactions, in order, within a slice; from the first
   * that meets a lock, it and the rest wait for the lock through `alone`, in order.
   */
  #oneByOne(waiting: readonly Waiting[], until: number): number {
    for (let i = 0; i < waiting.length; ) {
      const w = waiting[i] as Waiting;
      try {
        settle(w, w.write(false));
      } catch (error) {
        if (isLockError(error)) return this.#queue(waiting, i, error);
        w.reject(error);
      }
      i++;
      if (performance.now() > until) return i;
    }
    return waiting.length;
  }

  /** Hands `waiting[from…]` to `alone`, in order; the first met `lockError`. */
  #queue(waiting: readonly Waiting[], from: number, lockError: unknown): number {
    for (let i = from; i < waiting.length; i++) {
      const w = waiting[i] as Waiting;
      // Its hook is told in the attempt that commits, not a microtask later: a close() then sees it.
      const attempt = () => {
        const value = w.write(false);
        w.committed?.(value);
        return value;
      };
      this.#alone(w.operation, attempt, i === from ? lockError : undefined).then(w.resolve, w.reject);
    }
    return waiting.length;
  }

  readonly #endTurn = (): void => {
    this.#writes = 0;
    this.flush();
  };
}

/**
 * Runs `write` in a savepoint of the batch's transaction: a throw rolls back only its own
 * statements, and becomes its {@link Refused} outcome. When SQLite rolled the whole
 * transaction back (`SQLITE_FULL`, I/O) or a lock was met, the batch cannot go on: it throws.
 */
function inSavepoint(db: Database.Database, write: (inBatch: boolean) => unknown): unknown {
  try {
    return write(false);
  } catch (error) {
    if (!db.inTransaction || isLockError(error)) throw error;
    return new Refused(error);
  }
}

/** Settles a write with its outcome, telling its committed hook first. */
function settle(w: Waiting, outcome: unknown): void {
  if (outcome instanceof Refused) {
    w.reject(outcome.error);
    return;
  }
  w.committed?.(outcome);
  w.resolve(outcome);
}
