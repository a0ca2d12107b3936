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
  #due: TurnTaker[] = [];
  #pending: ReturnType<typeof setImmediate> | undefined = undefined;

  readonly #run = (): void => {
    const due = this.#due;
    this.#due = [];
    this.#pending = undefined;
    let fault: { error: unknown } | undefined;
    for (let i = 0; i < due.length; i++) {
      try {
        (due[i] as TurnTaker).takeTurn();
      } catch (error) {
        fault ??= { error }; // the others still write; the first fault is thrown once they have
      }
    }
    if (fault !== undefined) throw fault.error;
  };

  /** Has `taker.takeTurn()` called when the event loop next turns (once per call to this). */
  add(taker: TurnTaker): void {
    this.#due.push(taker);
    if (this.#pending === undefined) this.#pending = setImmediate(this.#run);
  }
}
