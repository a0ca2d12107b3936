/**
 * The engine gives back the lease of a run it claimed when the run settles without its
 * result saved, so that another process can take it over at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { approval, defineMacro, MacroOrchestrator, runMacro } from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-release-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const asks = defineMacro({
  name: 'asks',
  description: 'an approval',
  stages: [approval('ok', { prompt: 'ok?', schema: z.object({ yes: z.boolean() }) })],
});

describe('leases the engine gives back', () => {
  it('gives back the lease a resume claimed when the input it brought is refused', async () => {
    const path = join(dir, 'runs.db');
    const first = new SqliteMemory({ path, owner: 'first' });
    const one = new MacroOrchestrator({ agents: [], macros: [asks], memory: first });
    const suspended = await one.run('asks', { intent: 'go' }).result;
    await expect(one.resume(suspended.runId, { input: { yes: 'nope' } }).result).rejects.toMatchObject({
      code: 'INVALID_RESUME_INPUT',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = new SqliteMemory({ path, owner: 'second' });
    const two = new MacroOrchestrator({ agents: [], macros: [asks], memory: second });
    const resumed = await two.resume(suspended.runId, { input: { yes: true } }).result;
    expect(resumed).toMatchObject({ status: 'succeeded', output: { yes: true } });
    first.close();
    second.close();
  });
});

describe('runMacro', () => {
  it('runs under the run id it is given', async () => {
    const run = runMacro('asks', { intent: 'go' }, { macros: [asks], runId: 'chosen' });
    expect((await run.result).runId).toBe('chosen');
  });
});
