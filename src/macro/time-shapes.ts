/**
 * The hidden classes of stage records and timeline spans, set up at load and kept.
 *
 * Records and spans hold clock readings, which are not small integers. Seen once with a
 * value that is no number, their time fields are tagged rather than double: a reading is
 * then one boxed number that a stage's record and spans share, not a box per field (with
 * `UNREAD` in attempt-state.ts). Each shape is also seen with a `durationMs` of 0 and of
 * null, so that field holds small integers as they are, not a box per object.
 *
 * V8 keeps a hidden class, and what it has learnt of its fields, only as long as some
 * object has it: these shapes made and let go (as until 2026-12-06) were thrown away by a
 * full garbage collection before the first run, and a stage then kept 7 boxed numbers
 * instead of 2. So they are kept for the life of the process: a kept result holds 405 B a
 * stage, against 448 B with the shapes let go (docs/performance.md, sixth stop).
 * @internal
 * @module
 */

/** The shapes, once made: captured by `keepTimeShapes`, so held as long as this module is. */
let kept: readonly object[] | undefined;

/**
 * Sets the shapes up, once, and returns them: spans, and succeeded records with and without
 * their agent (a failed record is rare). Called by the journal's module when it loads.
 */
export function keepTimeShapes(): readonly object[] {
  kept ??= ([0, null] as const).flatMap((durationMs) => [
    {
      scope: 'stage',
      path: '',
      name: '',
      status: 'succeeded',
      attempt: 0,
      startedAt: null,
      endedAt: null,
      durationMs,
    },
    {
      path: '',
      id: '',
      kind: 'agent',
      status: 'succeeded',
      output: null,
      attempts: 0,
      startedAt: null,
      endedAt: null,
      durationMs,
    },
    {
      path: '',
      id: '',
      kind: 'agent',
      status: 'succeeded',
      output: null,
      attempts: 0,
      startedAt: null,
      endedAt: null,
      durationMs,
      agent: '',
    },
  ]);
  return kept;
}
