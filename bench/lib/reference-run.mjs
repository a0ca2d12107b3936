/**
 * The hand-written reference run of the concurrency benches (bench/concurrent.mjs,
 * bench/ballast.mjs): the floor's for-loop of `await wait(x)` over 10 stages, keeping what
 * a run's result holds of each stage as it goes (a record with its output, attempts and
 * times, and two timeline spans: its phase's and its own), in a result object returned at
 * the end. A plain hand-written version of what an engine returning such results keeps,
 * beyond the floor; optionally carrying ballast (bench/ballast.mjs).
 */

/** Stages of a run. */
export const STAGES = 10;

/**
 * The reference's records and spans keep their times tagged, as the engine's journal does
 * (src/macro/time-shapes.ts): seen once with a time that is no number, a field holds a
 * clock reading as one boxed number that a stage's record and spans share, not a box each;
 * seen with a duration of 0 and of null, a duration as a small integer. Exported, so that
 * the module holds them: V8 keeps a hidden class only as long as some object has it (until
 * 2026-12-06 these were let go, and the record, with its agent, had no shape at all).
 * @public (held, not imported)
 */
export const TIME_SHAPES = Object.freeze(
  [0, null].flatMap((durationMs) => [
    { scope: '', path: '', name: '', status: '', attempt: 0, startedAt: null, endedAt: null, durationMs },
    {
      path: '',
      id: '',
      kind: '',
      status: '',
      output: null,
      attempts: 0,
      startedAt: null,
      endedAt: null,
      durationMs,
      agent: '',
    },
  ]),
);

/** The stages' ids and paths, made once, as the engine's compiled stages hold theirs. */
const IDS = Array.from({ length: STAGES }, (_, s) => `s${s}`);
const PATHS = IDS.map((id) => `ten/${id}`);

/**
 * An object of ballast: four fields, linked. A class, not an object literal: V8 tracks the
 * objects of a literal by the site that makes them and may move all of a site's objects
 * straight to the old generation once enough of them survive ("pretenuring"), which would
 * make one kind of ballast decide how the others are allocated.
 */
class Ballast {
  constructor(next, i) {
    this.next = next;
    this.i = i;
    this.a = null;
    this.b = undefined;
  }
}

/** `count` linked objects of ballast ending at `tail` (`tail` itself for none). */
export function ballast(count, tail) {
  let head = tail;
  for (let i = 0; i < count; i++) head = new Ballast(head, i);
  return head;
}

/** No ballast: the reference as it is. */
const NONE = Object.freeze({ perRun: 0, perWait: 0, garbage: 0 });

/** Where each stage's garbage goes: read by nothing, overwritten by the next stage of any run. */
let _dropped;

/**
 * One reference run, each stage's agent being `wait(x)`. With `carry` (object counts, see
 * {@link Ballast}): `perRun` objects held until the run ends, `perWait` held while each
 * stage's agent waits (made again each stage), `garbage` made and dropped in each stage.
 */
export async function referenceRun(wait, carry = NONE) {
  const own = ballast(carry.perRun, null);
  const startedAt = Date.now();
  const stages = {};
  const timeline = [];
  let x = 0;
  for (let s = 0; s < STAGES; s++) {
    const path = PATHS[s];
    const t0 = Date.now();
    const held = ballast(carry.perWait, own);
    _dropped = ballast(carry.garbage, null);
    x = await wait(x + 1);
    // A read that keeps `held` alive across the wait; never true.
    if (held?.i === -1) throw new Error('unreachable: keeps `held` alive across the wait');
    const t1 = Date.now();
    const durationMs = t1 - t0;
    timeline.push({
      scope: 'phase',
      path,
      name: 'draft',
      status: 'succeeded',
      attempt: 1,
      startedAt: t0,
      endedAt: t1,
      durationMs,
    });
    stages[path] = {
      path,
      id: IDS[s],
      kind: 'agent',
      status: 'succeeded',
      output: x,
      attempts: 1,
      startedAt: t0,
      endedAt: t1,
      durationMs,
      agent: 'a',
    };
    timeline.push({
      scope: 'stage',
      path,
      name: 'agent',
      status: 'succeeded',
      attempt: 1,
      startedAt: t0,
      endedAt: t1,
      durationMs,
    });
  }
  if (own?.i === -1) throw new Error('unreachable: keeps `own` alive until the run ends');
  const endedAt = Date.now();
  return {
    macro: 'ten',
    status: 'succeeded',
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
    stages,
    timeline,
    output: x,
  };
}
