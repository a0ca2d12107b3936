/**
 * Vitest config for mutation runs only (`npm run mutation`, see docs/mutation.md and
 * stryker.config.mjs). `npm test` keeps using vitest.config.ts.
 *
 * Left out here: tests that cannot see an active mutant, because they run the library
 * in a child process under tsx or load the built dist/ (the mutants live only in the
 * sandbox's instrumented src/), and the `*.test-d.ts` type tests (typecheck is off).
 *
 * `isolate: false`: the test files share one module graph in the worker instead of
 * importing src/ afresh each (Stryker runs a single worker per runner process). The
 * suite takes about a fifth of the time, and a surviving mutant that many tests cover
 * no longer runs into Stryker's timeout (a timeout counts as killed). If a test passes
 * under `npm test` but fails in Stryker's initial run, it depends on a fresh module
 * state: fix the test, or set this back to true.
 */
import { configDefaults, defineConfig } from 'vitest/config';

/** Test files that run the code outside the Vitest worker that Stryker instruments. */
const outOfProcess = [
  'test/consumer.test.ts', // packs and imports dist/
  'test/memory/crash-resume.test.ts', // spawns and SIGKILLs tsx children
  'test/report/example.test.ts', // runs examples/main.ts under tsx
  'test/logger-dist.test.ts', // loads dist/ in fresh processes
  'test/time-shapes-heap.test.ts', // a tsx child's heap snapshot
  'test/pictures/json-schema-dist.test.ts', // reads dist/schema.json
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, '**/.stryker-tmp/**', 'reports/**', ...outOfProcess],
    setupFiles: ['test/setup.ts'], // as in vitest.config.ts
    typecheck: { enabled: false },
    isolate: false,
    testTimeout: 20_000,
    reporters: ['dot'],
  },
});
