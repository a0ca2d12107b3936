/**
 * Profiles the engine's hot path: runs a workload in a loop under V8's CPU profiler
 * and prints the functions with the most self time, and where their callers are.
 * With --heap, samples allocations instead (including objects the GC already
 * collected) and prints the functions that allocate the most bytes.
 *
 *   node bench/profile.mjs [--lib dist/index.js] [--workload seq --size 1000] [--listener on]
 *                          [--concurrency 64] [--seconds 5] [--top 25] [--heap]
 *
 * Writes bench/.profiles/<case>.cpuprofile or .heapprofile (open them in Chrome DevTools).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const { values } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist/index.js' },
    workload: { type: 'string', default: 'seq' },
    size: { type: 'string', default: '1000' },
    listener: { type: 'string', default: 'on' },
    concurrency: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
    child: { type: 'boolean', default: false },
    heap: { type: 'boolean', default: false },
  },
});

if (values.child) {
  // The profiled process: build the case, then run it in a loop.
  const lib = await import(pathToFileURL(resolve(root, values.lib)).href);
  const { build } = await import('./engines/macro.mjs');
  const spec = { workload: values.workload, size: Number(values.size), listener: values.listener };
  if (values.concurrency !== undefined) spec.concurrency = Number(values.concurrency);
  const { runOnce } = await build(lib, spec);
  let session;
  const post = (method, params) =>
    new Promise((ok, fail) =>
      session.post(method, params, (error, result) => (error ? fail(error) : ok(result))),
    );
  if (values.heap) {
    for (let i = 0; i < 3; i++) await runOnce(); // warm up before sampling
    const { Session } = await import('node:inspector');
    session = new Session();
    session.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const until = performance.now() + Number(values.seconds) * 1000;
  let runs = 0;
  while (performance.now() < until) {
    await runOnce();
    runs++;
  }
  if (values.heap) {
    const { profile } = await post('HeapProfiler.stopSampling');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.HEAP_PROFILE_OUT, JSON.stringify(profile));
  }
  process.stdout.write(`${runs} runs\n`);
} else {
  const dir = join(here, '.profiles');
  mkdirSync(dir, { recursive: true });
  const name = `${values.workload}-${values.size}${values.concurrency ? `-c${values.concurrency}` : ''}-${values.listener}`;
  const tmp = join(dir, `tmp-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const libPath = isAbsolute(values.lib) ? values.lib : resolve(root, values.lib);
  const flags = values.heap ? [] : ['--cpu-prof', `--cpu-prof-dir=${tmp}`, '--cpu-prof-interval=100'];
  if (libPath.endsWith('.ts')) flags.push('--import', 'tsx');
  const args = [...flags, fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)];
  const heapOut = join(dir, `${name}.heapprofile`);
  const child = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HEAP_PROFILE_OUT: heapOut },
  });
  if (child.status !== 0) process.exit(child.status ?? 1);
  const runs = Number.parseInt(child.stdout.toString(), 10);
  process.stdout.write(`profiled ${name}: ${runs} runs\n`);
  if (values.heap) {
    summariseHeap(JSON.parse(readFileSync(heapOut, 'utf8')), Number(values.top), runs * Number(values.size));
    process.stdout.write(`\nfull profile: ${heapOut}\n`);
    process.exit(0);
  }
  const file = readdirSync(tmp).find((f) => f.endsWith('.cpuprofile'));
  const out = join(dir, `${name}.cpuprofile`);
  renameSync(join(tmp, file), out);
  summarise(JSON.parse(readFileSync(out, 'utf8')), Number(values.top));
  process.stdout.write(`\nfull profile: ${out}\n`);
}

function frameKey(f) {
  const file = f.url.replace(/^file:\/\//, '').replace(`${root}/`, '');
  return `${f.functionName || '(anonymous)'}  ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
}

/** Bytes allocated per function (self), per stage run, from a sampling heap profile. */
function summariseHeap(profile, top, stagesRun) {
  const self = new Map();
  let total = 0;
  const walk = (node, parentKey) => {
    const k = frameKey(node.callFrame);
    const bytes = node.selfSize;
    if (bytes > 0) {
      const entry = self.get(k) ?? { bytes: 0, via: new Map() };
      entry.bytes += bytes;
      if (parentKey) entry.via.set(parentKey, (entry.via.get(parentKey) ?? 0) + bytes);
      self.set(k, entry);
      total += bytes;
    }
    for (const c of node.children) walk(c, k);
  };
  walk(profile.head, undefined);
  process.stdout.write(
    `\nallocated (sampled) ≈ ${Math.round(total / stagesRun)} B per stage; top ${top} sites:\n`,
  );
  for (const [k, { bytes, via }] of [...self].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    const caller = [...via].sort((a, b) => b[1] - a[1])[0];
    process.stdout.write(
      `${String(Math.round(bytes / stagesRun)).padStart(6)} B  ${k}${caller ? `\n          ← ${caller[0]}` : ''}\n`,
    );
  }
}

function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const key = (n) => frameKey(n.callFrame);
  const self = new Map();
  const callers = new Map();
  for (const [id, count] of hits) {
    const n = byId.get(id);
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + count);
    const p = byId.get(parent.get(id));
    if (p !== undefined) {
      const m = callers.get(k) ?? new Map();
      const pk = key(p);
      m.set(pk, (m.get(pk) ?? 0) + count);
      callers.set(k, m);
    }
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\nself time, top ${top} of ${total} samples:\n`);
  for (const [k, count] of rows) {
    const pct = ((100 * count) / total).toFixed(1).padStart(5);
    const via = [...(callers.get(k) ?? new Map())].sort((a, b) => b[1] - a[1])[0];
    process.stdout.write(`${pct}%  ${k}${via ? `\n        ← ${via[0]}` : ''}\n`);
  }
}
