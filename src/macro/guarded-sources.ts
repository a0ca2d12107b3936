/**
 * The caller's clock (`now`), randomness (`random`) and run ids (`createRunId`) as the
 * engine reads them. A clock or random reading that throws or is out of range is replaced,
 * and logged once with its cause; the runs go on. A run id that is not one is refused.
 * Without this, a clock that threw mid-run failed a stage with no error recorded, rejected
 * a run's result, or rejected a checkpoint write that nothing awaited (an unhandled
 * rejection, which ends a Node process by default).
 * @internal
 * @module
 */

import { describe, MacroError } from '../errors.js';
import { noop } from '../internal/noop.js';
import { briefly, safeText } from '../internal/safe.js';
import { logFailure } from '../logger.js';
import type { MacroLogger } from '../model/logger.js';
import { MAX_RUN_ID } from './run-input.js';

/**
 * `now`, guarded: a bad reading gives the last good one (the clock stands still, so
 * durations stay those of one clock), or `Date.now()` before any.
 */
export function guardedClock(now: () => number, logger: MacroLogger): () => number {
  let last = Number.NaN;
  return guarded('now', 'a finite number', now, Number.isFinite, logger, {
    good: (reading) => {
      last = reading;
    },
    replacement: () => (Number.isNaN(last) ? Date.now() : last),
  });
}

/** `random`, guarded: a bad reading (not a number in [0, 1)) gives `Math.random()`'s. */
export function guardedRandom(random: () => number, logger: MacroLogger): () => number {
  return guarded('random', 'a number in [0, 1)', random, (r) => r >= 0 && r < 1, logger, {
    good: noop,
    replacement: () => Math.random(),
  });
}

/** `source` read safely: a reading that throws or is not `valid` is logged once and replaced. */
function guarded(
  option: string,
  expected: string,
  source: () => number,
  valid: (reading: number) => boolean,
  logger: MacroLogger,
  on: { readonly good: (reading: number) => void; readonly replacement: () => number },
): () => number {
  let reported = false;
  return () => {
    let reading: unknown;
    let threw = false;
    try {
      reading = source();
    } catch (error) {
      reading = error;
      threw = true;
    }
    if (typeof reading === 'number' && valid(reading)) {
      on.good(reading);
      return reading;
    }
    if (!reported) {
      reported = true;
      logFailure(logger, 'error', reading, { option }, badReading(option, expected, reading, threw));
    }
    return on.replacement();
  };
}

/** The log line for a bad reading: what was expected and what came, once per orchestrator. */
function badReading(option: string, expected: string, reading: unknown, threw: boolean): string {
  const got = threw ? `it threw: ${safeText(reading)}` : `it gave ${briefly(reading)}`;
  return `The orchestrator's ${option} option should give ${expected}, but ${got}; the engine uses its own reading instead (logged once)`;
}

/**
 * `createRunId`, checked: each id must be a string of 1 to 256 characters, as a chosen
 * `runId` must be.
 * @throws {MacroError} `INVALID_OPTIONS` from `run()` when it throws (its error the cause)
 * or gives anything else; nothing has started then.
 */
export function checkedRunIds(createRunId: () => string): () => string {
  return () => {
    let id: unknown;
    try {
      id = createRunId();
    } catch (error) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `The orchestrator's createRunId option threw: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    if (typeof id === 'string' && id.length > 0 && id.length <= MAX_RUN_ID) return id;
    throw new MacroError(
      'INVALID_OPTIONS',
      `The orchestrator's createRunId option should give a string of 1 to ${MAX_RUN_ID} characters, got ${briefly(id)}${typeof id === 'string' ? ` (${id.length} characters)` : ''}`,
    );
  };
}
