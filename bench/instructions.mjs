/**
 * Instructions per stage of two builds, counted by valgrind (callgrind) rather than timed:
 * on a VM whose timings drift by tens of percent, a change of a few percent still shows.
 * Count on an otherwise idle machine: under load V8's GC heuristics (which read the clock)
 * move the counts by up to ~10%, and not equally for both builds. Idle, the ratio of the
 * two builds of one invocation repeats to 1-2%. Each build runs the workload `from`
 * times and `to` times in two processes under `node --predictable` (one thread, a fixed GC
 * schedule); the difference, per stage, is what the extra runs cost once the code is
 * optimized. Both builds are counted at once (one per core).
 *
 * V8's allocation-site pretenuring is off unless `--pretenuring` is given: which sites it
 * pretenures depends on when code is optimized relative to scavenges, and under valgrind
 * that flips between builds. On seq 1,000 a change that moved no allocation counted 8,008
 * → 11,286 instructions a stage with it (twice the scavenging), 10,862 → 10,849 without it;
 * timed without valgrind, the two builds were equal.
 *
 *   node bench/instructions.mjs <a/dist/index.js> [<b/dist/index.js>] [--workload seq]
 *        [--size 1000] [--listener none] [--from 50] [--to 450] [--for-each] [--pretenuring]
 *
 * `--for-each` runs the fan workload as one forEach over its K elements.
 *
 * With `--child`, this is the counted process: it runs the workload `--runs` times.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: 'string', default: 'seq' },
    size: { type: 'string', default: '1000' },
    listener: { type: 'string', default: 'none' },
    from: { type: 'string', default: '50' },
    to: { type: 'string', default: '450' },
    child: { type: 'boolean', default: false },
    runs: { type: 'string', default: '0' },
    'for-each': { type: 'boolean', default: false },
    pretenuring: { type: 'boolean', default: false },
  },
});
const { workload, listener } = values;
const size = Number(values.size);

if (values.child) {
  const { build } = await import('./engines/macro.mjs');
  const lib = await import(pathToFileURL(resolve(positionals[0])).href);
  const { runOnce } = await build(lib, { workload, size, listener, forEach: values['for-each'] });
  for (let i = 0; i < Number(values.runs); i++) await runOnce();
  process.exit(0);
}

if (positionals.length === 0) {
  console.error(
    'usage: node bench/instructions.mjs <a/index.js> [<b/index.js>] [--workload seq --size 1000 --listener none]',
  );
  process.exit(2);
}

/** Total instructions of one counted process running the workload `runs` times. */
function count(lib, runs) {
  const args = [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    '--predictable',
    ...(values.pretenuring ? [] : ['--no-allocation-site-pretenuring']),
    fileURLToPath(import.meta.url),
    lib,
    '--child',
    `--runs=${runs}`,
    `--workload=${workload}`,
    `--size=${size}`,
    `--listener=${listener}`,
    ...(values['for-each'] ? ['--for-each'] : []),
  ];
  return new Promise((done, fail) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', (error) => fail(new Error(`valgrind could not start: ${error.message}`)));
    child.on('close', (code) => {
      const total = /I\s+refs:\s+([\d,]+)/.exec(err);
      if (code !== 0 || total === null)
        fail(new Error(`counting ${lib} (${runs} runs) failed:\n${err.slice(-2000)}`));
      else done(Number(total[1].replaceAll(',', '')));
    });
  });
}

const from = Number(values.from);
const to = Number(values.to);
async function perStage(lib) {
  const low = await count(lib, from);
  const high = await count(lib, to);
  return (high - low) / (to - from) / size;
}
const figures = await Promise.all(positionals.slice(0, 2).map(perStage));
const line = figures.map((f, i) => `${'AB'[i]} ${Math.round(f)}`).join('  ');
const ratio = figures.length === 2 ? `  B/A ${(figures[1] / figures[0]).toFixed(3)}` : '';
const mode = values.pretenuring ? ' (pretenuring on)' : '';
console.log(`${workload} ${size} listener=${listener}${mode}: ${line} instructions/stage${ratio}`);
