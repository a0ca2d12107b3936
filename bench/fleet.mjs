/**
 * Runs per second on a BullMQ worker fleet: a 10-stage no-op macro served by 1, 2 and 4
 * `MacroWorker` processes, beside BullMQ's own no-op jobs served by as many plain
 * `Worker` processes (the floor), measured in the same run. Each measure's workers first
 * serve `--warmup` jobs of their kind (untimed: long-running workers are warm); then the
 * runs are enqueued on a paused queue, and the clock runs from `resume()` until every job
 * has completed. Runs are
 * measured as enqueued by default (their events written to Redis for `MacroQueue.events`)
 * and with `events: false` (runs whose events nobody follows).
 *
 *   node bench/fleet.mjs [--lib dist/index.js] [--runs 3000] [--workers 1,2,4] [--concurrency 32] [--memory memory|postgres] [--rounds 3] [--warmup 3000] [--write]
 *
 * `--write` puts the table in bench/RESULTS.md, as its "fleet-<memory>" section.
 *
 * Needs Redis on 127.0.0.1:6379 (and, for `--memory postgres`, PostgreSQL at
 * MO_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import { fork } from 'node:child_process';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { writeSection } from './lib/sections.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist/index.js' },
    runs: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '1,2,4' },
    concurrency: { type: 'string', default: '32' },
    memory: { type: 'string', default: 'memory' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3000' },
    write: { type: 'boolean', default: false },
  },
});
const dist = dirname(isAbsolute(args.lib) ? args.lib : resolve(here, '..', args.lib));
const runs = Number(args.runs);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);
const postgresUrl = process.env.MO_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const connection = { host: '127.0.0.1', port: 6379 };
const profileDir = process.env.MO_BENCH_PROFILE;
const { MacroQueue } = await import(pathToFileURL(join(dist, 'bullmq.js')).href);

/** Starts `count` worker processes and resolves once each is connected. */
async function startWorkers(mode, name, count, schema) {
  const workers = Array.from({ length: count }, () =>
    fork(
      join(here, 'fleet-worker.mjs'),
      [mode, name, String(concurrency), dist, args.memory, postgresUrl, schema],
      {
        // MO_BENCH_PROFILE=dir: a CPU profile of every worker process, written to dir
        execArgv: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
      },
    ),
  );
  await Promise.all(
    workers.map(
      (child) =>
        new Promise((ok, fail) => {
          child.once('message', ok);
          child.once('exit', (code) =>
            fail(new Error(`a ${mode} worker exited (${code}) before it was ready`)),
          );
        }),
    ),
  );
  return workers;
}

async function stopWorkers(workers) {
  await Promise.all(
    workers.map((child) => {
      child.removeAllListeners('exit');
      const exited = new Promise((ok) => child.once('exit', ok));
      child.send('close');
      return exited;
    }),
  );
}

/** Runs per second of `mode` (floor, macro, quiet: macro with `events: false`) on `count` worker processes. */
async function measure(mode, count) {
  const name = `mo-bench-${process.pid}-${mode}-${count}-${Date.now()}`;
  const schema = `mo_bench_${process.pid}_${count}`;
  const producer = mode === 'floor' ? new Queue(name, { connection }) : new MacroQueue({ connection, name });
  const queue = mode === 'floor' ? producer : producer.queue;
  const workers = await startWorkers(mode === 'floor' ? 'floor' : 'macro', name, count, schema);
  // Warm: the workers' code optimized and their heaps grown to their steady size, as a
  // fleet's long-running workers are (cold, a worker pays JIT and page faults in the measure).
  await enqueue(mode, producer, queue, warmup);
  await completed(queue, warmup);
  await queue.pause();
  await enqueue(mode, producer, queue, runs);
  for (const child of workers) child.send('mark');
  const started = performance.now();
  await queue.resume();
  const counts = await completed(queue, warmup + runs);
  const ms = performance.now() - started;
  const cpuMs = await Promise.all(
    workers.map((child) => {
      const answer = new Promise((ok) => child.once('message', (m) => ok(m.cpuMs)));
      child.send('cpu');
      return answer;
    }),
  );
  await stopWorkers(workers);
  await queue.obliterate({ force: true });
  await producer.close();
  if (counts.failed > 0) throw new Error(`${counts.failed} ${mode} jobs failed`);
  // Worker CPU per job: what the ratio of throughputs comes from, steadier than it on a shared VM.
  return { perSecond: (runs / ms) * 1000, cpuUs: (cpuMs.reduce((a, b) => a + b, 0) * 1000) / runs };
}

/** Adds `n` jobs: no-op jobs (floor), or runs (with `events: false` when `quiet`). */
async function enqueue(mode, producer, queue, n) {
  for (let i = 0; i < n; i += 500) {
    const batch = Math.min(500, n - i);
    if (mode === 'floor')
      await queue.addBulk(Array.from({ length: batch }, () => ({ name: 'noop', data: {} })));
    else {
      const options = mode === 'quiet' ? { events: false } : {};
      await Promise.all(
        Array.from({ length: batch }, () => producer.enqueue('ten', { intent: 'go' }, options)),
      );
    }
  }
}

/** Resolves with the queue's job counts once `total` jobs have completed or failed. */
async function completed(queue, total) {
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if (counts.completed + counts.failed >= total) return counts;
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

/** `--memory postgres`: a schema per worker count, dropped before and after the measures. */
const pgClient = args.memory === 'postgres' ? await connectPostgres() : undefined;
async function connectPostgres() {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  return client;
}
async function dropSchemas() {
  for (const count of args.workers.split(',')) {
    await pgClient?.query(`DROP SCHEMA IF EXISTS mo_bench_${process.pid}_${count} CASCADE`);
  }
}
await dropSchemas();

const lines = [];
const out = (line) => {
  console.log(line);
  lines.push(line);
};
out(
  `${runs} runs of a 10-stage no-op macro per measure after ${warmup} untimed, concurrency ${concurrency} per process, memory: ${args.memory}; median of ${rounds}. CPU: the worker processes' CPU time per job in the timed window, µs.\n`,
);
out(
  '| worker processes | BullMQ no-op jobs/s (floor) | CPU | macro runs/s | ratio | CPU | runs/s, `events: false` | ratio | CPU |',
);
out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const count of args.workers.split(',').map(Number)) {
  const figures = { floor: [], macro: [], quiet: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['floor', 'macro', 'quiet']) figures[mode].push(await measure(mode, count));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [f, m, q] = ['floor', 'macro', 'quiet'].map((mode) => ({
    perSecond: median(figures[mode].map((x) => x.perSecond)),
    cpuUs: median(figures[mode].map((x) => x.cpuUs)),
  }));
  const cells = (x) =>
    `${x.perSecond.toFixed(0)} | ${(x.perSecond / f.perSecond).toFixed(2)} | ${x.cpuUs.toFixed(0)}`;
  out(`| ${count} | ${f.perSecond.toFixed(0)} | ${f.cpuUs.toFixed(0)} | ${cells(m)} | ${cells(q)} |`);
}
await dropSchemas();
await pgClient?.end();
if (args.write) {
  const heading = `## Runs per second on a BullMQ worker fleet (bench/fleet.mjs, ${new Date().toISOString().slice(0, 10)}, Node ${process.version})`;
  writeSection(join(here, 'RESULTS.md'), `fleet-${args.memory}`, `${heading}\n\n${lines.join('\n')}`);
}
