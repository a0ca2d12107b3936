/**
 * Group commit for `SqliteMemory`: thousands of runs starting, checkpointing or ending in
 * the same turn of the event loop share one transaction instead of committing one each.
 * @internal
 * @module
 */
// From node:timers, not the global: a test's fake timers (which replace the global) must
// not hold the commit of checkpoints a run is waiting for.
import { AsyncResource } from 'node:async_hooks';
import { setImmediate as timersSetImmediate } from 'node:timers';
import type Database from 'better-sqlite3';
import { checkPhaseSlice } from '../internal/check-phase.js';
import { type Failed, inSavepoint, settle, type Waiting } from './sqlite-batch-write.js';
import { isLockError } from './sqlite-locks.js';
import { REFUSED, type RemoteWrite, type ThreadReply, type WriteThread } from './sqlite-write-thread.js';

/** No write thread: what starting one gives when the adapter has none. */
const noThread = (): undefined => undefined;

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

/**
 * The fewest writes a batch sends to the write thread while none is there: a smaller one
 * commits on the connection, in the turn (256 writes take ~1 ms), where the thread's
 * answer comes a turn or more later, after the grace a cancelled run's writes get.
 */
export const THREAD_MIN_WRITES = 256;

/**
 * How long writes one by one (after a batch that could not commit) or in the lock queue may
 * hold the event loop (ms), and the least a batch for the thread gets to be made JSON (the
 * rest of the check phase's share let 10,000 runs' stages outrun their writes). The writes
 * past a slice go in the next turn, so timers, cancels and other runs go on meanwhile.
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
  /** An end of turn is queued (see {@link #endTurnLater}). */
  #endQueued = false;
  /** Held (see {@link hold}): writes wait, and nothing commits. */
  #held = false;
  /** Starts the write thread (`writeThread`) when a batch first needs it; `undefined`: none. */
  #start: (() => WriteThread | undefined) | undefined;
  /** The write thread once started; `undefined`: batches commit on the connection. */
  #thread: WriteThread | undefined;
  /** Batches in the thread: the connection's writes wait for their answers (their lock). */
  #inThread = 0;
  /** A batch went to the thread in part: its rest go there too, in the next turns. */
  #slicing = false;
  /** Batches the thread could not commit, in the order sent: committed here once all are answered. */
  #failed: Waiting[] = [];
  /** Writes the thread found refused: run here once all are answered, for their errors (no lock met). */
  #refused: Waiting[] = [];
  /** Told once no batch is in the thread (see {@link settled}); while any waits, none is sent. */
  #whenSettled: (() => void)[] = [];
  /** The async context the thread's answers come in: the adapter's, not a run's. */
  #context: AsyncResource | undefined;
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
  readonly #failure: Failed;

  /**
   * @param alone runs a write that met a lock as its own transaction, queued behind those
   * already waiting; `lockError` is the lock its first try met (`undefined`: none yet).
   * @param failed makes a write's error what its promise rejects with (a damaged file, named).
   */
  constructor(
    db: Database.Database,
    alone: (operation: string, write: () => unknown, lockError: unknown) => Promise<unknown>,
    failed: Failed = (_operation, error) => error,
  ) {
    this.#alone = alone;
    this.#failure = failed;
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

  /** Commits the batches of {@link THREAD_MIN_WRITES} or more in the thread `start` makes, once one comes. */
  useThread(start: () => WriteThread | undefined): void {
    this.#start = start;
    this.#context = new AsyncResource('MacroSqliteWriteThread');
  }

  /** Ends the write thread, if one started; settles once it has. Call with no batch in it. */
  closeThread(): Promise<void> {
    this.#start = undefined;
    return this.#thread?.close() ?? Promise.resolve();
  }

  /** A batch is in the write thread: a write now would meet its lock, and must {@link join} the next batch. */
  get sent(): boolean {
    return this.#inThread > 0;
  }

  /**
   * Settles once no batch is in the write thread (at once when none is); until then no
   * batch is sent, so it comes: a write of the connection's own waits for it.
   */
  settled(): Promise<void> {
    if (this.#inThread === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenSettled.push(resolve));
  }

  /** Counts a write made now; `true` when it runs at once, `false` when it must {@link join} the batch. */
  admit(): boolean {
    if (this.#writes++ === 0) this.#endTurnLater();
    return this.#writes <= IMMEDIATE_WRITES_PER_TURN && !this.#held && this.#inThread === 0;
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
    this.#endTurnLater();
  }

  /**
   * Queues `write` for the commit at the end of this turn; settles with its value or error.
   * `write(true)` runs bare inside the batch's transaction, `write(false)` as a transaction
   * of its own (a savepoint inside the batch's). `committed` is told the value as soon as it
   * is committed, before the promise settles (a `close()` that flushes the batch sees its
   * effect at once).
   */
  join<T>(
    operation: string,
    write: (inBatch: boolean) => T,
    committed?: (value: T) => void,
    remote?: () => RemoteWrite,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({
        operation,
        write,
        committed: committed as ((value: unknown) => void) | undefined,
        remote,
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
      const taken = all ? 0 : this.#send(waiting);
      if (taken > 0) {
        // The rest go first in the next slice, ahead of the writes made meanwhile.
        this.#waiting = waiting.slice(taken);
        if (this.#waiting.length > 0) {
          this.#writes = IMMEDIATE_WRITES_PER_TURN;
          this.#endTurnLater();
        }
        return;
      }
      if (this.#inThread > 0 && !all) return; // here, on the connection, once the thread's batches (its lock) are answered
      this.#waiting = [];
      const settled = this.#commitSlice(waiting);
      if (settled === waiting.length) return;
      // The rest go first in the next slice, ahead of the writes made meanwhile.
      this.#waiting = waiting.slice(settled).concat(this.#waiting);
      if (!all) {
        this.#writes = IMMEDIATE_WRITES_PER_TURN; // until then, new writes join the batch: in order
        this.#endTurnLater();
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
    for (let i = 0; i < outcomes.length; i++) settle(waiting[i] as Waiting, outcomes[i], this.#failure);
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
        settle(w, w.write(false), this.#failure);
      } catch (error) {
        if (isLockError(error)) return this.#queue(waiting, i, error);
        w.reject(this.#failure(w.operation, error));
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

  /**
   * Sends to the thread what of `waiting` a slice ({@link BATCH_SLICE_MS}) makes JSON of (its
   * writes' JSON is made now, and 10,000 results at once held the loop ~150 ms); says how
   * many it took: none when they commit here (too few, the thread is down, a write of the
   * connection's own waits, or one of them has no form the thread runs). A write whose JSON
   * throws runs here once no batch is in the thread, and rejects so.
   */
  #send(waiting: readonly Waiting[]): number {
    if (this.#whenSettled.length > 0 || (waiting.length < THREAD_MIN_WRITES && !this.#slicing)) return 0;
    if (this.#thread === undefined) {
      // Made in the adapter's async context: its answers (and what they settle) run in it.
      this.#thread = this.#context?.runInAsyncScope(this.#start ?? noThread);
      this.#start = undefined;
    }
    const thread = this.#thread;
    if (thread === undefined || thread.dead) return 0;
    for (const w of waiting) if (w.remote === undefined) return 0; // a lease renewal, a claim…: here
    const until = performance.now() + checkPhaseSlice(BATCH_SLICE_MS);
    const writes: RemoteWrite[] = [];
    const sent: Waiting[] = [];
    const refused = this.#refused.length;
    let taken = 0;
    while (taken < waiting.length) {
      const w = waiting[taken++] as Waiting;
      try {
        writes.push((w.remote as () => RemoteWrite)());
        sent.push(w);
      } catch {
        this.#refused.push(w); // runs here, once no batch is in the thread: it rejects as it would
      }
      if (performance.now() > until) break;
    }
    this.#slicing = taken < waiting.length; // the rest go to the thread too, however few
    if (sent.length > 0) {
      try {
        thread.send(writes, (reply) => this.#answered(sent, reply));
        this.#inThread++;
      } catch {
        // Not sent (a value structured clone refuses, given to the adapter directly): the slice
        // runs here, in order, each write its own transaction, once no batch is in the thread.
        this.#refused.length = refused;
        for (let i = 0; i < taken; i++) this.#refused.push(waiting[i] as Waiting);
      }
    }
    if (this.#inThread === 0) {
      for (const w of this.#refused.splice(0)) this.#again(w);
    }
    return taken;
  }

  /**
   * Settles a batch the thread answered. Once every batch is answered: the refused writes
   * run here (for their own errors), then the batches the thread could not commit (after
   * a failure it commits none, until told to resume: they stay in order), then the
   * connection's own writes that waited.
   */
  #answered(waiting: Waiting[], reply: ThreadReply): void {
    this.#inThread--;
    if (!Array.isArray(reply)) {
      for (const w of waiting) this.#failed.push(w);
    } else {
      for (let i = 0; i < waiting.length; i++) {
        const w = waiting[i] as Waiting;
        const outcome: unknown = reply[i];
        if (outcome === REFUSED) this.#refused.push(w);
        else settle(w, outcome, this.#failure);
      }
    }
    if (this.#inThread > 0) return;
    const refused = this.#refused;
    this.#refused = [];
    for (const w of refused) this.#again(w);
    if (this.#failed.length > 0) {
      this.#waiting = this.#failed.concat(this.#waiting);
      this.#failed = [];
      this.#thread?.resume();
      this.flush(true); // the failure path (a lock elsewhere): all of it, in order, before what waited
    }
    for (const resolve of this.#whenSettled.splice(0)) resolve();
    // What waited meanwhile commits in the next check phase (the answer came in the poll phase).
    if (this.#waiting.length > 0 && !this.#held) {
      this.#writes = IMMEDIATE_WRITES_PER_TURN;
      this.#endTurnLater();
    }
  }

  /** Runs a write the thread found refused on the connection: it rejects with the refusal's own error. */
  #again(w: Waiting): void {
    try {
      settle(w, w.write(false), this.#failure);
    } catch (error) {
      if (isLockError(error)) this.#queue([w], 0, error);
      else w.reject(this.#failure(w.operation, error));
    }
  }

  /** Has the batch commit in the next check phase: one queued at most, so one slice a phase. */
  #endTurnLater(): void {
    if (!this.#endQueued) setImmediate(this.#endTurn);
    this.#endQueued = true;
  }

  readonly #endTurn = (): void => {
    this.#endQueued = false;
    this.#writes = 0;
    this.flush();
  };
}
