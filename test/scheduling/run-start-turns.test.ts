/**
 * Runs whose headers a store commits together (SQLite's group commit answers a batch from
 * its write thread) start their first stages in turns of the event loop, as runs started
 * at once do: the turn budget is asked again once the header is stored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type RunHeader,
} from '../../src/index.js';
import { TURN_BUDGET_MS } from '../../src/scheduling/turn-budget.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const RUNS = 200;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A store whose `beginRun` calls all settle when `release()` is called: a group commit. */
class GroupCommitMemory extends InMemoryMemory {
  begun = 0;
  release: () => void = () => {};
  readonly #committed = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  override async beginRun(header: RunHeader): Promise<void> {
    this.begun++;
    await this.#committed;
    return super.beginRun(header);
  }
}

/** Starts RUNS one-stage runs on `memory`; returns their results and the turn each first agent call came in. */
function startRuns(memory: InMemoryMemory, turn: () => number) {
  const turnsOfCalls: number[] = [];
  const agent = defineAgent({
    id: 'a',
    invoke: async (input: number) => {
      turnsOfCalls.push(turn());
      return input + 1;
    },
  });
  const orchestrator = new MacroOrchestrator({
    agents: [agent],
    macros: [defineMacro({ name: 'one', description: 'one stage', stages: [agentStage('s0', 'a')] })],
    memory,
  });
  const runs = Array.from({ length: RUNS }, () => orchestrator.run('one', { intent: 'go' }, { input: 0 }));
  return { runs, results: runs.map((run) => run.result), turnsOfCalls };
}

/** From now on every reading of the clock is a turn's budget later: each turn runs out. */
function spendEveryTurn(): void {
  let now = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => (now += TURN_BUDGET_MS));
}

describe('runs whose headers are stored together', () => {
  it('start their first stages over several turns once a turn has run for its budget, and all succeed', async () => {
    const memory = new GroupCommitMemory();
    let turn = 0;
    const { results, turnsOfCalls } = startRuns(memory, () => turn);
    while (memory.begun < RUNS) await nextTurn();
    spendEveryTurn();
    const counting = setInterval(() => {}, 1_000); // keeps the loop alive while turns are counted
    const count = () => {
      turn++;
      if (turnsOfCalls.length < RUNS) setImmediate(count);
    };
    setImmediate(count);
    memory.release();
    const settled = await Promise.all(results).finally(() => clearInterval(counting));
    expect(settled.map((r) => r.status)).toEqual(settled.map(() => 'succeeded'));
    expect(turnsOfCalls).toHaveLength(RUNS);
    expect(turnsOfCalls[0]).toBe(0); // the first goes on in the turn the headers were stored in
    expect(new Set(turnsOfCalls).size).toBeGreaterThan(1);
  });

  it('that are cancelled while they wait for their turn end cancelled, without an agent call', async () => {
    const memory = new GroupCommitMemory();
    const { runs, results, turnsOfCalls } = startRuns(memory, () => 0);
    while (memory.begun < RUNS) await nextTurn();
    spendEveryTurn();
    memory.release();
    await nextTurn(); // the headers are stored: the first runs have gone on, the rest wait for a turn
    expect(turnsOfCalls.length).toBeLessThan(RUNS / 2);
    for (const run of runs.slice(RUNS / 2)) run.cancel();
    const settled = await Promise.all(results);
    expect(settled.slice(RUNS / 2).map((r) => r.status)).toEqual(runs.slice(RUNS / 2).map(() => 'cancelled'));
    expect(settled.slice(0, RUNS / 2).map((r) => r.status)).toEqual(
      runs.slice(0, RUNS / 2).map(() => 'succeeded'),
    );
    expect(turnsOfCalls).toHaveLength(RUNS / 2);
  });
});
