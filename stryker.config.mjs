// Mutation testing with StrykerJS: `npm run mutation` (not part of `npm test`).
// How to run, narrow and read it: docs/mutation.md.

/**
 * The run fails (non-zero exit) when the mutation score is below this percentage.
 * The hardening issue asks for at least 90% of non-equivalent mutants killed.
 */
const BREAK_BELOW = 90;

/**
 * The files the hardening issue touches: Stryker mutates these and nothing else.
 * Add a file here when the work reaches it. For a big file, mutate only the
 * lines in question with a range: 'src/file.ts:10-50' (lines 10 to 50, inclusive).
 * Narrow one run from the command line instead: npm run mutation -- --mutate src/macro/retry.ts
 */
const mutate = [
  'src/errors.ts',
  'src/logger.ts',
  'src/internal/grace.ts',
  'src/internal/json.ts',
  'src/internal/json-text.ts',
  'src/internal/options.ts',
  'src/internal/safe.ts',
  'src/internal/snapshot.ts',
  'src/internal/timers.ts',
  'src/internal/zod-issues.ts',
  'src/macro/catalogue-graph.ts',
  'src/macro/checkpoints.ts',
  'src/macro/retry.ts',
  'src/macro/run-storage.ts',
  // What this issue changed: the context's error and the options check. The rest of the
  // file is a fast path in front of zod, whose mutants fall back to zod (equivalent).
  'src/macro/run-input.ts:32-73',
  'src/macro/stored-run.ts',
  'src/macro/unstorable.ts',
  'src/memory/in-memory.ts',
  'src/memory/timed-memory.ts',
  'src/memory/write-with-retry.ts',
  'src/report/escape.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate,
  testRunner: 'vitest',
  // Tests that run the code in a child process or from dist/ are left out there.
  vitest: { configFile: 'vitest.mutation.config.ts' },
  // Runs, per mutant, only the tests that executed its code in the initial run.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // A mutant is a Timeout (counted as killed) when its tests take longer than
  // 1.5 × their time in the initial run + timeoutMS. The default 5 s let a slow survivor
  // pass for killed on this busy 2-core VM; real infinite loops are mostly caught sooner
  // by Stryker's hit counter ("Hit limit reached").
  timeoutMS: 10_000,
  thresholds: { high: 95, low: BREAK_BELOW, break: BREAK_BELOW },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, reportTests: false, logTests: false, skipFull: false },
  // Not copied to the sandboxes (.stryker-tmp/): build output and generated files.
  ignorePatterns: ['/dist', '/coverage', '/out', '/reports', '/bench', '/.scratch'],
  tempDirName: '.stryker-tmp',
};
