/**
 * What the bytes a live run holds cost at many concurrent runs, with no engine at all
 * (issue 16): the bench's reference run (bench/concurrent.mjs: the floor's for-loop of
 * `await stage(x)` keeping each stage's record and two spans) made to carry ballast, plain
 * objects of four fields: some held for the run's whole life, some held while each stage's
 * agent waits (dropped when it answers), some made and dropped in each stage. R runs of 10
 * stages, each agent awaiting a 20 ms timer, started at once, as in bench/concurrent.mjs.
 * Each point runs in its own `node --expose-gc` process: a batch warms the JIT up, then the
 * median wall time of `--batches` batches, each after a full GC, and the time the GC took
 * per batch (a `PerformanceObserver` on `gc`). The floor (no records, no ballast) runs in the
 * same invocation, for the ratio.
 *
 * It answers what an engine must hold per live run to stay within a given ratio to the
 * floor: give a point the bytes bench/held.mjs reads off the engine (held per run and per
 * waiting stage) and bench/alloc.mjs (allocated per stage), and compare its wall time
 * with the engine's in bench/concurrent.mjs.
 *
 *   node bench/ballast.mjs [--runs 10000] [--batches 5] [--points run/wait/garbage,...]
 *
 * A point is three byte counts: held per run, held per waiting stage, garbage per stage
 * (rounded to whole objects: 56 B each on Node's builds, which have no pointer compression).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    batches: { type: 'string', default: '5' },
    points: {
      type: 'string',
      default: '0/0/0,1024/0/0,5120/0/0,0/256/0,0/1024/0,0/0/512,0/0/1024,1024/256/512,5120/1024/1024',
    },
    point: { type: 'string' },
  },
});
const STAGES = 10;
const AGENT_MS = 20;
const PATHS = Array.from({ length: STAGES }, (_, s) => `ten/s${s}`);
const IDS = Array.from({ length: STAGES }, (_, s) => `s${s}`);
/** The reference's shapes, as bench/concurrent.mjs's `TIME_SHAPES`: times tagged, durations small integers. */
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
const wait = (x) => new Promise((ok) => setTimeout(ok, AGENT_MS, x));
/** `n` linked objects of four fields ending at `tail`: what the ballast is made of. */
const chain = (n, tail) => {
  let head = tail;
  for (let i = 0; i < n; i++) head = { next: head, i, a: null, b: undefined };
  return head;
};
/** Where each stage's garbage goes: read by nothing, overwritten by the next stage. */
let _dropped;

if (args.point !== undefined) await runPoint(args.point);
else drive();

/** One point in this process; prints its figures as JSON. */
async function runPoint(point) {
  const runs = Number(args.runs);
  const size = objectSize();
  let run;
  if (point === 'floor') {
    run = async () => {
      let x = 0;
      for (let s = 0; s < STAGES; s++) x = await wait(x + 1);
      return x;
    };
  } else {
    const [perRun, perWait, garbage] = point.split('/').map((bytes) => Math.round(Number(bytes) / size));
    run = () => referenceRun(perRun, perWait, garbage);
  }
  const batch = () => Promise.all(Array.from({ length: runs }, run));
  await batch();
  const { PerformanceObserver } = await import('node:perf_hooks');
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  const walls = [];
  for (let b = 0; b < Number(args.batches); b++) {
    globalThis.gc();
    observer.observe({ entryTypes: ['gc'] });
    const t = performance.now();
    await batch();
    walls.push(performance.now() - t);
    // The observer's entries come in a later task.
    await new Promise((ok) => setTimeout(ok, 0));
    observer.disconnect();
  }
  walls.sort((a, b) => a - b);
  const wallMs = walls[Math.floor(walls.length / 2)];
  console.log(JSON.stringify({ wallMs, gcMs: gcMs / walls.length, objectBytes: size }));
}

/** The reference run of bench/concurrent.mjs, with `perRun`, `perWait` and `garbage` objects of ballast. */
async function referenceRun(perRun, perWait, garbage) {
  const own = chain(perRun, null);
  const startedAt = Date.now();
  const stages = {};
  const timeline = [];
  let x = 0;
  for (let s = 0; s < STAGES; s++) {
    const path = PATHS[s];
    const t0 = Date.now();
    const held = chain(perWait, own);
    _dropped = chain(garbage, null);
    x = await wait(x + 1);
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

/** Bytes of one ballast object, measured: 56 on Node's builds, 28 with pointer compression. */
function objectSize() {
  const n = 100_000;
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const kept = chain(n, null);
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  if (kept.i !== n - 1) throw new Error('unreachable: keeps the chain alive until measured');
  return Math.round(bytes / 4) * 4;
}

/** Every point in its own process; prints the table. */
function drive() {
  const self = fileURLToPath(import.meta.url);
  const once = (point) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', self, '--point', point, '--runs', args.runs, '--batches', args.batches],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      ),
    );
  const floor = once('floor');
  const kb = (bytes) => (bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`);
  console.log(
    `${args.runs} concurrent runs x ${STAGES} stages x a ${AGENT_MS} ms agent; median of ${args.batches} batches each.`,
  );
  console.log('');
  console.log(
    '| held per run | held per waiting stage | garbage per stage | wall | ratio to floor | GC per batch |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(`| floor | | | ${Math.round(floor.wallMs)} ms | 1.00 | ${Math.round(floor.gcMs)} ms |`);
  for (const point of args.points.split(',')) {
    const { wallMs, gcMs } = once(point);
    const [perRun, perWait, garbage] = point.split('/').map(Number);
    const ratio = (wallMs / floor.wallMs).toFixed(2);
    console.log(
      `| ${kb(perRun)} | ${kb(perWait)} | ${kb(garbage)} | ${Math.round(wallMs)} ms | ${ratio} | ${Math.round(gcMs)} ms |`,
    );
  }
}
