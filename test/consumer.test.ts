/**
 * Runs the built package as a consumer would: `node` on fixtures that import it by
 * name, so Node resolves it through package.json `exports` to dist/. `npm test`
 * builds dist/ (tsup) before Vitest runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./consumer/${name}`, import.meta.url));

async function consume(name: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [fixture(name)], { cwd: root, timeout: 15_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

describe('the built package', () => {
  beforeAll(() => {
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      if (!existsSync(new URL(`../${file}`, import.meta.url))) {
        throw new Error(`${file} is missing: build the package (npx tsup) before running this test`);
      }
    }
  });

  it('runs a macro when imported as ESM through the exports map', async () => {
    const output = await consume('consumer.mjs');
    expect(output).toMatchObject({
      format: 'esm',
      resolved: expect.stringMatching(/\/dist\/index\.js$/),
      status: 'succeeded',
      output: 'HELLO FROM ESM',
      stages: ['shout/up:succeeded'],
      notFound: 'MACRO_NOT_FOUND',
    });
  });

  it('runs a macro when required as CommonJS through the exports map', async () => {
    const output = await consume('consumer.cjs');
    expect(output).toMatchObject({
      format: 'cjs',
      resolved: expect.stringMatching(/[/\\]dist[/\\]index\.cjs$/),
      status: 'succeeded',
      output: 'HELLO FROM CJS',
      stages: ['shout/up:succeeded'],
      notFound: 'MACRO_NOT_FOUND',
    });
  });

  it('recognises errors from the other module format with isMacroError', async () => {
    const { crossCopy } = await consume('consumer.mjs');
    expect(crossCopy).toEqual({ instanceOf: false, isMacroError: true });
  });
});
