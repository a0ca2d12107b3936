import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `npm start` (examples/main.ts) on the research-draft-review macro, whose first draft fails a gate. */
describe('npm start', () => {
  let out: string;
  let stdout: string;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'macro-example-'));
    const args = ['--import', 'tsx', 'examples/main.ts', 'research-draft-review', out];
    ({ stdout } = await promisify(execFile)(process.execPath, args, {
      cwd: join(import.meta.dirname, '../..'),
    }));
  });

  afterAll(() => rm(out, { recursive: true, force: true }));

  it('prints a failed gate with a failure mark', () => {
    expect(stdout).toContain('✗ gate cites-sources: failed — Cite at least one source.');
    expect(stdout).not.toMatch(/✓ gate [^\n]*: failed/);
  });
});
