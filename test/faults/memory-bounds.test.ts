/**
 * The default memory under load: many runs alive at once are never evicted, and
 * back-to-back large results stay within its byte bound.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineMacro,
  type InMemoryMemory,
  MacroOrchestrator,
  type MacroResult,
  type MacroRun,
} from '../../src/index.js';
import { drive, flushMicrotasks, okAgent, scriptedAgent, useFakeClock } from '../support/index.js';

useFakeClock();

const RUNS = 1_500;

const twoSteps = defineMacro({
  name: 'two-steps',
  description: 'a stage that answers at once, then one that waits for its release',
  stages: [agentStage('first', 'quick'), agentStage('second', 'waiting')],
});

/**
 * 1,500 runs of `twoSteps` on an orchestrator without a `memory` option, all alive at
 * once: each has finished its first stage (and had its checkpoint written, once the
 * event loop turned) and waits in its second until `release(runId)`.
 */
async function crowd() {
  const waiting = new Map<string, () => void>();
  const orchestrator = new MacroOrchestrator({
    agents: [
      okAgent('quick', 'first done'),
      scriptedAgent(
        'waiting',
        (_n, _input, { runId }) => new Promise((resolve) => waiting.set(runId, () => resolve('second done'))),
      ),
    ],
    macros: [twoSteps],
  });
  const runs: MacroRun<unknown>[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(orchestrator.run('two-steps', { intent: `run ${i}` }));
  await flushMicrotasks();
  await vi.runOnlyPendingTimersAsync(); // the turn of the event loop that writes the checkpoints
  await flushMicrotasks();
  expect(waiting.size).toBe(RUNS);
  const memory = orchestrator.memory as InMemoryMemory;
  /** Ends the runs `from` to `to` (exclusive) and returns their results. */
  const finish = (from = 0, to = RUNS): Promise<MacroResult[]> => {
    const ending = runs.slice(from, to);
    for (const run of ending) waiting.get(run.runId)?.();
    return drive(Promise.all(ending));
  };
  return { memory, runs, finish };
}

describe('the default memory with 1,500 runs alive at once', () => {
  it('holds every one of them, with its header and its first checkpoint', async () => {
    const { memory, runs, finish } = await crowd();
    const stored = await Promise.all(runs.map((run) => memory.loadRun(run.runId)));
    expect(stored.filter((s) => s?.header !== undefined && s.checkpoints.length === 1)).toHaveLength(RUNS);
    await finish();
  });

  it('ends every run with no persistence failure', async () => {
    const { finish } = await crowd();
    const results = await finish();
    expect(results.filter((result) => result.persistence !== undefined)).toEqual([]);
    expect(results.filter((result) => result.status !== 'succeeded')).toEqual([]);
  });

  it('can load each run, header and result, once it has ended, 500 runs ending at a time', async () => {
    const { memory, finish } = await crowd();
    for (let from = 0; from < RUNS; from += 500) {
      const results = await finish(from, from + 500);
      const stored = await Promise.all(results.map((result) => memory.loadRun(result.runId)));
      expect(stored.map((run) => ({ runId: run?.header?.runId, result: run?.result }))).toEqual(
        results.map((result) => ({ runId: result.runId, result: JSON.parse(JSON.stringify(result)) })),
      );
    }
  });

  it('keeps the 1,000 runs that finished last once all have ended', async () => {
    const { memory, runs, finish } = await crowd();
    await finish(0, 500);
    await finish(500);
    expect(memory.size).toMatchObject({ running: 0, finished: 1_000 });
    expect(await memory.loadResult((runs[499] as MacroRun<unknown>).runId)).toBeUndefined();
    expect(await memory.loadResult((runs[500] as MacroRun<unknown>).runId)).toBeDefined();
  });
});

describe('the default memory with back-to-back large results', () => {
  const STAGES = 200;
  const large = defineMacro({
    name: 'large',
    description: '200 stages, each with an output of about 20,000 characters',
    stages: Array.from({ length: STAGES }, (_, i) => agentStage(`s${i}`, 'wordy')) as [
      ReturnType<typeof agentStage>,
    ],
  });

  it('keeps the estimated size of the finished runs within 64 MiB, evicting the oldest', async () => {
    let call = 0;
    const wordy = scriptedAgent('wordy', () => `${++call} ${'lorem ipsum '.repeat(1_700)}`);
    const orchestrator = new MacroOrchestrator({ agents: [wordy], macros: [large] });
    const memory = orchestrator.memory as InMemoryMemory;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await drive(orchestrator.run('large', { intent: 'go' }))).runId);
    expect(memory.size.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(memory.size.finished).toBeLessThan(20);
    expect(await memory.loadResult(ids[0] as string)).toBeUndefined();
    expect(await memory.loadResult(ids[19] as string)).toBeDefined();
  });
});
