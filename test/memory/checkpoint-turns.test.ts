/** CheckpointTurns: the `'async'` writes of every run of an orchestrator start from one Immediate per turn. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, MacroOrchestrator } from '../../src/index.js';
import { CheckpointTurns, type TurnTaker } from '../../src/macro/checkpoint-turns.js';
import { endOfTurn, TURN_BUDGET_MS } from '../../src/scheduling/turn-budget.js';
import { flushMicrotasks, fnAgent, okAgent } from '../support/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** The Immediates `made` returned, but for the ones the orchestrator's turn budget ends its turns with. */
function checkpointImmediates(made: MockInstance<typeof setImmediate>): unknown[] {
  return made.mock.calls.flatMap(([callback], i) =>
    (callback as unknown) === endOfTurn ? [] : [made.mock.results[i]?.value],
  );
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function taker(log: string[], name: string): TurnTaker {
  return { takeTurn: () => log.push(name) };
}

describe('CheckpointTurns', () => {
  it('calls every taker added within a turn from one Immediate, in the order they were added', async () => {
    const spy = vi.spyOn(globalThis, 'setImmediate');
    const turns = new CheckpointTurns();
    const log: string[] = [];
    turns.add(taker(log, 'a'));
    turns.add(taker(log, 'b'));
    turns.add(taker(log, 'c'));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('schedules a new Immediate for takers added after a turn was taken', async () => {
    const turns = new CheckpointTurns();
    const log: string[] = [];
    turns.add(taker(log, 'a'));
    await nextTurn();
    turns.add(taker(log, 'b'));
    await nextTurn();
    expect(log).toEqual(['a', 'b']);
  });

  it('does not call a taker removed before the turn', async () => {
    const turns = new CheckpointTurns();
    const log: string[] = [];
    const a = taker(log, 'a');
    turns.add(a);
    turns.add(taker(log, 'b'));
    turns.remove(a);
    await nextTurn();
    expect(log).toEqual(['b']);
  });

  it('clears its Immediate once every taker of the turn was removed', () => {
    const made = vi.spyOn(globalThis, 'setImmediate');
    const cleared = vi.spyOn(globalThis, 'clearImmediate');
    const turns = new CheckpointTurns();
    const a = taker([], 'a');
    const b = taker([], 'b');
    turns.add(a);
    turns.add(b);
    turns.remove(a);
    expect(cleared).not.toHaveBeenCalled();
    turns.remove(b);
    expect(cleared).toHaveBeenCalledWith(made.mock.results[0]?.value);
  });

  it('takes a turn with the current timers when the pending one belongs to fake timers since uninstalled', async () => {
    const turns = new CheckpointTurns();
    const log: string[] = [];
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] });
    turns.add(taker(log, 'a')); // a fake turn, never run
    vi.useRealTimers();
    turns.add(taker(log, 'b'));
    await nextTurn();
    expect(log).toEqual(['a', 'b']);
  });

  it('clears a pending turn with the timers that scheduled it', async () => {
    const turns = new CheckpointTurns();
    const a = taker([], 'a');
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] });
    turns.add(a);
    vi.useRealTimers();
    turns.remove(a); // the real clearImmediate, given the fake handle, would stop every later Immediate
    const turned = await Promise.race([
      nextTurn().then(() => 'turned'),
      new Promise((resolve) => setTimeout(resolve, 500, 'stuck')),
    ]);
    expect(turned).toBe('turned');
  });

  it('calls the takers after one that throws, then throws the first fault', () => {
    let turn = () => {};
    vi.spyOn(globalThis, 'setImmediate').mockImplementation(((callback: () => void) => {
      turn = callback;
      return {} as NodeJS.Immediate;
    }) as unknown as typeof setImmediate);
    const turns = new CheckpointTurns();
    const log: string[] = [];
    const first = new Error('first');
    turns.add({
      takeTurn: () => {
        throw first;
      },
    });
    turns.add({
      takeTurn: () => {
        throw new Error('second');
      },
    });
    turns.add(taker(log, 'after'));
    let thrown: unknown;
    try {
      turn();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(first);
    expect(log).toEqual(['after']);
  });
  it('lets writes wait while stages wait for a turn, for at most 16 turns', async () => {
    const backlog = { waiting: 1 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add(taker(log, 'a'));
    for (let i = 0; i < 16; i++) await nextTurn();
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual(['a']);
  });

  it('writes in the first turn with no stage waiting', async () => {
    const backlog = { waiting: 1 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add(taker(log, 'a'));
    await nextTurn();
    await nextTurn();
    expect(log).toEqual([]);
    backlog.waiting = 0;
    await nextTurn();
    expect(log).toEqual(['a']);
  });

  it('leaves the takers past its budget to the next turn, ahead of those added since', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const turns = new CheckpointTurns();
    const log: string[] = [];
    turns.add({
      takeTurn: () => {
        log.push('slow');
        now += TURN_BUDGET_MS;
      },
    });
    turns.add(taker(log, 'b'));
    turns.add(taker(log, 'c'));
    await nextTurn();
    expect(log).toEqual(['slow']);
    turns.add(taker(log, 'later'));
    await nextTurn();
    expect(log).toEqual(['slow', 'b', 'c', 'later']);
  });

  it('does not wait for the backlog again with the rest of a turn that ran out of budget', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const backlog = { waiting: 0 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add({
      takeTurn: () => {
        log.push('slow');
        now += TURN_BUDGET_MS;
        backlog.waiting = 1;
      },
    });
    turns.add(taker(log, 'b'));
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['slow', 'b']);
  });
  it('throws the first fault of a slice in that turn, and writes the rest in the next', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const scheduled: (() => void)[] = [];
    vi.spyOn(globalThis, 'setImmediate').mockImplementation(((callback: () => void) => {
      scheduled.push(callback);
      return {} as NodeJS.Immediate;
    }) as unknown as typeof setImmediate);
    const turns = new CheckpointTurns();
    const log: string[] = [];
    const fault = new Error('write refused');
    turns.add({
      takeTurn: () => {
        now += TURN_BUDGET_MS;
        throw fault;
      },
    });
    turns.add(taker(log, 'rest'));
    expect(() => scheduled[0]?.()).toThrow(fault);
    expect(log).toEqual([]);
    expect(scheduled).toHaveLength(2);
    scheduled[1]?.();
    expect(log).toEqual(['rest']);
  });

  it('does not call a taker left for the next slice that was removed meanwhile', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const turns = new CheckpointTurns();
    const log: string[] = [];
    turns.add({
      takeTurn: () => {
        log.push('slow');
        now += TURN_BUDGET_MS;
      },
    });
    const left = taker(log, 'left');
    turns.add(left);
    turns.add(taker(log, 'kept'));
    await nextTurn();
    turns.remove(left);
    await nextTurn();
    expect(log).toEqual(['slow', 'kept']);
  });

  it('lets a write added after the rest of a sliced turn was removed wait for the backlog again', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const backlog = { waiting: 0 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add({
      takeTurn: () => {
        log.push('slow');
        now += TURN_BUDGET_MS;
      },
    });
    const rest = taker(log, 'rest');
    turns.add(rest);
    await nextTurn(); // 'slow' spent the turn: 'rest' is left for the next, which waits for nothing
    turns.remove(rest);
    backlog.waiting = 1;
    turns.add(taker(log, 'new'));
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['slow']); // 'new' waits with the stages
    backlog.waiting = 0;
    await nextTurn();
    expect(log).toEqual(['slow', 'new']);
  });

  it('lets writes added after every due one was removed wait for the backlog afresh', async () => {
    const backlog = { waiting: 1 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    const first = taker(log, 'first');
    turns.add(first);
    for (let i = 0; i < 10; i++) await nextTurn(); // ten of its sixteen turns waited
    turns.remove(first);
    turns.add(taker(log, 'second'));
    for (let i = 0; i < 10; i++) await nextTurn();
    expect(log).toEqual([]); // it waits its own sixteen, not the six left
    for (let i = 0; i < 7; i++) await nextTurn();
    expect(log).toEqual(['second']);
  });

  it('lets writes wait while stages wait again after a turn that wrote', async () => {
    const backlog = { waiting: 0 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add(taker(log, 'first'));
    await nextTurn();
    backlog.waiting = 1;
    turns.add(taker(log, 'second'));
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['first']); // 'second' waits with the stages
    backlog.waiting = 0;
    await nextTurn();
    expect(log).toEqual(['first', 'second']);
  });

  it('lets writes added after a turn whose last write spent its budget wait while stages wait', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const backlog = { waiting: 0 };
    const turns = new CheckpointTurns(backlog);
    const log: string[] = [];
    turns.add({
      takeTurn: () => {
        log.push('slow');
        now += TURN_BUDGET_MS;
      },
    });
    await nextTurn(); // the budget is spent, but no write is left over for the next turn
    backlog.waiting = 1;
    turns.add(taker(log, 'new'));
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['slow']); // 'new' waits with the stages
    backlog.waiting = 0;
    await nextTurn();
    expect(log).toEqual(['slow', 'new']);
  });
});

describe("runs under 'async' durability", () => {
  it('leave no Immediate behind when they end within the turn their stages ended in', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('a')],
      macros: [defineMacro({ name: 'one', description: 'a quick stage', stages: [agentStage('s1', 'a')] })],
    });
    const made = vi.spyOn(globalThis, 'setImmediate');
    const cleared = vi.spyOn(globalThis, 'clearImmediate');
    const results = await Promise.all([1, 2, 3].map(() => orchestrator.run('one', { intent: 'x' }).result));
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // Held by no pending turn: a loop of quick runs that never lets the event loop turn keeps none of them.
    const turns = checkpointImmediates(made);
    expect(turns).toHaveLength(1);
    expect(cleared).toHaveBeenCalledWith(turns[0]);
  });

  it('share one Immediate for the checkpoints of stages that end in the same turn', async () => {
    const memory = new InMemoryMemory();
    const saved = vi.spyOn(memory, 'saveCheckpoint');
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('a'), fnAgent('wait', () => gate.then(() => 'done'))],
      macros: [
        defineMacro({
          name: 'two',
          description: 'a quick stage, then one that waits',
          stages: [agentStage('s1', 'a'), agentStage('s2', 'wait')],
        }),
      ],
      memory,
    });
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    const runs = Array.from({ length: 5 }, () => orchestrator.run('two', { intent: 'x' }));
    await flushMicrotasks(50);
    // The five runs' first stages ended within this turn: one Immediate for their writes.
    expect(checkpointImmediates(immediates)).toHaveLength(1);
    immediates.mockRestore();
    await nextTurn();
    expect(saved.mock.calls.map(([runId]) => runId)).toEqual(runs.map((r) => r.runId));
    release();
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('succeeded'));
  });
  it("write each run's checkpoints in the async context the run was started in, not the turn's first run's", async () => {
    const store = new AsyncLocalStorage<string>();
    const memory = new InMemoryMemory();
    const seen: string[] = [];
    const save = memory.saveCheckpoint.bind(memory);
    vi.spyOn(memory, 'saveCheckpoint').mockImplementation((runId, ...rest) => {
      seen.push(`${runId} under ${store.getStore()}`);
      return save(runId, ...rest);
    });
    const orchestrator = new MacroOrchestrator({
      agents: [
        fnAgent('turn', () => new Promise((resolve) => setImmediate(resolve, 'done'))),
        fnAgent('later', () => new Promise((resolve) => setTimeout(resolve, 5, 'done'))),
      ],
      macros: [
        defineMacro({
          name: 'two',
          description: 'a stage that waits a turn, then one whose run is live when the first is written',
          stages: [agentStage('s1', 'turn'), agentStage('s2', 'later')],
        }),
      ],
      memory,
    });
    const runs = ['a', 'b', 'c'].map((name) =>
      store.run(name, () => orchestrator.run('two', { intent: name })),
    );
    await Promise.all(runs.map((r) => r.result));
    expect(new Set(seen)).toEqual(new Set(runs.map((r, i) => `${r.runId} under ${'abc'[i]}`)));
  });
});
