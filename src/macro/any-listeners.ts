/**
 * Listeners of every event type at once (`run.onAny`, `orchestrator.onAny`): one call for a
 * UI, a logger or a tracer instead of one `run.on` per event type.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import type { MacroEvent } from '../events.js';

/** A listener of every event: a run's, or every run's of an orchestrator. */
export type AnyListener = (event: MacroEvent) => void;

/** A set of any-event listeners; a listener added twice is called once. @internal */
export class AnyListeners {
  readonly #listeners = new Set<AnyListener>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds `listener`; returns the function that removes it. `where` names the method for the error. */
  add(listener: AnyListener, where: string): () => void {
    if (typeof listener !== 'function') {
      throw new MacroError('INVALID_OPTIONS', `${where} expects a function, got ${typeof listener}`);
    }
    const listeners = this.#listeners;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  /**
   * Calls every listener with `event`; a listener that throws is reported to `threw`, the
   * others still run. One added meanwhile waits for the next event, one removed meanwhile
   * is not called.
   */
  deliver(event: MacroEvent, threw: (error: unknown) => void): void {
    const listeners = this.#listeners;
    // A copy: the Set itself would visit what is added during the loop.
    for (const listener of [...listeners]) {
      if (!listeners.has(listener)) continue;
      try {
        listener(event);
      } catch (error) {
        threw(error);
      }
    }
  }
}
