/**
 * The JSON Schema as the package ships it (`macro-orchestrator/schema.json`, written into
 * dist/ by the build). Reads dist/: left out of mutation runs (vitest.mutation.config.ts).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { macroJsonSchema } from '../../src/index.js';

it('is shipped as macro-orchestrator/schema.json, generated at build from the zod schemas', async () => {
  const shipped = JSON.parse(
    await readFile(createRequire(import.meta.url).resolve('macro-orchestrator/schema.json'), 'utf8'),
  );
  expect(shipped).toEqual(macroJsonSchema());
});
