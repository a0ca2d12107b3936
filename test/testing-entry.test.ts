/**
 * `macro-orchestrator/testing` as an adapter author uses it outside Vitest: `node --test` on
 * fixtures that import the built package by name (resolved through package.json `exports`
 * to dist/, as in consumer.test.ts). `npm test` builds dist/ (tsup) before Vitest runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./consumer/${name}`, import.meta.url));

interface NodeTestRun {
  readonly exitCode: number;
  /** The totals of the TAP report's summary: `tests`, `pass`, `fail`, … */
  readonly totals: Readonly<Record<string, number>>;
  /** The names of the tests and suites reported `not ok`. */
  readonly failed: readonly string[];
}

/** Runs `node --test` on one fixture and reads its TAP summary; a failing run does not throw. */
async function nodeTest(name: string): Promise<NodeTestRun> {
  const args = ['--test', '--test-reporter=tap', fixture(name)];
  const { stdout, code } = await run(process.execPath, args, { cwd: root, timeout: 60_000 }).then(
    ({ stdout }) => ({ stdout, code: 0 }),
    (error: { stdout?: string; code?: unknown }) => {
      if (typeof error.code !== 'number') throw error;
      return { stdout: error.stdout ?? '', code: error.code };
    },
  );
  const totals: Record<string, number> = {};
  for (const [, key, value] of stdout.matchAll(/^# (\w+) (\d+)$/gm)) totals[key as string] = Number(value);
  const failed = Array.from(stdout.matchAll(/^\s*not ok \d+ - (.*)$/gm), ([, test]) => test as string);
  return { exitCode: code, totals, failed };
}

describe('macro-orchestrator/testing under node:test, from the built package', () => {
  beforeAll(() => {
    for (const file of ['dist/index.js', 'dist/testing.js', 'dist/testing.d.ts']) {
      if (!existsSync(new URL(`../${file}`, import.meta.url))) {
        throw new Error(`${file} is missing: build the package (npx tsup) before running this test`);
      }
    }
  });

  it('passes every contract test against InMemoryMemory and exits 0', async () => {
    const { exitCode, totals } = await nodeTest('memory-contract.mjs');
    expect(exitCode).toBe(0);
    expect(totals['pass']).toBeGreaterThan(30);
    expect(totals).toMatchObject({ tests: totals['pass'], fail: 0 });
  });

  it('reports failures against an adapter whose loadResult returns undefined, and exits 1', async () => {
    const { exitCode, totals, failed } = await nodeTest('memory-contract-broken.mjs');
    expect(exitCode).toBe(1);
    expect(totals['fail']).toBeGreaterThan(0);
    // Failures of the contract's checks, not of loading the fixture: the other tests ran and passed.
    expect(failed).toContain('loads a saved result as its JSON round trip');
    expect(totals['pass']).toBeGreaterThan(30);
  });
});
