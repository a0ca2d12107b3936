/**
 * The check of what `MacroRun.on`, `once` and `off` are given. JavaScript callers have no
 * types: a listener that is no function failed deep in a WeakMap ("Invalid value used as
 * weak map key"), and a misspelt event type (`'stage:finish'`) was a listener never called.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import type { MacroEventType } from '../events.js';
import { kindOf } from '../internal/safe.js';

/** Every event type a run emits (the keys of `MacroEventMap`; the type checks the list is whole). */
const EVENT_TYPES: Readonly<Record<MacroEventType, true>> = {
  'run:start': true,
  'run:end': true,
  'macro:start': true,
  'macro:end': true,
  'stage:start': true,
  'stage:end': true,
  'stage:progress': true,
  'phase:start': true,
  'phase:end': true,
  retry: true,
  fallback: true,
  gate: true,
  artefact: true,
  decision: true,
  route: true,
  suspended: true,
  'persistence:error': true,
};

/**
 * Throws unless `event` is an event type and `fn` a function (or, when `optional`, undefined).
 * @throws {MacroError} `INVALID_OPTIONS` naming the method and the event type.
 */
export function checkListenerArgs(method: string, event: unknown, fn: unknown, optional: boolean): void {
  if (typeof event !== 'string' || !Object.hasOwn(EVENT_TYPES, event)) {
    const got = typeof event === 'string' ? JSON.stringify(event) : kindOf(event);
    throw new MacroError(
      'INVALID_OPTIONS',
      `run.${method} expects an event type (${Object.keys(EVENT_TYPES).join(', ')}), got ${got}`,
    );
  }
  if (typeof fn !== 'function' && !(optional && fn === undefined)) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `run.${method}(${JSON.stringify(event)}) expects a listener function, got ${kindOf(fn)}`,
    );
  }
}
