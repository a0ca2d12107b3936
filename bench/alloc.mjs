/**
 * Bytes allocated per run of a few small workloads, in one process, in about a minute:
 * the quick check of an allocation change (a run's fixed cost shows in the one-stage
 * rows). Timing is left to run.mjs.
 *
 *   node --expose-gc bench/alloc.mjs [dist/index.js]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from './engines/macro.mjs';
import { allocation } from './lib/measure.mjs';

const lib = await import(pathToFileURL(resolve(process.argv[2] ?? 'dist/index.js')).href);
const cases = [
  ['seq', 1, 'none'],
  ['seq', 1, 'on'],
  ['seq', 10, 'none'],
  ['seq', 10, 'on'],
  ['seq', 100, 'none'],
  ['seq', 100, 'none', { customPhase: true }],
  ['seq', 100, 'on'],
  ['seq', 100, 'on', { customPhase: true }],
  ['fan', 100, 'on'],
  ['mixed', 85, 'on'],
  ['doc', 10, 'none'],
  ['doc', 10, 'on'],
  ['doc', 100, 'on'],
];
for (const [workload, size, listener, extra] of cases) {
  const { runOnce } = await build(lib, { workload, size, listener, ...extra });
  for (let i = 0; i < 300; i++) await runOnce(); // warm up
  const { allocatedBytes } = await allocation(runOnce, { runs: 9, repeat: 20 });
  const perRun = Math.round(allocatedBytes);
  const perStage = Math.round(allocatedBytes / size);
  console.log(
    `${workload} ${size} listener=${listener}${extra?.customPhase ? ' +phase' : ''}`.padEnd(34),
    `${perRun} B/run`.padEnd(14),
    `${perStage} B/stage`,
  );
}
