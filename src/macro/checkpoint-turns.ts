/**
 * The turns `'async'` checkpoints are written in: one `setImmediate` per turn of the event
 * loop for all of an orchestrator's runs, rather than one per run.
 * @module
 */

import { checkPhaseSlice } from '../internal/check-phase.js';

/** Something that writes what it has queued once the event loop turns. */
export interface TurnTaker {
  /** Starts the write of what was queued; must not throw. */
  takeTurn(): void;
}

/** How many stages wait for a later turn of the event loop (the orchestrator's TurnBudget). */
export interface Backlog {
  readonly waiting: number;
}

/** The most turns writes wait for a backlog of stages: about 10 ms each. */
const MAX_POSTPONED_TURNS = 16;

/**
 * Calls each queued {@link TurnTaker} once when the event loop next turns. One per
 * orchestrator: 10,000 live runs whose stages end in one turn cost one Immediate, not
 * 10,000 (an Immediate each is ~100 B and a list insertion).
 */
export class CheckpointTurns {
  /** A set, not a list: a run that ends before the turn leaves it (see remove). */
  #due = new Set<TurnTaker>();
  #pending: ReturnType<typeof setImmediate> | undefined = undefined;
  /**
   * The `setImmediate` and `clearImmediate` the pending turn belongs to: a test's fake
   * timers may replace them, and never run (nor know) a turn the other ones scheduled.
   */
  #scheduled: typeof setImmediate | undefined = undefined;
  #clear: typeof clearImmediate = clearImmediate;
  /** Stages that wait for a later turn (see TurnBudget): while there are, writes wait with them. */
  readonly #backlog: Backlog | undefined;
  /** Turns the writes due have waited for the backlog. */
  #postponed = 0;
  /** The writes due are the rest of a turn that ran out of budget: they wait for nothing more. */
  #draining = false;

  constructor(backlog?: Backlog) {
    this.#backlog = backlog;
  }

  readonly #run = (): void => {
    this.#pending = undefined;
    // A burst of stages spread over several turns: their checkpoints wait to go together, in
    // as few writes per run as one turn took (with SQLite, a commit less per turn waited).
    if (!this.#draining && (this.#backlog?.waiting ?? 0) > 0 && this.#postponed < MAX_POSTPONED_TURNS) {
      this.#postponed++;
      this.#schedule();
      return;
    }
    this.#postponed = 0;
    this.#draining = false;
    const due = this.#due;
    this.#due = new Set();
    const until = Date.now() + checkPhaseSlice();
    let fault: { error: unknown } | undefined;
    for (const taker of due) {
      due.delete(taker);
      try {
        taker.takeTurn();
      } catch (error) {
        fault ??= { error }; // the others still write; the first fault is thrown once this slice has
      }
      if (due.size > 0 && Date.now() >= until) {
        // The turn's budget is spent: the rest write in the next turn, ahead of those added since.
        for (const later of this.#due) due.add(later);
        this.#due = due;
        this.#draining = true;
        this.#schedule();
        break;
      }
    }
    if (fault !== undefined) throw fault.error;
  };

  /** Has `taker.takeTurn()` called when the event loop next turns. */
  add(taker: TurnTaker): void {
    this.#due.add(taker);
    this.#schedule();
  }

  #schedule(): void {
    // A pending turn of timers replaced since (fake ones, uninstalled) may never come: one of the current ones.
    if (this.#pending !== undefined && this.#scheduled === setImmediate) return;
    this.#scheduled = setImmediate;
    this.#clear = clearImmediate;
    this.#pending = setImmediate(this.#run);
  }

  /**
   * Takes back `add(taker)` for this turn. Runs that all end within their turn (quick agents,
   * awaited one after another without the loop turning) are then held by nothing, and
   * leave no Immediate behind.
   */
  remove(taker: TurnTaker): void {
    const due = this.#due;
    if (!due.delete(taker) || due.size > 0) return;
    this.#clear(this.#pending); // set: a taker was due; cleared by the timers that scheduled it
    this.#pending = undefined;
    this.#postponed = 0; // the next write waits afresh
    this.#draining = false;
  }
}
