/**
 * What a live run holds while its agent waits (issue 16's "bytes retained per live run"):
 * R runs of a 10-stage macro, each parked in its sixth stage's agent call (five stages
 * finished), then a heap snapshot, its objects grouped by kind and constructor. Prints
 * the groups with about one object per run or more, as bytes and objects per run: the
 * records and spans of the finished stages, the waiting stage's attempt, promises and
 * closures, the run's own objects. What the process holds once (code, caches) falls under
 * the threshold. Three batches run first, so that the code is warm.
 *
 *   node --expose-gc bench/held.mjs [dist/index.js] [--runs 1000] [--top 40]
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '1000' }, top: { type: 'string', default: '40' } },
});
const mo = await import(pathToFileURL(resolve(positionals[0] ?? 'dist/index.js')).href);
const runs = Number(values.runs);
const PARK_AT = 5; // the input of the sixth stage's call: five stages have finished

let parked = [];
const agent = mo.defineAgent({
  id: 'a',
  invoke: (input) =>
    input === PARK_AT
      ? new Promise((resolve) => parked.push(() => resolve(input + 1)))
      : new Promise((resolve) => setTimeout(resolve, 1, input + 1)),
});
const macro = mo.defineMacro({
  name: 'ten',
  description: '10 stages',
  stages: Array.from({ length: 10 }, (_, i) => mo.agentStage(`s${i}`, 'a')),
});
// A history of one finished run: the default keeps the last 1,000 results, which would
// show here as ten records and a result per run.
const memory = new mo.InMemoryMemory({ maxRuns: 1 });
const orchestrator = new mo.MacroOrchestrator({ agents: [agent], macros: [macro], memory });

/** Starts the runs and resolves with their results' promises once all are parked. */
async function park() {
  parked = [];
  const results = Array.from(
    { length: runs },
    () => orchestrator.run('ten', { intent: 'go' }, { input: 0 }).result,
  );
  while (parked.length < runs) await new Promise((resolve) => setTimeout(resolve, 5));
  return results;
}
const unpark = async (results) => {
  for (const go of parked) go();
  await Promise.all(results);
};

for (let i = 0; i < 3; i++) await unpark(await park());
const results = await park();
globalThis.gc?.();
const file = writeHeapSnapshot(join(tmpdir(), `held-${process.pid}.heapsnapshot`));
const snapshot = JSON.parse(readFileSync(file, 'utf8'));
rmSync(file);
await unpark(results);

const {
  node_fields: fields,
  node_types: [types],
} = snapshot.snapshot.meta;
const [at, named, sized] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const groups = new Map();
for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
  const type = types[snapshot.nodes[i + at]];
  const name = type.includes('string') ? '' : snapshot.strings[snapshot.nodes[i + named]].slice(0, 50);
  const key = `${type} ${name}`;
  const group = groups.get(key) ?? { count: 0, bytes: 0 };
  group.count++;
  group.bytes += snapshot.nodes[i + sized];
  groups.set(key, group);
}
console.log(`${runs} runs parked in stage 6 of 10; groups with ~1 object a run or more:`);
console.log('B/run  objects/run  kind');
const shown = [...groups]
  .filter(([, g]) => g.count >= runs * 0.9)
  .sort((a, b) => b[1].bytes - a[1].bytes)
  .slice(0, Number(values.top));
for (const [key, g] of shown) {
  console.log(
    `${(g.bytes / runs).toFixed(0).padStart(5)}  ${(g.count / runs).toFixed(2).padStart(11)}  ${key}`,
  );
}
