/**
 * Timing (mitata's `measure`, after our own warm-up) and allocation (V8's GCProfiler)
 * of one async run function. Needs `node --expose-gc`.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { measure } from 'mitata';

const usedHeap = () => getHeapStatistics().used_heap_size;

function fullGc() {
  globalThis.gc();
  globalThis.gc();
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1];
};

/**
 * Warms `runOnce` up for `warmMs` (at least twice, once when a run is slow), then times
 * it with mitata until `budgetMs` of samples are taken. Returns ms figures.
 */
export async function time(runOnce, { warmMs, budgetMs }) {
  const warm = [];
  const started = performance.now();
  do {
    const t0 = performance.now();
    await runOnce();
    warm.push(performance.now() - t0);
  } while (
    performance.now() - started < warmMs &&
    warm.length < 10_000 &&
    !(warm.length >= 2 && warm[0] > warmMs)
  );
  const firstMs = warm[0];
  const estimate = warm.length > 1 ? median(warm.slice(1)) : firstMs;
  const minSamples = estimate > 2_000 ? 2 : estimate > 500 ? 3 : estimate > 100 ? 5 : 12;
  const stats = await measure(runOnce, {
    min_samples: minSamples,
    max_samples: 100_000,
    min_cpu_time: budgetMs * 1e6,
    warmup_samples: 0,
    warmup_threshold: 0,
    // Batch only the sub-5 µs floors, in small batches, so that no sample takes long.
    batch_threshold: 5_000,
    batch_samples: 1_024,
  });
  return {
    firstMs,
    warmRuns: warm.length,
    medianMs: stats.p50 / 1e6,
    p25Ms: stats.p25 / 1e6,
    p75Ms: stats.p75 / 1e6,
    minMs: stats.min / 1e6,
    samples: stats.samples.length,
    ticks: stats.ticks,
  };
}

/**
 * Bytes allocated by one run (heap growth plus everything GCs freed during it),
 * the peak heap above the baseline during the run, and the heap still retained after
 * a full GC while the run's result is held. Medians over `runs` measurements of
 * `repeat` runs each.
 */
export async function allocation(runOnce, { runs, repeat = 1 }) {
  const allocated = [];
  const peak = [];
  const retained = [];
  for (let r = 0; r < runs; r++) {
    const one = await measureOneRun(runOnce, repeat);
    allocated.push(one.allocated);
    peak.push(one.peak);
    retained.push(one.retained);
  }
  return { allocatedBytes: median(allocated), peakBytes: median(peak), retainedBytes: median(retained) };
}

/**
 * One run in its own async frame: once it returns, nothing of the run (not even a
 * stale interpreter register of a suspended caller) keeps the result alive, so the
 * next baseline is clean.
 */
async function measureOneRun(runOnce, repeat) {
  const profiler = new GCProfiler();
  fullGc();
  profiler.start();
  const base = usedHeap();
  const holder = { result: undefined };
  for (let i = 0; i < repeat; i++) {
    holder.result = undefined; // only the last run's result is held
    holder.result = await runOnce();
  }
  const after = usedHeap();
  const { statistics } = profiler.stop();
  let freed = 0;
  let top = after;
  for (const gc of statistics) {
    const before = gc.beforeGC.heapStatistics.usedHeapSize;
    freed += before - gc.afterGC.heapStatistics.usedHeapSize;
    if (before > top) top = before;
  }
  fullGc();
  const held = usedHeap();
  if (holder.result === undefined) throw new Error('a run must return its result');
  // Allocation and peak per run; retained: what the last run's result (and anything the
  // runs accumulate) keeps alive.
  return { allocated: (after - base + freed) / repeat, peak: top - base, retained: held - base };
}
