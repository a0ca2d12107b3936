/**
 * Many concurrent runs (issue 16): R runs of a 10-stage macro started at once, each stage's
 * agent awaiting a 20 ms timer, beside the hand-written floor (R concurrent for-loops of
 * `await stage(x)`) and that floor keeping, as a result does, each stage's record and two
 * spans (a plain hand-written version of what a result holds). Every case runs in its
 * own `node --expose-gc` process and reports: wall time (the median of `--batches` timed
 * batches in a row, each after a full GC: one batch moves by ±15% on a shared VM) with one
 * more run in flight, as on a busy server, and again with none, as after an idle spell;
 * their ratios to the floor; peak RSS; heap bytes retained per live run once the runs have
 * made half their agent calls (beyond the floor's; in a batch after the timed ones, which
 * come after one that warms the JIT up); and the longest event-loop block
 * (`monitorEventLoopDelay`). Then the time `addMacros` blocks the loop compiling a macro of
 * 10,000 stages, the first time in a process and warm.
 *
 *   node bench/concurrent.mjs [--lib dist/index.js] [--sizes 100,1000,10000] [--rounds 3] [--batches 3] [--write]
 *
 * `--write` puts the table in bench/RESULTS.md, as its "concurrent" section.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { referenceRun, STAGES } from './lib/reference-run.mjs';
import { writeSection } from './lib/sections.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist/index.js' },
    sizes: { type: 'string', default: '100,1000,10000' },
    rounds: { type: 'string', default: '3' },
    batches: { type: 'string', default: '3' },
    write: { type: 'boolean', default: false },
    case: { type: 'string' },
    size: { type: 'string' },
  },
});
const lib = isAbsolute(args.lib) ? args.lib : resolve(here, '..', args.lib);
const AGENT_MS = 20;
/** The cases of the table, in its order, and their labels. */
const LABELS = {
  floor: 'hand-written (floor)',
  records: "hand-written, keeping each stage's record and spans",
  memory: 'macro-orchestrator',
  sqlite: '+ SQLite (async)',
  'sqlite-inline': '+ SQLite (async, writeThread: false)',
};
/** Agent calls made so far in this process (the floor's stages count as calls). */
let calls = 0;
const wait = (x) => {
  calls++;
  return new Promise((ok) => setTimeout(ok, AGENT_MS, x));
};

if (args.case !== undefined) await runCase(args.case, Number(args.size));
else await drive();

/** One case in this process; prints its figures as JSON. */
async function runCase(engine, runs) {
  const gc = globalThis.gc;
  const mo = await import(pathToFileURL(lib).href);
  let start;
  let close = async () => {};
  if (engine === 'compile') {
    // The first addMacros of a process pays for compiling the compiler (JIT, zod's generated
    // parsers); a server adding macros at run time pays the later, warm figure.
    const stages = Array.from({ length: 10_000 }, (_, i) => mo.agentStage(`s${i}`, 'a'));
    const times = [];
    for (let i = 0; i < 5; i++) {
      const orchestrator = new mo.MacroOrchestrator({ agents: [mo.defineAgent({ id: 'a', invoke: wait })] });
      const t = performance.now();
      orchestrator.addMacros(mo.defineMacro({ name: `big${i}`, description: '10,000 stages', stages }));
      times.push(performance.now() - t);
    }
    console.log(JSON.stringify({ compileMs: times[0], warmCompileMs: Math.min(...times.slice(1)) }));
    return;
  }
  /** A call that waits until `unpark()`, on a timer as the agents' calls do. */
  let unpark = () => {};
  let reached = () => {};
  /** Settles once the parked run makes its call: it then holds a stage's objects. */
  const parkedReached = new Promise((ok) => {
    reached = ok;
  });
  const parkedCall = () =>
    new Promise((ok) => {
      reached();
      const timer = setTimeout(ok, 2 ** 31 - 1);
      unpark = () => {
        clearTimeout(timer);
        ok();
      };
    });
  let park;
  if (engine === 'floor' || engine === 'records') {
    park = async () => {
      await parkedCall();
    };
    start = () => Array.from({ length: runs }, engine === 'floor' ? floorRun : recordingRun);
  } else {
    const agent = mo.defineAgent({ id: 'a', invoke: (input) => wait(input + 1) });
    const macro = mo.defineMacro({
      name: 'ten',
      description: '10 stages of a 20 ms agent',
      stages: Array.from({ length: STAGES }, (_, i) => mo.agentStage(`s${i}`, 'a')),
    });
    const parked = mo.defineMacro({
      name: 'parked',
      description: 'one stage that waits until unparked',
      stages: [mo.agentStage('s0', 'parked')],
    });
    let memory;
    if (engine === 'sqlite' || engine === 'sqlite-inline') {
      const { SqliteMemory } = await import(pathToFileURL(join(dirname(lib), 'sqlite.js')).href);
      const dir = mkdtempSync(join(tmpdir(), 'mo-concurrent-'));
      // sqlite-inline: the group commits on the event loop, as before the write thread (2026-12-05).
      const inline = engine === 'sqlite-inline' ? { writeThread: false } : {};
      memory = new SqliteMemory({ path: join(dir, 'runs.db'), ...inline });
      close = async () => {
        await memory.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    const orchestrator = new mo.MacroOrchestrator({
      agents: [agent, mo.defineAgent({ id: 'parked', invoke: parkedCall })],
      macros: [macro, parked],
      ...(memory === undefined ? {} : { memory, durability: 'async' }),
    });
    park = () => orchestrator.run('parked', { intent: 'wait' }).result;
    start = () =>
      Array.from({ length: runs }, () => orchestrator.run('ten', { intent: 'go' }, { input: 0 }).result);
  }
  // A first batch warms the JIT up, as a server is.
  await Promise.all(start());
  // Timed batches: every run started at once, nothing else in the way; the median wall time.
  // Each batch starts after a full GC, first with one run in flight (a busy server: the run
  // holds one of each of the engine's per-run objects and a timer), then with none (a burst
  // after an idle spell). With nothing alive, the GC frees the hidden classes V8 made for
  // those objects, and the optimized code that relied on them is thrown away: the next
  // batch starts on unoptimized code (at 1,000 runs, its runs took twice as long to reach
  // their first agent call). The floor has few such objects: it pays little of it.
  const failed = [];
  const failedRun = (r) => typeof r === 'object' && (r.status !== 'succeeded' || r.persistence?.ok === false);
  let maxBlockMs = 0;
  const timed = async () => {
    const walls = [];
    for (let batch = 0; batch < Number(args.batches); batch++) {
      gc();
      // One monitor a batch: one enabled again would count the gc() above as a block.
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const t = performance.now();
      // Only the failures are kept: a batch's results held into the next one (30,000 at
      // 10,000 runs) made the later batches' garbage collection mark them again and again
      // (6-12% of the wall time at 10,000 runs), a cost no server serving requests pays.
      for (const r of await Promise.all(start())) if (failedRun(r)) failed.push(r);
      walls.push(performance.now() - t);
      delay.disable();
      maxBlockMs = Math.max(maxBlockMs, delay.max / 1e6);
    }
    return walls.sort((a, b) => a - b)[Math.floor(walls.length / 2)];
  };
  const inFlight = park();
  await parkedReached;
  const wallMs = await timed();
  unpark();
  const parkedResult = await inFlight;
  if (failedRun(parkedResult)) failed.push(parkedResult);
  const idleWallMs = await timed();
  // Third batch: the heap retained per live run once the runs have made half their agent
  // calls, less the heap before them. Measured after the first batch, what the process makes
  // once (optimized code, caches) is not counted per run (~0.6 KB a run at 1,000 runs, when
  // retention was measured in the first batch, before 2026-12-04). The loop turns first: the
  // last runs' writes and turns settle after their results, and a heap measured before would
  // count what they free during the batch (~4 KB a run at 10,000).
  await new Promise((settled) => setTimeout(settled, 100));
  gc();
  const before = process.memoryUsage().heapUsed;
  calls = 0;
  const third = start();
  while (calls < (runs * STAGES) / 2) await new Promise((ok) => setTimeout(ok, 1));
  gc();
  const retained = (process.memoryUsage().heapUsed - before) / runs;
  await Promise.all(third);
  await close();
  console.log(
    JSON.stringify({
      wallMs,
      idleWallMs,
      retained,
      rssMiB: process.resourceUsage().maxRSS / 1024,
      maxBlockMs,
      failed: failed.length,
    }),
  );
}

/** The floor's run: a for-loop of `await stage(x)`. */
async function floorRun() {
  let x = 0;
  for (let s = 0; s < STAGES; s++) x = await wait(x + 1);
  return x;
}

/** The floor's run, keeping what a run's result holds of each stage (bench/lib/reference-run.mjs). */
function recordingRun() {
  return referenceRun(wait);
}

/** Every case in a child process, `rounds` times; prints the median figures as a table. */
async function drive() {
  const once = (engine, size) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          fileURLToPath(import.meta.url),
          '--lib',
          lib,
          '--case',
          engine,
          '--size',
          String(size),
          '--batches',
          args.batches,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      ),
    );
  const median = (rows, key) => rows.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  const rounds = Number(args.rounds);
  const lines = [];
  const out = (line) => {
    console.log(line);
    lines.push(line);
  };
  out(
    `R concurrent runs × ${STAGES} stages × a ${AGENT_MS} ms agent; median of ${rounds} processes, each wall time the median of ${args.batches} batches.\n`,
  );
  out(
    '| runs | engine | wall, one run in flight | ratio to floor | wall after an idle spell | ratio to floor | peak RSS | retained per live run (beyond the floor) | longest block |',
  );
  out('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const size of args.sizes.split(',').map(Number)) {
    const rows = Object.fromEntries(Object.keys(LABELS).map((engine) => [engine, []]));
    for (let r = 0; r < rounds; r++)
      for (const engine of Object.keys(rows)) rows[engine].push(once(engine, size));
    const floorMs = median(rows.floor, 'wallMs');
    const floorIdleMs = median(rows.floor, 'idleWallMs');
    const floorRetained = median(rows.floor, 'retained');
    for (const [engine, runs] of Object.entries(rows)) {
      const failed = runs.reduce((n, r) => n + r.failed, 0);
      if (failed > 0) throw new Error(`${failed} ${engine} runs failed at R=${size}`);
      const wallMs = median(runs, 'wallMs');
      const idleWallMs = median(runs, 'idleWallMs');
      const label = LABELS[engine];
      const extra =
        engine === 'floor' ? '—' : `${((median(runs, 'retained') - floorRetained) / 1024).toFixed(1)} KB`;
      out(
        `| ${size.toLocaleString('en')} | ${label} | ${wallMs.toFixed(0)} ms | ${(wallMs / floorMs).toFixed(2)} | ${idleWallMs.toFixed(0)} ms | ${(idleWallMs / floorIdleMs).toFixed(2)} | ${median(runs, 'rssMiB').toFixed(0)} MiB | ${extra} | ${median(runs, 'maxBlockMs').toFixed(0)} ms |`,
      );
    }
  }
  const compile = Array.from({ length: rounds }, () => once('compile', 0));
  out(
    `\naddMacros of a 10,000-stage macro blocks the loop for ${median(compile, 'compileMs').toFixed(0)} ms the first time in a process, ${median(compile, 'warmCompileMs').toFixed(0)} ms later on`,
  );
  if (args.write) {
    const heading = `## Many concurrent runs (bench/concurrent.mjs, ${new Date().toISOString().slice(0, 10)}, Node ${process.version})`;
    writeSection(join(here, 'RESULTS.md'), 'concurrent', `${heading}\n\n${lines.join('\n')}`);
  }
}
