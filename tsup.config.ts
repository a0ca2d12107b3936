import { writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { macroJsonSchema } from './src/macro/json-schema.js';

// p-limit and p-retry ship ESM only. The CommonJS build bundles them (and their
// tiny dependencies) so that `require('macro-orchestrator')` never relies on
// require(esm).
const esmOnly = ['p-limit', 'p-retry', 'yocto-queue', 'is-network-error'];

// dist/ is emptied by the build script before both configs run, so neither cleans under the other.
export default defineConfig([
  {
    entry: [
      'src/index.ts',
      'src/sqlite.ts',
      'src/postgres.ts',
      'src/bullmq.ts',
      'src/ai-sdk.ts',
      'src/otel.ts',
      'src/testing.ts',
      'src/cli.ts',
    ],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    define: { __MO_CJS__: 'false' },
    // The JSON Schema of a macro definition, generated from the zod schemas (`macro-orchestrator/schema.json`).
    onSuccess: () => writeFile('dist/schema.json', `${JSON.stringify(macroJsonSchema(), null, 2)}\n`),
  },
  {
    entry: [
      'src/index.ts',
      'src/sqlite.ts',
      'src/postgres.ts',
      'src/bullmq.ts',
      'src/ai-sdk.ts',
      'src/otel.ts',
      'src/testing.ts',
    ],
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    noExternal: esmOnly,
    // Which build this is, for the logger's lazy require of pino (src/logger.ts); the shim
    // only quiets esbuild about `import.meta` in the ESM-only branch there.
    define: { __MO_CJS__: 'true' },
    shims: true,
  },
]);
