/** TurnBudget: once the engine's work in a turn has run for its budget, the stages that go on wait for the next turn. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  MacroOrchestrator,
  type StageDefinition,
} from '../../src/index.js';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { inMicrotask } from '../../src/internal/microtask.js';
import { type Continuation, TURN_BUDGET_MS, TurnBudget } from '../../src/scheduling/turn-budget.js';

// The engine's microtasks, counted: a continuation let go by an abort goes on through one.
vi.mock('../../src/internal/microtask.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/internal/microtask.js')>();
  return { inMicrotask: vi.fn(original.inMicrotask) };
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Date.now under the test's control. */
function stoppedClock() {
  const clock = { now: 1_000_000 };
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now);
  return clock;
}

/** A continuation that logs its name when it goes on, and may move the clock as it does. */
function step(log: string[], name: string, work?: () => void): Continuation {
  return {
    proceed: () => {
      log.push(name);
      work?.();
    },
  };
}

/** Admits continuations named `prefix0…` until one is queued; returns how many went on at once. */
function admitUntilQueued(budget: TurnBudget, log: string[], prefix: string, limit = 1_000): number {
  for (let i = 0; i < limit; i++) if (!budget.admit(step(log, `${prefix}${i}`), scope)) return i;
  return limit;
}

/** A scope that never aborts, for continuations whose abort the test does not look at. */
const scope = AbortScope.root();

/** A budget whose turn is spent: the next continuation admitted is queued. */
function spentBudget(clock: { now: number }): TurnBudget {
  const budget = new TurnBudget();
  budget.admit(step([], 'opens'), scope);
  clock.now += TURN_BUDGET_MS;
  admitUntilQueued(budget, [], 'spends');
  return budget;
}

describe('TurnBudget', () => {
  it('lets every continuation of a turn go on while the turn is within its budget', () => {
    stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    expect(admitUntilQueued(budget, log, 's', 500)).toBe(500);
    expect(budget.waiting).toBe(0);
  });

  it('queues the continuations that come once the budget is spent, and lets them go on in the next turn, in order', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    expect(budget.admit(step(log, 'first'), scope)).toBe(true);
    clock.now += TURN_BUDGET_MS;
    const admitted = admitUntilQueued(budget, log, 's');
    expect(admitted).toBeLessThan(32); // the clock is read at least every 32 continuations
    expect(budget.admit(step(log, 'later'), scope)).toBe(false);
    expect(budget.waiting).toBe(2);
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual([`s${admitted}`, 'later']);
    expect(budget.waiting).toBe(0);
  });

  it('reads the clock once per 32 continuations, not per continuation', () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    budget.admit(step([], 'opens'), scope);
    const reads = vi.mocked(Date.now).mock.calls.length;
    clock.now += TURN_BUDGET_MS;
    expect(admitUntilQueued(budget, [], 's')).toBe(31);
    expect(vi.mocked(Date.now).mock.calls.length - reads).toBe(1);
  });

  it('queues a continuation behind those already waiting, even when a new turn has budget left', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, log, 'a');
    // Within the same turn, the clock set back: the queue still goes first.
    clock.now -= TURN_BUDGET_MS;
    expect(budget.admit(step(log, 'b'), scope)).toBe(false);
    await nextTurn();
    expect(log.at(-1)).toBe('b');
  });

  it('lets a later turn take only the continuations that fit in its budget, and the rest in the turns after', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, log, 'x');
    // Five more wait; each takes 4 ms when it goes on: a 10 ms turn takes three.
    for (let i = 0; i < 5; i++)
      budget.admit(
        step(log, `w${i}`, () => {
          clock.now += 4;
        }),
        scope,
      );
    await nextTurn();
    expect(log).toEqual(['x31', 'w0', 'w1', 'w2']);
    expect(budget.waiting).toBe(2);
    await nextTurn();
    expect(log).toEqual(['x31', 'w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('lets every continuation go on while fewer than two runs are live, however long the turn', () => {
    const clock = stoppedClock();
    const live = { size: 1 };
    const budget = new TurnBudget(live);
    for (let i = 0; i < 500; i++) {
      clock.now += TURN_BUDGET_MS;
      expect(budget.admit(step([], `alone${i}`), scope)).toBe(true);
    }
    live.size = 2;
    budget.admit(step([], 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    expect(admitUntilQueued(budget, [], 'shared')).toBeLessThan(32);
  });

  it('defers nothing under fake timers, whose clock stands still within a turn', async () => {
    vi.useFakeTimers();
    const budget = new TurnBudget();
    expect(admitUntilQueued(budget, [], 's', 5_000)).toBe(5_000);
  });

  it("ends its turns with Node's own setImmediate, so fake timers uninstalled before they ran cannot stall it", async () => {
    const clock = stoppedClock();
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] });
    const budget = new TurnBudget();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, log, 's');
    vi.useRealTimers(); // the fakes go, and whatever they were to run with them
    await nextTurn();
    expect(budget.waiting).toBe(0);
    expect(log).toEqual(['s31']);
  });

  it('opens a fresh budget in the turn after one spent, with the clock moved on', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    await nextTurn();
    await nextTurn();
    clock.now += 5 * TURN_BUDGET_MS; // a later time: the new turn's budget counts from its own start
    expect(admitUntilQueued(budget, [], 'b', 100)).toBe(100);
  });

  it('lets a queued continuation go on at once, out of turn, when its scope aborts, and only once', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const log: string[] = [];
    const aborting = AbortScope.root();
    budget.admit(step(log, 'first'), scope);
    expect(budget.admit(step(log, 'aborted'), aborting)).toBe(false);
    aborting.abort(new Error('cancelled'));
    expect(log).toEqual([]); // not from inside abort()
    await Promise.resolve();
    expect(log).toEqual(['aborted']);
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['aborted', 'first']);
    expect(budget.waiting).toBe(0);
  });

  it('counts as waiting only the queued continuations that have not gone on, not one its abort let go', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const aborting = AbortScope.root();
    budget.admit(step([], 'aborted'), aborting);
    expect(budget.waiting).toBe(2);
    aborting.abort(new Error('cancelled'));
    await Promise.resolve();
    expect(budget.waiting).toBe(1);
  });

  it('lets a continuation go on at once when every one queued before it has gone on by its abort', async () => {
    const clock = stoppedClock();
    const live = { size: 2 };
    const budget = new TurnBudget(live);
    const aborting = AbortScope.root();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), aborting);
    clock.now += TURN_BUDGET_MS;
    for (let i = 0; budget.admit(step(log, `a${i}`), aborting); i++);
    aborting.abort(new Error('cancelled'));
    await Promise.resolve();
    expect(budget.waiting).toBe(0);
    live.size = 1; // one run alone: nothing but a continuation still waiting holds it back
    expect(budget.admit(step(log, 'next'), scope)).toBe(true);
    expect(budget.slots).toBe(0);
  });

  it('lets a continuation whose scope has already aborted go on in a microtask', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const log: string[] = [];
    const aborted = AbortScope.root();
    aborted.abort(new Error('cancelled'));
    expect(budget.admit(step(log, 'late'), aborted)).toBe(false);
    expect(log).toEqual([]);
    await Promise.resolve();
    expect(log).toEqual(['late']);
  });

  it("lets each waiting continuation go on in the async context it was queued in, not the turn's", async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const store = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    for (const run of ['a', 'b', 'c']) {
      store.run(run, () => budget.admit({ proceed: () => seen.push(store.getStore()) }, scope));
    }
    await nextTurn();
    await nextTurn();
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('leaves the scope of a continuation that went on in its turn with nothing to call on a later abort', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const log: string[] = [];
    const aborting = AbortScope.root();
    budget.admit(step(log, 'queued'), aborting);
    await nextTurn();
    await nextTurn();
    expect(log).toEqual(['queued']);
    // The budget's own microtasks went through the counted one: the count below means something.
    expect(inMicrotask).toHaveBeenCalled();
    vi.mocked(inMicrotask).mockClear();
    aborting.abort(new Error('later'));
    expect(inMicrotask).not.toHaveBeenCalled(); // its hold was released: the abort finds nothing
    await Promise.resolve();
    expect(log).toEqual(['queued']);
  });

  it('keeps the order of thousands of waiting continuations over many turns while more keep coming', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const log: string[] = [];
    const expected: string[] = [];
    let n = 0;
    const add = (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        expected.push(`c${n}`);
        // Each takes 1 ms: a turn takes about ten.
        budget.admit(
          step(log, `c${n}`, () => (clock.now += 1)),
          scope,
        );
      }
    };
    add(1_500);
    while (budget.waiting > 0) {
      await nextTurn();
      if (n < 4_000) add(20); // more than a turn takes: the queue is compacted as it goes, never emptied
    }
    expect(log).toEqual(expected);
  });

  it('holds no more slots than twice those waiting, or a thousand more, under sustained load', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    let n = 0;
    const add = (count: number) => {
      for (let i = 0; i < count; i++, n++)
        budget.admit(
          step([], `c${n}`, () => (clock.now += 1)),
          scope,
        );
    };
    add(1_500);
    let worst = 0;
    while (budget.waiting > 0) {
      await nextTurn();
      if (n < 4_000) add(20);
      worst = Math.max(worst, budget.slots - Math.max(2 * budget.waiting, budget.waiting + 1_025));
    }
    expect(worst).toBeLessThanOrEqual(0);
  });

  it('lets one waiting continuation go on in each turn even when the clock says the budget is spent', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, log, 'a');
    budget.admit(step(log, 'b'), scope);
    // From now on every reading is a budget later: a turn never has time left.
    vi.mocked(Date.now).mockImplementation(() => (clock.now += TURN_BUDGET_MS));
    await nextTurn();
    expect(log).toEqual(['a31']);
    await nextTurn();
    expect(log).toEqual(['a31', 'b']);
  });

  it('counts the work a continuation queued as microtasks against the turn before the next goes on', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    const log: string[] = [];
    budget.admit(step(log, 'opens'), scope);
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, log, 'a');
    // The first goes on, and its work (a microtask later) spends the budget: the second waits a turn.
    budget.admit(
      step(log, 'slow', () => {
        queueMicrotask(() => {
          clock.now += TURN_BUDGET_MS;
        });
      }),
      scope,
    );
    budget.admit(step(log, 'next'), scope);
    await nextTurn();
    expect(log).toEqual(['a31', 'slow']);
    await nextTurn();
    expect(log).toEqual(['a31', 'slow', 'next']);
  });

  it('gives a run about to start no promise while the turn has budget, and one of a later turn once it has none', async () => {
    const clock = stoppedClock();
    const budget = new TurnBudget();
    expect(budget.wait(scope)).toBeUndefined();
    clock.now += TURN_BUDGET_MS;
    admitUntilQueued(budget, [], 'a');
    const log: string[] = [];
    const started = budget.wait(scope)?.then(() => log.push('started'));
    expect(started).toBeInstanceOf(Promise);
    expect(budget.waiting).toBe(2);
    await started;
    expect(log).toEqual(['started']);
    expect(budget.waiting).toBe(0);
  });

  it('gives a run about to start a promise that its scope aborting settles at once', async () => {
    const clock = stoppedClock();
    const budget = spentBudget(clock);
    const aborting = AbortScope.root();
    const log: string[] = [];
    void budget.wait(aborting)?.then(() => log.push('started'));
    aborting.abort(new Error('cancelled'));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(log).toEqual(['started']);
  });
});

describe('many runs', () => {
  it('whose agents answer together go on over several turns of the event loop once a turn has run for its budget, and all succeed', async () => {
    const RUNS = 200;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let firstCalls = 0;
    /** The turn of the event loop each second-stage call came in. */
    const turnsOfSecondCalls: number[] = [];
    let turn = 0;
    const agent = defineAgent({
      id: 'a',
      invoke: async (input: { stage: number }) => {
        if (input.stage === 0) {
          firstCalls++;
          await answered;
        } else turnsOfSecondCalls.push(turn);
        return { stage: input.stage + 1 };
      },
    });
    const orchestrator = new MacroOrchestrator({
      agents: [agent],
      macros: [
        defineMacro({
          name: 'two',
          description: 'two stages',
          stages: [agentStage('s0', 'a'), agentStage('s1', 'a')],
        }),
      ],
    });
    const results = Array.from(
      { length: RUNS },
      () => orchestrator.run('two', { intent: 'go' }, { input: { stage: 0 } }).result,
    );
    while (firstCalls < RUNS) await nextTurn();
    // From now on every reading of the clock is a turn's budget later: each turn runs out.
    let now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => (now += TURN_BUDGET_MS));
    const counting = setInterval(() => {}, 1_000); // keeps the loop alive while turns are counted
    const count = () => {
      turn++;
      if (turnsOfSecondCalls.length < RUNS) setImmediate(count);
    };
    setImmediate(count);
    answer();
    const settled = await Promise.all(results);
    clearInterval(counting);
    expect(settled.map((r) => r.status)).toEqual(settled.map(() => 'succeeded'));
    expect(turnsOfSecondCalls[0]).toBe(0);
    expect(new Set(turnsOfSecondCalls).size).toBeGreaterThan(1);
    expect(turnsOfSecondCalls).toHaveLength(RUNS); // each run's second stage went on once
  });
  it('but one go on in one turn, as a hand-written loop would, however long it takes', async () => {
    let turn = 0;
    const turnsOfCalls: number[] = [];
    const agent = defineAgent({
      id: 'a',
      invoke: async (input: number) => {
        turnsOfCalls.push(turn);
        return input + 1;
      },
    });
    const stages = Array.from({ length: 200 }, (_, i) => agentStage(`s${i}`, 'a')) as [StageDefinition];
    const orchestrator = new MacroOrchestrator({
      agents: [agent],
      macros: [defineMacro({ name: 'long', description: '200 quick stages', stages })],
    });
    let now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => (now += TURN_BUDGET_MS));
    setImmediate(() => {
      turn++;
    });
    const result = await orchestrator.run('long', { intent: 'go' }, { input: 0 });
    expect(result.output).toBe(200);
    expect(new Set(turnsOfCalls)).toEqual(new Set([0]));
  });

  it('start over several turns of the event loop when more start at once than a turn has budget for', async () => {
    const RUNS = 100;
    let turn = 0;
    const turnsOfFirstCalls: number[] = [];
    const inputs: number[] = [];
    const agent = defineAgent({
      id: 'a',
      invoke: (input: number) => {
        turnsOfFirstCalls.push(turn);
        inputs.push(input);
        return input + 1;
      },
    });
    const orchestrator = new MacroOrchestrator({
      agents: [agent],
      macros: [defineMacro({ name: 'one', description: 'one stage', stages: [agentStage('s0', 'a')] })],
    });
    let now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => (now += TURN_BUDGET_MS));
    const count = () => {
      turn++;
      if (turnsOfFirstCalls.length < RUNS) setImmediate(count);
    };
    setImmediate(count);
    const results = Array.from(
      { length: RUNS },
      (_, i) => orchestrator.run('one', { intent: 'go' }, { input: i }).result,
    );
    const settled = await Promise.all(results);
    expect(settled.map((r) => r.output)).toEqual(settled.map((_, i) => i + 1));
    expect(turnsOfFirstCalls[0]).toBe(0);
    expect(new Set(turnsOfFirstCalls).size).toBeGreaterThan(1);
    expect(inputs).toEqual(inputs.map((_, i) => i)); // they started in the order they were asked to
  });
});
