/**
 * The engine gives back the lease of a run it claimed when the run settles without its
 * result saved, so that another process can take it over at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agentStage,
  approval,
  defineAgent,
  defineMacro,
  InMemoryMemory,
  MacroError,
  MacroOrchestrator,
  runMacro,
} from '../../src/index.js';
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
    await first.close();
    await second.close();
  });
});

describe('a run stopped by a lease refusal (handed back)', () => {
  const waits = defineAgent({
    id: 'waits',
    invoke: (_input: unknown, call) =>
      new Promise<string>((_resolve, reject) => {
        call.signal.addEventListener('abort', () => reject(call.signal.reason), { once: true });
      }),
  });
  const quick = defineAgent({ id: 'quick', invoke: (input: unknown) => `${String(input)}>quick` });
  const line = defineMacro({
    name: 'line',
    description: 'a quick stage, then one that waits',
    stages: [agentStage('a', 'quick'), agentStage('w', 'waits')],
  });

  async function handedBack(durability: 'sync' | 'async') {
    const memory = new InMemoryMemory();
    const orchestrator = new MacroOrchestrator({
      agents: [quick, waits],
      macros: [line],
      memory,
      durability,
    });
    const controller = new AbortController();
    const run = orchestrator.run('line', { intent: 'go' }, { signal: controller.signal });
    run.on('stage:start', (event) => {
      if (event.path === 'line/w') controller.abort(new MacroError('LEASE_LOST', 'handed back'));
    });
    const result = await run.result;
    return { result, stored: await memory.loadRun(run.runId) };
  }

  it.each(['sync', 'async'] as const)(
    'saves its finished stages as checkpoints and no result (%s durability)',
    async (durability) => {
      const { result, stored } = await handedBack(durability);
      expect(result).toMatchObject({ status: 'cancelled', error: { cause: { code: 'LEASE_LOST' } } });
      expect(stored?.result).toBeUndefined();
      expect(stored?.checkpoints.flatMap((c) => c.stages.map((s) => s.path))).toEqual(['line/a']);
    },
  );
});

describe('runMacro', () => {
  it('runs under the run id it is given', async () => {
    const run = runMacro('asks', { intent: 'go' }, { macros: [asks], runId: 'chosen' });
    expect((await run.result).runId).toBe('chosen');
  });
});
