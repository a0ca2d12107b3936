/**
 * Runs one benchmark case in a fresh process and prints its figures as one JSON line.
 * Started by run.mjs as `node --expose-gc bench/case.mjs '<spec json>'`.
 */
import { pathToFileURL } from 'node:url';
import { allocation, time } from './lib/measure.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const spec = JSON.parse(process.argv[2] ?? '{}');

async function buildCase() {
  switch (spec.engine) {
    case 'floor':
    case 'plimit':
      return { runOnce: (await import('./engines/floor.mjs')).build(spec) };
    case 'mo': {
      const lib = await import(pathToFileURL(spec.lib).href);
      return (await import('./engines/macro.mjs')).build(lib, spec);
    }
    case 'langgraph':
    case 'langgraph-mem':
      return (await import('./engines/langgraph.mjs')).build(spec);
    case 'mastra':
      return (await import('./engines/mastra.mjs')).build(spec);
  }
  throw new Error(`unknown engine ${spec.engine}`);
}

const built = performance.now();
const { runOnce, close, info } = await buildCase();
const buildMs = performance.now() - built;
const timing = await time(runOnce, spec);
// Short runs are measured in batches (`repeat` runs per measurement), so that fixed costs
// of measuring do not count and a GC in the middle is averaged out.
const memory = await allocation(runOnce, {
  runs: timing.medianMs > 1_000 ? 1 : 3,
  repeat: Math.max(1, Math.min(1_000, Math.round(5 / timing.medianMs))),
});
await close?.();
process.stdout.write(`${JSON.stringify({ id: spec.id, buildMs, ...timing, ...memory, ...info })}\n`);
