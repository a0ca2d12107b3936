/**
 * What the engine makes per stage and still holds while the next stage's agent waits
 * (issue 16): R runs of a 10-stage macro wait in stage 5's agent call; V8's sampling heap
 * profiler starts, keeping only objects still alive when it stops; the runs are let go
 * and wait again, in stage 6's call; the profiler stops. Prints the bytes per run by the
 * function that allocated them (with what it inlined): the finished stage's record, spans
 * and checkpoint, the test agent's own promise and closures, and the engine's waiting state
 * (what bench/ballast.mjs shows costs most at many concurrent runs). Warm runs come first,
 * so that the code is optimized; the memory keeps 4 results, so that they do not count.
 *
 *   node --expose-gc bench/wait-state.mjs [dist/index.js] [--runs 2000] [--depth 1] [--top 20]
 *
 * `--depth 2` or more keys each figure by that many frames of its allocation stack.
 */
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '2000' },
    depth: { type: 'string', default: '1' },
    top: { type: 'string', default: '20' },
  },
});
const mo = await import(pathToFileURL(resolve(positionals[0] ?? 'dist/index.js')).href);
const runs = Number(values.runs);
/** The inputs of stage 5's and stage 6's agent calls: their calls wait until let go. */
const WAIT_AT = new Set([4, 5]);

let waiting = false;
let letGo = [];
const agent = mo.defineAgent({
  id: 'a',
  invoke: (x) =>
    waiting && WAIT_AT.has(x)
      ? new Promise((ok) => letGo.push(() => ok(x + 1)))
      : new Promise((ok) => setTimeout(ok, 0, x + 1)),
});
const macro = mo.defineMacro({
  name: 'ten',
  description: '10 stages',
  stages: Array.from({ length: 10 }, (_, i) => mo.agentStage(`s${i}`, 'a')),
});
const orchestrator = new mo.MacroOrchestrator({
  agents: [agent],
  macros: [macro],
  memory: new mo.InMemoryMemory({ maxRuns: 4 }),
});
const start = () => orchestrator.run('ten', { intent: 'go' }, { input: 0 }).result;
/** Until `runs` calls wait, and a little more: the runs' other work is done. */
const allWaiting = async () => {
  while (letGo.length < runs) await new Promise((ok) => setTimeout(ok, 5));
  await new Promise((ok) => setTimeout(ok, 20));
};

// In a function of its own: the warm runs' results are not kept by this module's frame.
const warm = async () => {
  await Promise.all(Array.from({ length: 3000 }, start));
};
await warm();
waiting = true;
const results = Array.from({ length: runs }, start);
await allWaiting();
globalThis.gc();
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 64,
  includeObjectsCollectedByMajorGC: false,
  includeObjectsCollectedByMinorGC: false,
});
const inStage5 = letGo;
letGo = [];
for (const go of inStage5) go();
await allWaiting();
globalThis.gc();
const { profile } = await session.post('HeapProfiler.stopSampling');

const bySite = new Map();
let total = 0;
const walk = (node, stack) => {
  const { functionName, lineNumber, url } = node.callFrame;
  const frames = [...stack, `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`];
  if (node.selfSize > 0) {
    const key = frames.slice(-Number(values.depth)).join(' < ');
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child, frames);
};
walk(profile.head, []);
console.log(
  `${runs} runs, from a wait in stage 5 to a wait in stage 6: ${Math.round(total / runs)} B a run still alive`,
);
console.log('B/run  allocated by');
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${String(Math.round(bytes / runs)).padStart(5)}  ${site}`);
}
// The runs still wait in stage 6: nothing is kept past here.
if (results.length !== runs) throw new Error('unreachable');
process.exit(0);
