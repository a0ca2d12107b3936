/**
 * The benchmark driver: runs every case in its own `node --expose-gc` process, one at a
 * time, prints a table per workload, and writes bench/RESULTS.md.
 *
 *   node bench/run.mjs [--lib dist/index.js] [--quick] [--rounds R] [--filter REGEX] [--out FILE | --no-write] [--json FILE]
 *   node bench/run.mjs --render FILE.json [--out FILE]   (re-render a --json file, no runs)
 *
 * `npm run bench` (root) installs bench/ deps, builds dist/ and runs this. A `.ts` --lib
 * (src/index.ts) is loaded through tsx, for iterating without a build.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { keptSections } from './lib/sections.mjs';
import { MIXED, QUICK_SIZES, SIZES } from './lib/workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist/index.js' },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    filter: { type: 'string' },
    out: { type: 'string', default: join(here, 'RESULTS.md') },
    'no-write': { type: 'boolean', default: false },
    json: { type: 'string' },
    render: { type: 'string' },
  },
});

const libPath = isAbsolute(args.lib) ? args.lib : resolve(root, args.lib);
const viaTsx = libPath.endsWith('.ts');
/** The `macro-orchestrator/sqlite` entry beside the main one (dist/sqlite.js, src/sqlite.ts). */
const sqliteLib = join(dirname(libPath), viaTsx ? 'sqlite.ts' : 'sqlite.js');
/** The `macro-orchestrator/postgres` entry beside the main one. */
const postgresLib = join(dirname(libPath), viaTsx ? 'postgres.ts' : 'postgres.js');
/** The database the PostgreSQL cases use (each case makes and drops a schema of its own). */
const postgresUrl = process.env.MO_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const quick = args.quick;
/**
 * Passes over the cases. Every pass after the first runs the macro-orchestrator, floor and
 * p-limit cases again (not the peers, whose ratios are far beyond the noise); a case reports
 * the pass with its median time. A shared machine's slow spells then hit one pass of a case,
 * not all of it.
 */
const rounds = Math.max(1, Number.parseInt(args.rounds, 10) || 1);
const sizes = quick ? QUICK_SIZES : SIZES;
/** Warm-up and sampling time per case (ms). */
const WARM_MS = quick ? 100 : 300;
const BUDGET_MS = quick ? 250 : 1_000;
/** A peer's size is skipped when one run of it is projected to take longer than this (ms). */
const CAP_RUN_MS = quick ? 1_500 : 4_000;
/** A case process is killed after this long (ms). */
const CASE_TIMEOUT_MS = quick ? 60_000 : 120_000;

// ── what runs ───────────────────────────────────────────────────────────────

const MO = 'macro-orchestrator';
/** Engine variants per workload; `key` identifies a variant across sizes. */
function variants(workload, { sqlite, postgres }) {
  const mo = (listener, extra = {}) => ({
    engine: 'mo',
    listener,
    ...extra,
    key: `mo-${listener}${extra.concurrency ? `-c${extra.concurrency}` : ''}${extra.memory ? `-${extra.memory}` : ''}${extra.forEach ? '-each' : ''}`,
    label: `${MO}${extra.forEach ? ' forEach' : ''}${extra.concurrency ? ` c=${extra.concurrency}` : ''}${
      listener === 'on' ? ' + listener' : listener === 'iter' ? ' + iterator' : ''
    }${extra.memory === 'sqlite' ? ' + SQLite' : extra.memory === 'postgres' ? ' + PostgreSQL' : ''}`,
  });
  const floor = {
    engine: 'floor',
    key: 'floor',
    label: workload === 'seq' || workload === 'doc' ? 'await loop (floor)' : 'Promise.all (floor)',
  };
  const peers = [
    { engine: 'langgraph', key: 'langgraph', label: 'LangGraph' },
    { engine: 'langgraph-mem', key: 'langgraph-mem', label: 'LangGraph + MemorySaver' },
    { engine: 'mastra', key: 'mastra', label: 'Mastra' },
  ];
  // SQLite memory with a checkpoint per stage, when `macro-orchestrator/sqlite` loads.
  // And PostgreSQL, when `macro-orchestrator/postgres` loads and the server answers.
  const withSqlite = [
    ...(sqlite ? [mo('on', { memory: 'sqlite' })] : []),
    ...(postgres ? [mo('on', { memory: 'postgres' })] : []),
  ];
  switch (workload) {
    case 'seq':
      return [floor, mo('none'), mo('on'), mo('iter'), ...withSqlite, ...peers];
    case 'fan':
      return [
        floor,
        { engine: 'plimit', key: 'plimit', label: 'p-limit(64)' },
        mo('none'),
        mo('on'),
        mo('none', { concurrency: 64 }),
        mo('on', { concurrency: 64 }),
        // The same K branches as one forEach over K elements (a dynamic fan-out).
        mo('none', { forEach: true }),
        mo('on', { forEach: true }),
        ...withSqlite,
        ...peers,
      ];
    case 'mixed':
      return [floor, mo('none'), mo('on'), ...withSqlite, ...peers];
    case 'doc':
      return [floor, mo('none'), mo('on')];
  }
  throw new Error(workload);
}

const WORKLOADS = {
  seq: 'Sequential chain of N stages',
  fan: 'Fan-out / fan-in of K branches',
  mixed: `Mixed macro: plan → ${MIXED.layers} × parallel(${MIXED.width} gated branches) → decide (${MIXED.voters} voters, majority) → summarise`,
  doc: 'Sequential chain of N stages passing a small document (object outputs, each recorded as an immutable copy)',
};

// ── running cases ───────────────────────────────────────────────────────────

function nodeFlags() {
  return ['--expose-gc', ...(viaTsx ? ['--import', 'tsx'] : [])];
}

/** Whether a PostgreSQL server answers at `url` (checked in a child process, with `pg`). */
function answers(url) {
  const probe = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { default: pg } = await import('pg'); const c = new pg.Client({ connectionString: ${JSON.stringify(url)}, connectionTimeoutMillis: 3000 }); await c.connect(); await c.end();`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return probe.status === 0;
}

/** The names a module exports, loaded in a child process; undefined when it does not load. */
function exportsOf(path) {
  const probe = spawnSync(
    process.execPath,
    [
      ...nodeFlags(),
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(pathToFileURL(path).href)}); console.log(JSON.stringify(Object.keys(m)));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (probe.status !== 0) return undefined;
  return JSON.parse(probe.stdout.trim().split('\n').pop());
}

function runCase(spec) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [...nodeFlags(), join(here, 'case.mjs'), JSON.stringify(spec)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolvePromise({ ok: true, ...JSON.parse(line) });
      else {
        const why = timedOut
          ? `timed out after ${CASE_TIMEOUT_MS / 1000} s`
          : (stderr
              .trim()
              .split('\n')
              .find((l) => /Error/.test(l)) ?? `exit ${code}`);
        resolvePromise({ ok: false, error: why.slice(0, 200), stderr });
      }
    });
  });
}

const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 1 ? 3 : 1)} ms`);

async function runAll() {
  if (exportsOf(libPath) === undefined) throw new Error(`cannot load ${libPath}`);
  // The SQLite cases run when `macro-orchestrator/sqlite` loads (better-sqlite3 installed).
  const sqlite = exportsOf(sqliteLib)?.includes('SqliteMemory') === true;
  if (!sqlite) process.stdout.write(`(no SQLite cases: ${relative(root, sqliteLib)} does not load)\n`);
  const postgres = exportsOf(postgresLib)?.includes('PostgresMemory') === true && answers(postgresUrl);
  if (!postgres)
    process.stdout.write(`(no PostgreSQL cases: ${relative(root, postgresLib)} or ${postgresUrl})\n`);
  const filter = args.filter === undefined ? undefined : new RegExp(args.filter);
  /** Each case's results, one per pass it ran in, in the order the cases first ran. */
  const passes = new Map();
  const record = (result) => {
    const list = passes.get(result.id);
    if (list === undefined) passes.set(result.id, [result]);
    else list.push(result);
  };
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) process.stdout.write(`pass ${round + 1} of ${rounds}\n`);
    for (const workload of Object.keys(WORKLOADS)) {
      for (const variant of variants(workload, { sqlite, postgres })) {
        const isPeer = variant.engine.startsWith('langgraph') || variant.engine === 'mastra';
        if (round > 0 && isPeer) continue;
        let previous;
        let skipRest;
        for (const size of sizes[workload]) {
          const id = `${workload}/${size}/${variant.key}`;
          if (filter !== undefined && !filter.test(id)) continue;
          if (round > 0 && passes.get(id)?.[0]?.ok !== true) continue; // failed or capped once
          const { key, label, ...engine } = variant;
          const row = { id, workload, size, key, label };
          if (skipRest !== undefined) {
            record({ ...row, ok: false, capped: true, error: skipRest });
            process.stdout.write(`  ${id.padEnd(34)} skipped: ${skipRest}\n`);
            continue;
          }
          const spec = {
            id,
            workload,
            size,
            ...engine,
            lib: libPath,
            sqliteLib,
            postgresLib,
            postgresUrl,
            warmMs: WARM_MS,
            budgetMs: BUDGET_MS,
          };
          const outcome = await runCase(spec);
          const result = { ...row, ...outcome };
          record(result);
          if (!outcome.ok) {
            process.stdout.write(`  ${id.padEnd(34)} FAILED: ${outcome.error}\n`);
            if (/timed out/.test(outcome.error)) skipRest = `capped (size ${size} timed out)`;
            continue;
          }
          const perStage = (outcome.medianMs * 1000) / size;
          process.stdout.write(
            `  ${id.padEnd(34)} ${perStage.toFixed(3).padStart(10)} µs/stage  ${fmtMs(outcome.medianMs).padStart(9)}/run  ${Math.round(outcome.allocatedBytes / size)} B/stage\n`,
          );
          // Cap the peers: project the next size's run time from this one and the growth so far.
          // macro-orchestrator and the floors run every size.
          const index = sizes[workload].indexOf(size);
          const next = sizes[workload][index + 1];
          if (next !== undefined && isPeer) {
            const growth =
              previous === undefined
                ? 1
                : Math.max(1, perStage / ((previous.medianMs * 1000) / previous.size));
            const projected = outcome.medianMs * (next / size) * growth;
            if (projected > CAP_RUN_MS) {
              const at = `${workload === 'fan' ? 'K' : 'N'}=${next.toLocaleString('en-US')}`;
              skipRest = `capped: one run at ${at} projected at ${fmtMs(projected)} (> ${CAP_RUN_MS / 1000} s)`;
            }
          }
          previous = result;
        }
      }
    }
  }
  // A case that failed in any pass is reported as failed; otherwise its median pass.
  const results = [...passes.values()].map((list) => {
    const failed = list.find((r) => !r.ok);
    if (failed !== undefined) return failed;
    const sorted = [...list].sort((a, b) => a.medianMs - b.medianMs);
    return { ...sorted[(sorted.length - 1) >> 1], passes: list.length };
  });
  return { results, seconds: (performance.now() - started) / 1000, sqlite, postgres };
}

// ── reporting ───────────────────────────────────────────────────────────────

const n = (value) => value.toLocaleString('en-US');
function num(value, digits) {
  if (value >= 100) return n(Math.round(value));
  if (value >= 10) return value.toFixed(Math.min(digits, 1));
  return value.toFixed(digits);
}
const ratio = (value) =>
  value >= 100 ? `${n(Math.round(value))}×` : `${value.toFixed(value >= 10 ? 0 : 1)}×`;
const bytes = (value) =>
  value >= 10_240 ? `${n(Math.round(value / 1024))} KB` : `${n(Math.round(value))} B`;

function perStage(r) {
  return r.ok ? (r.medianMs * 1000) / r.size : undefined;
}

function tableFor(workload, results) {
  const rows = results.filter((r) => r.workload === workload);
  const at = (size, key) => rows.find((r) => r.size === size && r.key === key);
  const peerCell = (r, key) => {
    if (r.key.startsWith('langgraph') || r.key === 'mastra') return '';
    const peer = at(r.size, key);
    if (peer === undefined) return '';
    if (!peer.ok) return peer.capped ? 'capped' : 'failed';
    return ratio(perStage(peer) / perStage(r));
  };
  const lines = [
    `| ${workload === 'fan' ? 'K' : 'N'} | engine | µs/stage | × floor | LangGraph ÷ this | LG+MemorySaver ÷ this | Mastra ÷ this | allocated/stage | retained/stage | run (median) |`,
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const size of [...new Set(rows.map((r) => r.size))]) {
    for (const r of rows.filter((x) => x.size === size)) {
      if (!r.ok) {
        lines.push(`| ${n(size)} | ${r.label} | ${r.error} | | | | | | | |`);
        continue;
      }
      const floor = at(size, 'floor');
      const us = perStage(r);
      lines.push(
        `| ${n(size)} | ${r.label} | ${num(us, us < 1 ? 3 : 2)} | ${floor?.ok ? ratio(us / perStage(floor)) : ''} | ${peerCell(r, 'langgraph')} | ${peerCell(r, 'langgraph-mem')} | ${peerCell(r, 'mastra')} | ${bytes(r.allocatedBytes / size)} | ${size >= 1_000 ? bytes(Math.max(0, r.retainedBytes) / size) : '–'} | ${fmtMs(r.medianMs)} |`,
      );
    }
  }
  return lines.join('\n');
}

function growthTable(results) {
  const lines = [
    '| workload | engine | smallest | µs/stage | largest run | µs/stage | growth |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const workload of ['seq', 'fan']) {
    const keys = [...new Set(results.filter((r) => r.workload === workload).map((r) => r.key))];
    for (const key of keys) {
      const ok = results.filter((r) => r.workload === workload && r.key === key && r.ok);
      if (ok.length < 2) continue;
      const first = ok[0];
      const last = ok[ok.length - 1];
      lines.push(
        `| ${workload} | ${first.label} | ${n(first.size)} | ${num(perStage(first), 3)} | ${n(last.size)} | ${num(perStage(last), 3)} | ${ratio(perStage(last) / perStage(first))} |`,
      );
    }
  }
  return lines.join('\n');
}

function targets(results) {
  const mine = results.filter((r) => r.key === 'mo-on' && r.ok);
  const lines = ['| target | measured | met |', '|---|---|:-:|'];
  const mark = (ok) => (ok ? 'yes' : '**no**');
  if (mine.length === 0) return '(no macro-orchestrator + listener cases ran)';
  const worst = mine.reduce((a, b) => (perStage(b) > perStage(a) ? b : a));
  lines.push(
    `| ≤ 5 µs per stage, default pipeline + one listener + in-memory memory, every N | worst ${num(perStage(worst), 2)} µs (${worst.workload} ${n(worst.size)}) | ${mark(perStage(worst) <= 5)} |`,
  );
  for (const workload of ['seq', 'fan']) {
    const small = mine.find((r) => r.workload === workload && r.size === 10);
    const big = mine.find((r) => r.workload === workload && r.size === 10_000);
    if (small && big) {
      const g = perStage(big) / perStage(small);
      lines.push(
        `| flat growth: ${workload} 10,000 within 1.5× of 10 | ${num(perStage(small), 2)} → ${num(perStage(big), 2)} µs (${g.toFixed(2)}×) | ${mark(g <= 1.5)} |`,
      );
    }
  }
  const worstAlloc = mine.reduce((a, b) => (b.allocatedBytes / b.size > a.allocatedBytes / a.size ? b : a));
  const alloc = worstAlloc.allocatedBytes / worstAlloc.size;
  // The marginal cost of a stage, without the run's fixed cost: the slope between sizes.
  const slopes = ['seq', 'fan'].flatMap((workload) => {
    const rows = mine.filter((r) => r.workload === workload);
    if (rows.length < 2) return [];
    const [a, b] = [rows[0], rows[rows.length - 1]];
    return [`${workload} ${bytes((b.allocatedBytes - a.allocatedBytes) / (b.size - a.size))}`];
  });
  lines.push(
    `| ≤ 4 KB allocated per stage | worst ${bytes(alloc)} (${worstAlloc.workload} ${n(worstAlloc.size)}, the run's fixed cost included)${slopes.length > 0 ? `; per added stage: ${slopes.join(', ')}` : ''} | ${mark(alloc <= 4096)} |`,
  );
  const fan = results.filter((r) => r.workload === 'fan' && r.key === 'mo-on');
  const k100k = fan.find((r) => r.size === 100_000);
  const k1k = fan.find((r) => r.size === 1_000 && r.ok);
  if (k100k !== undefined) {
    if (!k100k.ok) lines.push(`| 100,000-branch fan-out completes, heap linear | ${k100k.error} | **no** |`);
    else {
      const per100k = k100k.retainedBytes / k100k.size;
      const per1k = k1k ? k1k.retainedBytes / k1k.size : undefined;
      // With a slack of 128 B per branch: near 0 (nothing accumulates), 1.5x is noise.
      const linear = per1k === undefined || per100k <= Math.max(1.5 * per1k, per1k + 128);
      lines.push(
        `| 100,000-branch fan-out completes, heap linear in its results | completed; retained ${bytes(per100k)}/branch at 100,000${per1k ? ` vs ${bytes(per1k)} at 1,000` : ''}, peak ${n(Math.round(k100k.peakBytes / 1048576))} MB | ${mark(linear)} |`,
      );
    }
  }
  const sqlite = results.filter((r) => r.key === 'mo-on-sqlite' && r.ok);
  if (sqlite.length > 0) {
    const w = sqlite.reduce((a, b) => (perStage(b) > perStage(a) ? b : a));
    lines.push(
      `| ≤ 50 µs per stage with SQLite checkpoints | worst ${num(perStage(w), 1)} µs (${w.workload} ${n(w.size)}) | ${mark(perStage(w) <= 50)} |`,
    );
  } else {
    lines.push(
      '| ≤ 50 µs per stage with SQLite checkpoints | not measured: `macro-orchestrator/sqlite` did not load | – |',
    );
  }
  const postgres = results.filter((r) => r.key === 'mo-on-postgres' && r.ok);
  if (postgres.length > 0) {
    const w = postgres.reduce((a, b) => (perStage(b) > perStage(a) ? b : a));
    lines.push(
      `| per stage with PostgreSQL checkpoints (no target yet; one round trip per coalesced checkpoint) | worst ${num(perStage(w), 1)} µs (${w.workload} ${n(w.size)}) | – |`,
    );
  }
  return lines.join('\n');
}

function versionOf(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function gitDescription() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    });
    return `${sha}${dirty.trim() ? ' with uncommitted src/ changes' : ''}`;
  } catch {
    return 'unknown commit';
  }
}

/** Where and how the figures were taken, kept with them in the --json file. */
function metadata(seconds, loadStart) {
  const cpus = os.cpus();
  const pkg = (name) => versionOf(join(here, 'node_modules', name));
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    seconds,
    quick,
    rounds,
    capRunMs: CAP_RUN_MS,
    load: [loadStart, os.loadavg()[0]],
    machine: `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()} ${os.arch()}`,
    node: `Node ${process.version} (V8 ${process.versions.v8})`,
    library: `macro-orchestrator ${versionOf(root)} (${relative(root, libPath)}, ${gitDescription()})`,
    packages: Object.fromEntries(
      ['@langchain/langgraph', '@langchain/core', '@mastra/core', 'p-limit', 'zod', 'mitata'].map((name) => [
        name,
        pkg(name),
      ]),
    ),
  };
}

function report({ results, meta }) {
  const pkg = (name) => meta.packages[name];
  const failed = results.filter((r) => !r.ok && !r.capped);
  const capped = results.filter((r) => r.capped);
  const harmony = results.find((r) => r.workload === 'mixed' && r.key.startsWith('mo-') && r.ok)?.harmony;
  const out = [];
  out.push('# Benchmark results', '');
  out.push(
    `Generated by \`npm run bench\` (bench/run.mjs${meta.quick ? ' --quick' : ''}${(meta.rounds ?? 1) > 1 ? ` --rounds ${meta.rounds}` : ''}) on ${meta.date} UTC, in ${Math.round(meta.seconds)} s.`,
    '',
  );
  out.push(`- Machine: ${meta.machine}`);
  out.push(
    `- Load average (1 min) at start / end: ${meta.load[0].toFixed(2)} / ${meta.load[1].toFixed(2)} (2 cores): other work on the machine shows up as noise, ±30% on a busy one`,
  );
  out.push(`- ${meta.node}`);
  out.push(`- ${meta.library}`);
  out.push(
    `- Peers: @langchain/langgraph ${pkg('@langchain/langgraph')}, @langchain/core ${pkg('@langchain/core')}, @mastra/core ${pkg('@mastra/core')}, p-limit ${pkg('p-limit')}, zod ${pkg('zod')}; timing by mitata ${pkg('mitata')}`,
  );
  out.push('');
  out.push('## How it is measured', '');
  out.push(
    "- Every agent is a no-op `async (x) => x + 1`, so only orchestration is measured; every run's output is checked (a skipped stage fails the case), and the listener cases check that the listener saw every event the run emitted.",
    "- Each case runs in its own `node --expose-gc` process: build the graph (not timed), warm up, then mitata samples whole runs until the time budget is spent; **µs/stage is the median run time ÷ stages** (N, K, or the mixed macro's agent stages).",
    ...((meta.rounds ?? 1) > 1
      ? [
          `- ${meta.rounds} passes over the cases: the macro-orchestrator, floor and p-limit cases ran once per pass, and each reports the pass with its median time (its other figures from that same pass), so a slow spell of the machine hits one pass of a case rather than all of it; the peers ran in the first pass only.`,
        ]
      : []),
    "- **allocated/stage**: bytes allocated by one run (heap growth plus everything the GCs during it freed, from V8's GCProfiler) ÷ stages, the run's fixed cost included. **retained/stage**: heap still in use after a full GC while the run's result is held ÷ stages; shown from 1,000 stages up, below which it is within the measurement's noise. `InMemoryMemory` keeps results by reference, so with it the result held is the very object the adapter stores, in place of the oldest of the 4 it keeps: its retained/stage is what runs accumulate beyond their stored results (about 0). The SQLite rows, which store JSON, show the size of a result itself.",
    '- **× floor**: this ÷ the hand-written code at the same size. **Peer ÷ this**: how many times more time per stage the peer takes (above 1 means macro-orchestrator is faster).',
    '- macro-orchestrator: default Execution Pipeline, default scheduling (unlimited) or `{ concurrency: 64 }`, `InMemoryMemory({ maxRuns: 4 })` (the default keeps 1,000 results, which for 10,000-stage runs is gigabytes held by the benchmark itself). "+ listener" is one `run.on` listener per event type; "+ iterator" is `for await (const e of run)`.',
    `- Peers run the equivalent graph with no listener or stream consumer: LangGraph.js \`StateGraph\` (one node per stage, fan-in by a waiting edge, \`recursionLimit\` raised to fit), with \`MemorySaver\` a fresh thread per run deleted after it; Mastra \`createWorkflow\`/\`createStep\` with \`.then\`/\`.parallel\`, a new \`createRunAsync()\` per run, no storage. @mastra/core is ${pkg('@mastra/core')}: every 1.x release requires Node ≥ 22.13.`,
    `- Peers' sizes whose single run is projected past ${meta.capRunMs / 1000} s (from the previous size and its growth) are not run: marked *capped*. macro-orchestrator and the floors run every size.`,
    '- Fan-out rows with `c=64` run under `scheduling: { concurrency: 64 }`: compare them with the p-limit(64) row as well as with the floor.',
    harmony === undefined
      ? ''
      : `- Mixed macro: the decision is ${harmony ? "a Harmony Protocol majority (`harmony: { strategy: 'majority' }`), recorded as a decision" : 'a majority `merge` function (this library build has no Harmony Protocol)'}; peers and the floor run the same vote as a step.`,
  );
  out.push('');
  out.push('## Targets (issue 5)', '', targets(results), '');
  for (const workload of Object.keys(WORKLOADS)) {
    if (!results.some((r) => r.workload === workload)) continue;
    out.push(`## ${WORKLOADS[workload]}`, '', tableFor(workload, results), '');
  }
  out.push('## Growth of the per-stage cost, smallest to largest size run', '', growthTable(results), '');
  if (capped.length > 0 || failed.length > 0) {
    out.push('## Not run', '');
    for (const r of [...capped, ...failed]) out.push(`- ${r.id}: ${r.error}`);
    out.push('');
  }
  return out.join('\n');
}

// ── main ────────────────────────────────────────────────────────────────────

let run;
if (args.render !== undefined) run = JSON.parse(readFileSync(args.render, 'utf8'));
else {
  const loadStart = os.loadavg()[0];
  process.stdout.write(
    `macro-orchestrator bench: ${relative(root, libPath)}${viaTsx ? ' (via tsx)' : ''}${quick ? ', quick' : ''}\n`,
  );
  const { results, seconds } = await runAll();
  run = { meta: metadata(seconds, loadStart), results };
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(run, null, 2)}\n`);
}
const markdown = report(run);
process.stdout.write(`\n${markdown}\n`);
if (!args['no-write'] && args.filter === undefined) {
  // The sections concurrent.mjs and fleet.mjs wrote stay, after the new tables.
  const kept = keptSections(args.out);
  writeFileSync(args.out, kept === '' ? markdown : `${markdown.trimEnd()}\n\n${kept}`);
  process.stdout.write(`\nwrote ${relative(process.cwd(), args.out)}\n`);
}
if (run.results.some((r) => !r.ok && !r.capped)) process.exitCode = 1;
