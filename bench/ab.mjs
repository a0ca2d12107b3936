/**
 * A/B of two builds in one process: both libraries are loaded, their runs alternate in
 * 200 ms slices (24 each), and the median µs per stage of each is printed with their ratio.
 * Alternating cancels most of a shared machine's speed drift, which a run of each build
 * one after the other does not.
 *
 *   node bench/ab.mjs <a/dist/index.js> <b/dist/index.js> [workload=seq] [size=1000] [listener=none] [memory=in-memory|sqlite]
 *
 * With `sqlite`, each build runs on its own `SqliteMemory` (the sqlite.js beside its index.js).
 */
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from './engines/macro.mjs';

const [, , a, b, workload = 'seq', sizeArg = '1000', listener = 'none', memory = 'in-memory'] = process.argv;
if (a === undefined || b === undefined) {
  console.error('usage: node bench/ab.mjs <a/index.js> <b/index.js> [workload] [size] [listener]');
  process.exit(2);
}
const size = Number(sizeArg);
const runs = [];
for (const path of [a, b]) {
  const lib = await import(pathToFileURL(resolve(path)).href);
  const sqliteLib = join(dirname(resolve(path)), 'sqlite.js');
  runs.push((await build(lib, { workload, size, listener, memory, sqliteLib })).runOnce);
}
for (const runOnce of runs) for (let i = 0; i < 300; i++) await runOnce(); // warm up
const perStage = [[], []];
for (let slice = 0; slice < 24; slice++) {
  for (let k = 0; k < 2; k++) {
    const which = (slice + k) % 2; // each build goes first in every other slice
    const runOnce = runs[which];
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 200) {
      await runOnce();
      n++;
    }
    perStage[which].push(((performance.now() - started) * 1000) / n / size);
  }
}
const median = (values) => values.sort((x, y) => x - y)[values.length >> 1];
const [ma, mb] = perStage.map(median);
console.log(
  `${workload} ${size} listener=${listener}: A ${ma.toFixed(3)}  B ${mb.toFixed(3)} µs/stage  B/A ${(mb / ma).toFixed(2)}`,
);
