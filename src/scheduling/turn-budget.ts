/**
 * Keeps the event loop responsive under many concurrent runs: once the engine's work in
 * one turn of the event loop has run for its budget, the stages that go on in that turn
 * wait for the next one, in the order they came.
 * @module
 */

/** Something whose next step may wait for a later turn of the event loop. */
export interface Continuation {
  /** Takes the next step; must not throw. */
  proceed(): void;
}

/** The engine's work in one turn, in ms, before stages that go on wait for the next turn. */
export const TURN_BUDGET_MS = 10;

/** Stages that may go on before the clock is read again: a reading is ~40 ns, a stage ~2 µs. */
const CHECK_EVERY = 32;

/**
 * The turn budget of one orchestrator. Without it, 10,000 runs whose agents answer
 * together go on in one turn (their next stages start from the answers' callbacks), and
 * the loop stays blocked for hundreds of milliseconds; with it, a turn takes the
 * continuations that fit in {@link TURN_BUDGET_MS} and the rest go on in the turns after.
 *
 * The clock and the turns are the globals `Date.now` and `setImmediate` at the time of
 * the call: under a test's fake timers the clock stands still within a turn, so nothing
 * waits, and a turn is never left to timers that have been replaced since.
 */
export class TurnBudget {
  /** When the engine's work in this turn began; NaN while no turn is open. */
  #openedAt = Number.NaN;
  /** Continuations let through since the clock was last read. */
  #sinceCheck = 0;
  /** Continuations waiting for a later turn, oldest first, from `#head` on. */
  #queue: Continuation[] = [];
  #head = 0;
  #pending: ReturnType<typeof setImmediate> | undefined = undefined;
  #scheduled: typeof setImmediate | undefined = undefined;
  readonly #live: { readonly size: number } | undefined;

  /**
   * `live`: the orchestrator's live runs. With one alone, its stages go on as a hand-written
   * loop's would: the budget is for sharing the loop among many runs. Without it, it always applies.
   */
  constructor(live?: { readonly size: number }) {
    this.#live = live;
  }

  /**
   * True when `next` may go on now; false when it was queued for a later turn (the
   * turn's budget is spent, or others wait before it).
   */
  admit(next: Continuation): boolean {
    if (this.#fits()) return true;
    this.#queue.push(next);
    this.#schedule();
    return false;
  }

  /**
   * For a run about to start: undefined when it may start now, or a promise of the later
   * turn it starts in (10,000 runs started at once would otherwise all start in one turn).
   */
  wait(): Promise<void> | undefined {
    if (this.#fits()) return undefined;
    return new Promise<void>((proceed) => {
      this.#queue.push({ proceed });
      this.#schedule();
    });
  }

  /** Whether a continuation may go on now: none waits before it, and the turn's budget is not spent. */
  #fits(): boolean {
    if (this.#head !== this.#queue.length) return false;
    // One run alone shares the loop with no other run: it goes on as a hand-written loop would.
    // (Yielding every 10 ms lets V8's foreground GC tasks run: back-to-back quick runs in a
    // loop that never turns otherwise took 2.5× the time.)
    if (this.#live !== undefined && this.#live.size < 2) return true;
    if (Number.isNaN(this.#openedAt)) {
      this.#open();
      return true;
    }
    if (++this.#sinceCheck < CHECK_EVERY) return true;
    this.#sinceCheck = 0;
    return Date.now() - this.#openedAt < TURN_BUDGET_MS;
  }

  /** Waiting for a later turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  #open(): void {
    this.#openedAt = Date.now();
    this.#sinceCheck = 0;
    this.#schedule();
  }

  /** The turn ends with the next Immediate (scheduled again if `setImmediate` was replaced since). */
  #schedule(): void {
    if (this.#pending !== undefined && this.#scheduled === setImmediate) return;
    this.#scheduled = setImmediate;
    this.#pending = setImmediate(endOfTurn, this);
  }

  /** A new turn: the waiting continuations go on, as many as its budget allows. @internal */
  turn(): void {
    this.#pending = undefined;
    this.#openedAt = Number.NaN;
    if (this.#head === this.#queue.length) return;
    this.#open();
    this.#next(); // one at least, whatever the clock says: every turn makes progress
  }

  /** Lets the oldest waiting continuation go on, and the next once the microtasks it queued have run. */
  #next(): void {
    const queue = this.#queue;
    const next = queue[this.#head] as Continuation;
    queue[this.#head++] = undefined as unknown as Continuation; // let it go
    next.proceed();
    queueMicrotask(this.#drain);
  }

  /**
   * Goes on with the next waiting continuation while the turn's budget lasts, checked after
   * the microtasks of the one before: work a continuation goes on with after a promise (a
   * run's start) counts against the budget too.
   */
  readonly #drain = (): void => {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (Date.now() - this.#openedAt < TURN_BUDGET_MS) this.#next();
    // else the rest go on in the next turn, which #open scheduled
  };
}

/** What a budget's Immediate calls when the turn it was opened in is over. */
export function endOfTurn(budget: TurnBudget): void {
  budget.turn();
}
