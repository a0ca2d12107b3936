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
 * object has it. Until 2026-12-06 the shapes were made and let go, and the record with its
 * agent (the usual one) had none: a stage then kept 7 boxed numbers instead of 2, and a
 * kept result 448 B a stage instead of 405 (docs/performance.md, sixth stop). Whether
 * shapes let go outlive a garbage collection depends on what still happens to refer to
 * them (in the bundled build, a scratch copy's were gone by the first run), so they are
 * kept, by the journal class (`Journal.timeShapes`).
 * @internal
 * @module
 */

/** The shapes, once made. */
let kept: readonly object[] | undefined;

/**
 * Sets the shapes up, once, and returns them: spans, and succeeded records with and without
 * their agent (a failed record is rare). Held by the journal class, made when it loads.
 * Literals written out in full, as the journal's are: a literal of 10 keys starts from
 * another root hidden class than one of 9, and an object built otherwise (a spread, keys
 * added one by one) does not end on a literal's hidden class, so neither record shape can
 * be made from the other.
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
