/**
 * The turns `'async'` checkpoints are written in: one `setImmediate` per turn of the event
 * loop for all of an orchestrator's runs, rather than one per run.
 * @module
 */

/** Something that writes what it has queued once the event loop turns. */
export interface TurnTaker {
  /** Starts the write of what was queued; must not throw. */
  takeTurn(): void;
}

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

  readonly #run = (): void => {
    const due = this.#due;
    this.#due = new Set();
    this.#pending = undefined;
    let fault: { error: unknown } | undefined;
    for (const taker of due) {
      try {
        taker.takeTurn();
      } catch (error) {
        fault ??= { error }; // the others still write; the first fault is thrown once they have
      }
    }
    if (fault !== undefined) throw fault.error;
  };

  /** Has `taker.takeTurn()` called when the event loop next turns. */
  add(taker: TurnTaker): void {
    this.#due.add(taker);
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
  }
}
