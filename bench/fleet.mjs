/**
 * Runs per second on a BullMQ worker fleet: a 10-stage no-op macro served by 1, 2 and 4
 * `MacroWorker` processes, beside BullMQ's own no-op jobs served by as many plain
 * `Worker` processes (the floor), measured in the same run. The runs are enqueued on a
 * paused queue; the clock runs from `resume()` until every job has completed. Runs are
 * measured as enqueued by default (their events written to Redis for `MacroQueue.events`)
 * and with `events: false` (runs whose events nobody follows).
 *
 *   node bench/fleet.mjs [--lib dist/index.js] [--runs 3000] [--workers 1,2,4] [--concurrency 32] [--memory memory|postgres] [--rounds 3] [--write]
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
    write: { type: 'boolean', default: false },
  },
});
const dist = dirname(isAbsolute(args.lib) ? args.lib : resolve(here, '..', args.lib));
const runs = Number(args.runs);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
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
  await queue.pause();
  const workers = await startWorkers(mode === 'floor' ? 'floor' : 'macro', name, count, schema);
  for (let i = 0; i < runs; i += 500) {
    const n = Math.min(500, runs - i);
    if (mode === 'floor') await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: {} })));
    else {
      const options = mode === 'quiet' ? { events: false } : {};
      await Promise.all(Array.from({ length: n }, () => producer.enqueue('ten', { intent: 'go' }, options)));
    }
  }
  const started = performance.now();
  await queue.resume();
  let counts;
  for (;;) {
    counts = await queue.getJobCounts('completed', 'failed');
    if (counts.completed + counts.failed >= runs) break;
    await new Promise((ok) => setTimeout(ok, 5));
  }
  const ms = performance.now() - started;
  await stopWorkers(workers);
  await queue.obliterate({ force: true });
  await producer.close();
  if (counts.failed > 0) throw new Error(`${counts.failed} ${mode} jobs failed`);
  return (runs / ms) * 1000;
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
  `${runs} runs of a 10-stage no-op macro per measure, concurrency ${concurrency} per process, memory: ${args.memory}; median of ${rounds}.\n`,
);
out(
  '| worker processes | BullMQ no-op jobs/s (floor) | macro runs/s | ratio | runs/s, `events: false` | ratio |',
);
out('|---:|---:|---:|---:|---:|---:|');
for (const count of args.workers.split(',').map(Number)) {
  const floor = [];
  const macro = [];
  const quiet = [];
  for (let round = 0; round < rounds; round++) {
    floor.push(await measure('floor', count));
    macro.push(await measure('macro', count));
    quiet.push(await measure('quiet', count));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [f, m, q] = [median(floor), median(macro), median(quiet)];
  out(
    `| ${count} | ${f.toFixed(0)} | ${m.toFixed(0)} | ${(m / f).toFixed(2)} | ${q.toFixed(0)} | ${(q / f).toFixed(2)} |`,
  );
}
await dropSchemas();
await pgClient?.end();
if (args.write) {
  const heading = `## Runs per second on a BullMQ worker fleet (bench/fleet.mjs, ${new Date().toISOString().slice(0, 10)}, Node ${process.version})`;
  writeSection(join(here, 'RESULTS.md'), `fleet-${args.memory}`, `${heading}\n\n${lines.join('\n')}`);
}
