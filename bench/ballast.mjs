/**
 * What the bytes a live run holds cost at many concurrent runs, with no engine at all
 * (issue 16): the reference run of bench/concurrent.mjs (bench/lib/reference-run.mjs: the
 * floor's loop keeping each stage's record and two spans) made to carry ballast, objects of
 * four fields: some held until the run ends, some held while each stage's agent waits (made
 * again each stage), some made and dropped in each stage. R runs of 10 stages, each agent
 * awaiting a 20 ms timer, started at once, with one more run in flight, as in
 * bench/concurrent.mjs's first column.
 *
 * Each point runs in its own `node --expose-gc` process: a batch warms the JIT up, then
 * the median wall time of `--batches` batches, each after a full GC, and the time the GC
 * took per batch. Every round runs the floor (no records, no ballast), the reference (no
 * ballast) and each point, in an order rotated from round to round, so that a machine
 * whose speed drifts does not favour a position; the table gives each point's median over
 * the rounds of its ratio to the floor and of its excess over the reference of the same
 * round.
 *
 * It answers what an engine may hold per live run for a given ratio to the floor: compare
 * a point near what bench/held.mjs reads off the engine (held per run, its waiting stage
 * included) and what V8's sampling heap profiler shows a stage allocating and surviving,
 * with the engine's row of bench/concurrent.mjs. This harness imports no library, so its
 * floor and reference can read a little apart from bench/concurrent.mjs's: compare ratios
 * within one harness.
 *
 *   node bench/ballast.mjs [--runs 10000] [--batches 3] [--rounds 3] [--points run/wait/garbage,...]
 *
 * A point is three byte counts: held per run, held per waiting stage, garbage per stage,
 * made of whole objects (56 B each on Node's builds, which have no pointer compression; the
 * table shows the bytes made).
 */
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ballast, referenceRun, STAGES } from './lib/reference-run.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    batches: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    points: {
      type: 'string',
      default:
        '256/0/0,1024/0/0,2048/0/0,4096/0/0,6144/0/0,0/256/0,0/1024/0,0/0/1024,0/0/2048,1024/256/512,4096/1024/1536',
    },
    point: { type: 'string' },
  },
});
const AGENT_MS = 20;
const wait = (x) => new Promise((ok) => setTimeout(ok, AGENT_MS, x));

if (args.point !== undefined) await runPoint(args.point);
else drive();

/**
 * One point in this process (`'floor'`, or held per run / per waiting stage / garbage per
 * stage, in bytes); prints its wall time, GC time per batch and ballast object size as JSON.
 */
async function runPoint(point) {
  const runs = Number(args.runs);
  const size = objectSize();
  let run;
  let parkedRun;
  /**
   * The parked run's wait never ends: it holds one run's objects while the batches run.
   * Its resolve function is kept, as a timer would keep it: else the GC frees the run.
   */
  const resolvers = [];
  const parkedWait = () =>
    new Promise((ok) => {
      resolvers.push(ok);
    });
  if (point === 'floor') {
    run = async () => {
      let x = 0;
      for (let s = 0; s < STAGES; s++) x = await wait(x + 1);
      return x;
    };
    parkedRun = async () => parkedWait(0);
  } else {
    const [perRun, perWait, garbage] = counts(point, size);
    const carry = { perRun, perWait, garbage };
    run = () => referenceRun(wait, carry);
    parkedRun = () => referenceRun(parkedWait, carry);
  }
  const batch = () => Promise.all(Array.from({ length: runs }, run));
  await batch();
  const parked = parkedRun();
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
    // GC entries reach the observer a turn or two later: wait, then take any still queued.
    await new Promise((ok) => setImmediate(ok));
    await new Promise((ok) => setImmediate(ok));
    for (const entry of observer.takeRecords()) gcMs += entry.duration;
    observer.disconnect();
  }
  // The process exits with the parked run still waiting.
  if (parked === undefined || resolvers.length !== 1) throw new Error('the parked run did not wait once');
  walls.sort((a, b) => a - b);
  const wallMs = walls[Math.floor(walls.length / 2)];
  console.log(JSON.stringify({ wallMs, gcMs: gcMs / walls.length, objectBytes: size }));
}

/** A point's three byte counts as whole objects of `size` bytes; throws on anything else. */
function counts(point, size) {
  const bytes = point.split('/').map(Number);
  if (bytes.length !== 3 || !bytes.every((b) => Number.isInteger(b) && b >= 0)) {
    throw new Error(`--points: "${point}" is not three byte counts, run/wait/garbage`);
  }
  return bytes.map((b) => Math.round(b / size));
}

/** Bytes of one ballast object, measured: 56 on Node's builds, 28 with pointer compression. */
function objectSize() {
  const n = 100_000;
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const kept = ballast(n, null);
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  if (kept.i !== n - 1) throw new Error('unreachable: keeps the objects alive until measured');
  return Math.round(bytes / 4) * 4;
}

/** `value` to two places with its sign: `+0.05`, `-0.01`. */
function signed(value) {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}

/** The median of `values`. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Every point in its own process, `--rounds` times in rotated orders; prints the table. */
function drive() {
  const self = fileURLToPath(import.meta.url);
  const once = (point) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', self, '--point', point, '--runs', args.runs, '--batches', args.batches],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      ),
    );
  const points = ['floor', '0/0/0', ...args.points.split(',')];
  const results = new Map(points.map((point) => [point, []]));
  let size = 0;
  for (let round = 0; round < Number(args.rounds); round++) {
    for (let k = 0; k < points.length; k++) {
      const point = points[(k + round * 3) % points.length];
      const figures = once(point);
      size = figures.objectBytes;
      results.get(point).push(figures);
    }
  }
  const floors = results.get('floor').map((r) => r.wallMs);
  const references = results.get('0/0/0').map((r) => r.wallMs);
  const made = (bytes) => {
    const b = Math.round(bytes / size) * size;
    return b === 0 ? '0' : b >= 1024 ? `${(b / 1024).toFixed(1)} KB` : `${b} B`;
  };
  console.log(
    `${args.runs} concurrent runs × ${STAGES} stages × a ${AGENT_MS} ms agent, one more in flight; ` +
      `each figure the median of ${args.rounds} rounds, a round's the median of ${args.batches} batches; ` +
      `ballast objects of ${size} B.\n`,
  );
  console.log(
    "| held per run | held per waiting stage | garbage per stage | wall | × floor | × floor − the reference's | GC per batch |",
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const point of points) {
    const rows = results.get(point);
    const ratios = rows.map((r, i) => r.wallMs / floors[i]);
    const excess = rows.map((r, i) => (r.wallMs - references[i]) / floors[i]);
    const label = point === 'floor' ? '| floor | | ' : `| ${point.split('/').map(made).join(' | ')}`;
    const over = point === 'floor' || point === '0/0/0' ? '—' : signed(median(excess));
    const cells = [
      `${Math.round(median(rows.map((r) => r.wallMs)))} ms`,
      median(ratios).toFixed(2),
      over,
      `${Math.round(median(rows.map((r) => r.gcMs)))} ms`,
    ];
    console.log(`${label} | ${cells.join(' | ')} |`);
  }
}
