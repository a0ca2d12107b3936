/**
 * A run suspended at an approval in one process, which then exits; resumed with the
 * person's input in another process from the same SQLite file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MacroResult } from '../../src/index.js';
import { exited, lines, tsxChild } from '../support/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'suspend-child.ts');

/** Runs the fixture with `args` to its end; its one JSON line, and how it exited. */
async function step(args: string[]) {
  const child = tsxChild(fixture, args);
  const line = await lines(child).next((l) => l.startsWith('{'));
  return { out: JSON.parse(line) as MacroResult & { error?: { code: string } }, exit: await exited(child) };
}

describe('a run suspended in one process and resumed with input in another', () => {
  let dir: string;
  let db: string;
  let log: string;
  let suspended: Awaited<ReturnType<typeof step>>;
  let refused: Awaited<ReturnType<typeof step>>;
  let resumed: Awaited<ReturnType<typeof step>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'macro-suspend-'));
    db = join(dir, 'runs.db');
    log = join(dir, 'calls.log');
    suspended = await step(['start', db, log]);
    const { runId } = suspended.out;
    refused = await step(['resume', db, log, runId, JSON.stringify({ approved: true, text: '' })]);
    resumed = await step(['resume', db, log, runId, JSON.stringify({ approved: true, text: 'final notes' })]);
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('settles suspended at the approval, and the process exits on its own: no timer left running', () => {
    expect(suspended.exit).toBe(0);
    expect(suspended.out).toMatchObject({
      status: 'suspended',
      suspension: {
        path: 'review/sign-off',
        payload: { prompt: 'Publish this draft?', input: 'first draft' },
      },
    });
  });

  it('refuses invalid input with INVALID_RESUME_INPUT in the second process, running nothing', () => {
    expect(refused.out.error).toMatchObject({ code: 'INVALID_RESUME_INPUT' });
  });

  it('completes in the third process with the input, each agent called once', () => {
    expect(resumed.out).toMatchObject({ status: 'succeeded', output: 'published: final notes' });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['writer', 'publisher']);
    expect(resumed.out.stages['review/draft']?.status).toBe('restored');
  });
});
