/**
 * Keeps the event loop responsive under many concurrent runs: once the engine's work in
 * one turn of the event loop has run for its budget, the stages that go on in that turn
 * wait for the next one, in the order they came.
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import { setImmediate as timersSetImmediate } from 'node:timers';
import type { AbortScope, Hold, Watcher } from '../internal/abort-scope.js';
import { checkPhaseSlice } from '../internal/check-phase.js';
import { inMicrotask } from '../internal/microtask.js';

/** Node's own, taken when the module loads: fake timers that patch `timers` later cannot capture it. */
const setImmediate = timersSetImmediate;

/** Something whose next step may wait for a later turn of the event loop. */
export interface Continuation {
  /** Takes the next step; must not throw. */
  proceed(): void;
}

/** The engine's work in one turn, in ms, before stages that go on wait for the next turn. */
export const TURN_BUDGET_MS = 10;

/** Stages that may go on before the clock is read again: a reading is ~40 ns, a stage ~2 µs. */
const CHECK_EVERY = 32;

/** Slots let through before the queue is compacted, if they are half of it or more. */
const COMPACT_AFTER = 1024;

/**
 * The turn budget of one orchestrator. Without it, 10,000 runs whose agents answer
 * together go on in one turn (their next stages start from the answers' callbacks), and
 * the loop stays blocked for hundreds of milliseconds; with it, a turn takes the
 * continuations that fit in {@link TURN_BUDGET_MS} and the rest go on in the turns after.
 * The later turns run in the check phase, and take their slice of the budget it shares with
 * checkpoint writes and SQLite commits ({@link checkPhaseSlice}).
 *
 * The clock is the global `Date.now` at the time of the call: under a test's fake timers
 * it stands still within a turn, so nothing waits. The turns are Node's own `setImmediate`
 * (from `node:timers`, taken when the module loads: fake timers replace the global, and
 * Sinon's may patch `timers` once installed), so a turn is never left to fakes
 * that are uninstalled before they run it; their async APIs yield to it.
 */
export class TurnBudget {
  /** When the engine's work in this turn must end (`Date.now()` time); NaN while no turn is open. */
  #closesAt = Number.NaN;
  /** Continuations let through since the clock was last read. */
  #sinceCheck = 0;
  /** Continuations waiting for a later turn, oldest first, from `#head` on. */
  #queue: Continuation[] = [];
  #head = 0;
  /** Queued continuations that have not gone on yet (those let go by an abort have). */
  #held = 0;
  #pending = false;
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
   * turn's budget is spent, or others wait before it). Once `scope` aborts, a queued
   * `next` goes on at once (in a microtask), out of turn: the abort is not kept waiting.
   */
  admit(next: Continuation, scope: AbortScope): boolean {
    if (this.#fits()) return true;
    this.#held++;
    this.#queue.push(new Held(next, scope, this));
    this.#schedule();
    return false;
  }

  /**
   * For a run about to start: undefined when it may start now, or a promise of the later
   * turn it starts in (10,000 runs started at once would otherwise all start in one turn),
   * or of `scope`'s abort, whichever comes first.
   */
  wait(scope: AbortScope): Promise<void> | undefined {
    if (this.#fits()) return undefined;
    return new Promise<void>((proceed) => {
      this.#held++;
      this.#queue.push(new Held({ proceed }, scope, this));
      this.#schedule();
    });
  }

  /** Whether a continuation may go on now: none waits before it, and the turn's budget is not spent. */
  #fits(): boolean {
    if (this.#head !== this.#queue.length) {
      if (this.#held > 0) return false;
      // Every one queued went on when its scope aborted: none waits, the slots go.
      this.#queue = [];
      this.#head = 0;
    }
    // One run alone shares the loop with no other run: it goes on as a hand-written loop would.
    // (Yielding every 10 ms lets V8's foreground GC tasks run: back-to-back quick runs in a
    // loop that never turns otherwise took 2.5× the time.)
    if (this.#live !== undefined && this.#live.size < 2) return true;
    if (Number.isNaN(this.#closesAt)) {
      this.#open(TURN_BUDGET_MS);
      return true;
    }
    if (++this.#sinceCheck < CHECK_EVERY) return true;
    this.#sinceCheck = 0;
    return Date.now() < this.#closesAt;
  }

  /** Waiting for a later turn (not those an abort has let go on). */
  get waiting(): number {
    return this.#held;
  }

  /** A queued continuation went on (in its turn, or out of turn on an abort). @internal */
  wentOn(): void {
    this.#held--;
  }

  /** Slots of the queue: those waiting, and those gone on since it was last compacted. @internal */
  get slots(): number {
    return this.#queue.length;
  }

  /** Opens a turn of `ms`: the budget outside the check phase, or the check phase's slice. */
  #open(ms: number): void {
    this.#closesAt = Date.now() + ms;
    this.#sinceCheck = 0;
    this.#schedule();
  }

  /** The turn ends with the next Immediate. */
  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(endOfTurn, this);
  }

  /** A new turn: the waiting continuations go on, as many as its budget allows. @internal */
  turn(): void {
    this.#pending = false;
    this.#closesAt = Number.NaN;
    if (this.#head === this.#queue.length) return;
    this.#open(checkPhaseSlice());
    this.#next(); // one at least, whatever the clock says: every turn makes progress
  }

  /** Lets the oldest waiting continuation go on, and the next once the microtasks it queued have run. */
  #next(): void {
    const queue = this.#queue;
    const next = queue[this.#head] as Continuation;
    queue[this.#head++] = undefined as unknown as Continuation; // let it go
    next.proceed();
    inMicrotask(this.#drain);
  }

  /**
   * Goes on with the next waiting continuation while the turn's budget lasts, checked after
   * the microtasks of the one before: work a continuation goes on with after a promise (a
   * run's start) counts against the budget too.
   */
  readonly #drain = (): void => {
    const queue = this.#queue;
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      return;
    }
    if (this.#head > COMPACT_AFTER && this.#head * 2 > queue.length) {
      // Under sustained load the queue never empties: drop the slots already let through.
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    if (Date.now() < this.#closesAt) this.#next();
    // else the rest go on in the next turn, which #open scheduled
  };
}

/** A queued continuation that its scope's abort lets go on at once; it goes on once either way. */
class Held implements Continuation, Watcher<never> {
  #next: Continuation | undefined;
  readonly #scope: AbortScope;
  readonly #budget: TurnBudget;
  readonly #hold: Hold | undefined;
  /**
   * The async context it was queued in: a later turn's Immediate runs in the context of
   * whichever run opened that turn, and the continuation must go on in its own run's
   * (its AsyncLocalStorage stores, an OpenTelemetry context and baggage).
   */
  readonly #context = new AsyncResource('MacroContinuation');

  constructor(next: Continuation, scope: AbortScope, budget: TurnBudget) {
    this.#next = next;
    this.#scope = scope;
    this.#budget = budget;
    this.#hold = scope.hold(this); // an aborted scope calls rejected() now: it goes on in a microtask
  }

  proceed(): void {
    const next = this.#next;
    if (next === undefined) return; // it went on when its scope aborted
    this.#next = undefined;
    this.#budget.wentOn();
    if (this.#hold !== undefined) this.#scope.release(this.#hold);
    this.#context.runInAsyncScope(next.proceed, next);
  }

  fulfilled(): void {} // a hold settles only by an abort
  rejected(): void {
    // Not from inside `abort()`: what goes on emits events and may abort other scopes.
    proceedLater(this);
  }
}

function proceedLater(held: Held): void {
  inMicrotask(() => held.proceed());
}

/** What a budget's Immediate calls when the turn it was opened in is over. */
export function endOfTurn(budget: TurnBudget): void {
  budget.turn();
}
