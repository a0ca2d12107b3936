/**
 * The layers of docs/architecture.md ("Layers"), held: each folder of src/ imports only
 * the layers below it, so a new stage kind or Harmony strategy cannot quietly tie a lower
 * layer to the engine. Biome's noImportCycles catches cycles; this catches direction.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));

/** What each folder (or root file) of src/ may import besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  internal: ['errors.ts'],
  'errors.ts': ['internal'],
  'logger.ts': ['internal', 'errors.ts', 'model'],
  model: ['internal', 'errors.ts'],
  agents: ['model', 'internal', 'errors.ts'],
  scheduling: ['model', 'internal', 'errors.ts'],
  'events.ts': ['model', 'internal', 'errors.ts'],
  protocol: ['model', 'internal', 'errors.ts', 'logger.ts', 'agents', 'scheduling'],
  memory: ['model', 'internal', 'errors.ts', 'logger.ts'],
  report: ['model', 'internal', 'errors.ts'],
  'ai-sdk': ['agents', 'model', 'protocol', 'internal', 'errors.ts'],
  otel: ['agents', 'model', 'internal', 'errors.ts', 'events.ts'],
  testing: ['memory', 'model', 'internal', 'errors.ts'],
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The layer of a file under src/: its top folder, or its own name at the root. */
const layerOf = (file: string) => relative(src, file).split('/')[0] as string;

/** The layers a file imports (relative imports only), resolved from its own folder. */
function importedLayers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => layerOf(resolve(dirname(file), s.replace(/\.js$/, '.ts'))));
}

describe('source layers', () => {
  const files = filesUnder(src);

  it.each(Object.keys(MAY_IMPORT))('%s imports only the layers below it', (layer) => {
    const allowed = new Set([layer, ...(MAY_IMPORT[layer] ?? [])]);
    const wrong = files
      .filter((file) => layerOf(file) === layer)
      .flatMap((file) =>
        importedLayers(file)
          .filter((imported) => !allowed.has(imported))
          .map((imported) => `${relative(src, file)} → ${imported}`),
      );
    expect(wrong).toEqual([]);
  });

  it('finds the imports it checks (a protocol file reading model/)', () => {
    expect(importedLayers(join(src, 'protocol/harmony/strategies/majority.ts'))).toContain('model');
  });
});
