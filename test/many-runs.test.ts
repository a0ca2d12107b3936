/**
 * Ten thousand runs live at once (issue 16): every one succeeds, on the default memory and
 * on SQLite, with no persistence failure and no unhandled rejection (the setup file fails
 * a test that leaves one). Timing is the bench's (bench/concurrent.mjs), not a test's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  type MacroEvent,
  MacroOrchestrator,
  type MacroResult,
  type MemoryAdapter,
  type StageDefinition,
} from '../src/index.js';
import { SqliteMemory } from '../src/sqlite.js';

const RUNS = 10_000;
const STAGES = 10;

/** Each call waits a turn of the event loop, so all the runs are live together. */
const step = defineAgent({
  id: 'step',
  invoke: (input: number) => new Promise<number>((resolve) => setImmediate(resolve, input + 1)),
});
const ten = defineMacro({
  name: 'ten',
  description: 'ten stages of an agent that waits a turn',
  stages: Array.from({ length: STAGES }, (_, i) => agentStage(`s${i}`, 'step')) as [StageDefinition],
});

/** Starts every run at once; resolves with their results and the persistence errors seen. */
async function runAll(memory?: MemoryAdapter, durability?: 'sync' | 'async') {
  const orchestrator = new MacroOrchestrator({
    agents: [step],
    macros: [ten],
    ...(memory === undefined ? {} : { memory }),
    ...(durability === undefined ? {} : { durability }),
  });
  const failures: MacroEvent[] = [];
  let live = 0;
  let peak = 0;
  const results: Promise<MacroResult>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = orchestrator.run('ten', { intent: 'go' }, { input: 0 });
    run.on('persistence:error', (event) => failures.push(event));
    peak = Math.max(peak, ++live);
    results.push(run.result.finally(() => live--));
  }
  return { results: await Promise.all(results), failures, peak };
}

function expectAllSucceeded(results: readonly MacroResult[]) {
  const bad = results.filter(
    (r) => r.status !== 'succeeded' || r.output !== STAGES || r.persistence !== undefined,
  );
  expect(bad.slice(0, 3)).toEqual([]);
  expect(new Set(results.map((r) => r.runId)).size).toBe(RUNS);
}

describe(`${RUNS.toLocaleString('en')} concurrent runs`, () => {
  it('all succeed on the default memory, with no persistence failure', async () => {
    const { results, failures, peak } = await runAll();
    expect(peak).toBe(RUNS);
    expectAllSucceeded(results);
    expect(failures).toEqual([]);
  }, 120_000);

  it.each(['sync', 'async'] as const)(
    'all succeed on SQLite (%s durability), with no persistence failure, and leave no run unfinished',
    async (durability) => {
      const dir = mkdtempSync(join(tmpdir(), 'macro-many-'));
      const memory = new SqliteMemory({ path: join(dir, 'runs.db') });
      try {
        const { results, failures } = await runAll(memory, durability);
        expectAllSucceeded(results);
        expect(failures).toEqual([]);
        expect(await memory.listRuns({ status: 'running' })).toEqual([]);
        expect((await memory.listRuns({ status: 'succeeded', limit: RUNS })).length).toBe(RUNS);
      } finally {
        await memory.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
