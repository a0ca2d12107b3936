/**
 * What importing the package costs: the time from `import()` to the module being ready,
 * in fresh processes, for zod alone and for the package (which imports zod), and the
 * difference, our own modules. Alternating and repeated; medians.
 *
 *   node bench/import-cost.mjs [dist/index.js] [--runs 21] [--against <other dist/index.js>]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '21' }, against: { type: 'string' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const targets = [
  ['zod', 'zod'],
  ['package', pathToFileURL(resolve(positionals[0] ?? 'dist/index.js')).href],
  ...(values.against === undefined ? [] : [['against', pathToFileURL(resolve(values.against)).href]]),
];

/** Milliseconds `import(specifier)` takes in a fresh process, and the modules it loaded. */
function once(specifier) {
  const code = `const t = performance.now(); await import(${JSON.stringify(specifier)}); const ms = performance.now() - t;
const { createRequire } = await import('node:module');
const cjs = Object.keys(createRequire(import.meta.url).cache).length;
console.log(JSON.stringify({ ms, cjs, rss: process.memoryUsage().rss }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: process.cwd(),
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`import ${specifier} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout);
}

const samples = new Map(targets.map(([name]) => [name, []]));
for (let round = 0; round < runs; round += 1)
  for (const [name, specifier] of round % 2 === 0 ? targets : [...targets].reverse())
    samples.get(name).push(once(specifier));

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const row = (name) => {
  const list = samples.get(name);
  return {
    ms: median(list.map((s) => s.ms)),
    cjs: median(list.map((s) => s.cjs)),
    rss: median(list.map((s) => s.rss)),
  };
};
const zod = row('zod');
console.log(`import cost, median of ${runs} fresh processes (Node ${process.version})`);
console.log('| what | import ms | beyond zod | CommonJS modules loaded | RSS MiB |');
console.log('|---|---:|---:|---:|---:|');
for (const [name] of targets) {
  const r = row(name);
  const beyond = name === 'zod' ? '' : `${(r.ms - zod.ms).toFixed(1)}`;
  console.log(`| ${name} | ${r.ms.toFixed(1)} | ${beyond} | ${r.cjs} | ${(r.rss / 2 ** 20).toFixed(1)} |`);
}
