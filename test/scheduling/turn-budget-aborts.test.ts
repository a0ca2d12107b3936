/**
 * A stage that waits for its turn of the event loop (see TurnBudget) is not kept waiting
 * by an abort: a cancel, a suspension or its own time budget lets it go on at once, with
 * the phases its agent finished kept.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Agent,
  agentStage,
  defineMacro,
  MacroOrchestrator,
  type MacroResult,
  parallel,
} from '../../src/index.js';
import { TURN_BUDGET_MS } from '../../src/scheduling/turn-budget.js';
import { recordEvents } from '../support/index.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const RUNS = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test settles, and how many calls wait for it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open, waiting: 0 };
}

/** From now on every reading of the clock is a turn's budget later: each turn lets one stage through. */
function everyTurnSpent(): void {
  let now = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => (now += TURN_BUDGET_MS));
}

/** Opens `answers` and returns in the next turn, once the stages the budget left waiting are queued. */
async function answerAll(answers: { open(): void }): Promise<void> {
  const turn = nextTurn(); // an Immediate before the budget's own: its turn has not come
  answers.open();
  await turn;
}

/** An agent that answers `output` once `answers` opens. */
function waitingAgent(id: string, answers: ReturnType<typeof gate>, output: string): Agent {
  return {
    id,
    invoke: async () => {
      answers.waiting++;
      await answers.opened;
      return output;
    },
  };
}

/** `first` waits for `answers`; `second` answers at once. */
function twoStages(answers: ReturnType<typeof gate>, timeoutMs?: number) {
  const secondCalls = { count: 0 };
  const agents: Agent[] = [
    waitingAgent('first', answers, 'first done'),
    {
      id: 'second',
      invoke: () => {
        secondCalls.count++;
        return 'second done';
      },
    },
  ];
  const macro = defineMacro({
    name: 'two',
    description: 'two stages',
    stages: [
      agentStage('s0', 'first', timeoutMs === undefined ? {} : { timeoutMs }),
      agentStage('s1', 'second'),
    ],
  });
  return { orchestrator: new MacroOrchestrator({ agents, macros: [macro] }), secondCalls };
}

async function untilWaiting(answers: { waiting: number }): Promise<void> {
  while (answers.waiting < RUNS) await nextTurn();
}

describe('a run waiting to start', () => {
  it('starts at once when it is cancelled, not when its turn comes', async () => {
    const { orchestrator } = twoStages(gate());
    everyTurnSpent();
    const runs = Array.from({ length: RUNS }, () => orchestrator.run('two', { intent: 'go' }));
    const last = runs.at(-1) as (typeof runs)[number];
    last.cancel();
    let turns = 0;
    let settled = false;
    void last.result.then(() => {
      settled = true;
    });
    while (!settled && turns < RUNS) {
      await nextTurn();
      turns++;
    }
    expect(turns).toBeLessThanOrEqual(2);
    expect((await last.result).status).toBe('cancelled');
    for (const run of runs) run.cancel();
    await Promise.all(runs.map((r) => r.result));
  });
});

describe('a stage waiting for its turn', () => {
  it('ends before its run does when the run is cancelled, not when its turn comes', async () => {
    const answers = gate();
    const { orchestrator } = twoStages(answers);
    const runs = Array.from({ length: RUNS }, () => orchestrator.run('two', { intent: 'go' }));
    const events = runs.map((run) => recordEvents(run));
    await untilWaiting(answers);
    everyTurnSpent();
    await answerAll(answers);
    for (const run of runs) run.cancel();
    await Promise.all(runs.map((r) => r.result));
    for (let turn = 0; turn < RUNS; turn++) await nextTurn(); // time for any stage left waiting
    // Each run: its first stage's end, once, then the macro's.
    const ends = events.map((e) =>
      e
        .filter(
          (event) => (event.type === 'stage:end' && event.path === 'two/s0') || event.type === 'macro:end',
        )
        .map((event) => event.type),
    );
    expect(ends).toEqual(ends.map(() => ['stage:end', 'macro:end']));
  });

  it('keeps the stage its agent finished before the cancel', async () => {
    const answers = gate();
    const { orchestrator } = twoStages(answers);
    const runs = Array.from({ length: RUNS }, () => orchestrator.run('two', { intent: 'go' }));
    await untilWaiting(answers);
    everyTurnSpent();
    await answerAll(answers);
    for (const run of runs) run.cancel();
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.stages['two/s0']?.status)).toEqual(results.map(() => 'succeeded'));
  });

  it('runs no later phase of its own once its run is cancelled while it waits: the phase fails unrun', async () => {
    const answers = gate();
    let delivered = 0;
    const agents = [waitingAgent('first', answers, 'text')];
    const macro = defineMacro({
      name: 'one',
      description: 'a stage that delivers',
      stages: [
        agentStage('s0', 'first', {
          deliver: (text: string) => {
            delivered++;
            return [{ name: 'out.txt', content: text }];
          },
        }),
      ],
    });
    const orchestrator = new MacroOrchestrator({ agents, macros: [macro] });
    const runs = Array.from({ length: RUNS }, () => orchestrator.run('one', { intent: 'go' }));
    const events = runs.map((run) => recordEvents(run));
    await untilWaiting(answers);
    everyTurnSpent();
    await answerAll(answers);
    const deliveredBefore = delivered;
    expect(deliveredBefore).toBeLessThan(RUNS); // some wait for their turn
    for (const run of runs) run.cancel();
    await Promise.all(runs.map((r) => r.result));
    for (let turn = 0; turn < RUNS; turn++) await nextTurn();
    expect(delivered).toBe(deliveredBefore);
    const unrun = events.filter((e) =>
      e.some(
        (event) => event.type === 'phase:end' && event.phase === 'delivery' && event.status === 'cancelled',
      ),
    );
    expect(unrun).toHaveLength(RUNS - deliveredBefore);
  });

  it('keeps the answer its agent gave in time when its time budget runs out while it waits', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const answers = gate();
    const { orchestrator, secondCalls } = twoStages(answers, 1_000);
    const results = Array.from({ length: RUNS }, () => orchestrator.run('two', { intent: 'go' }).result);
    await untilWaiting(answers);
    everyTurnSpent();
    await answerAll(answers);
    expect(secondCalls.count).toBeLessThan(RUNS); // some wait for their turn
    vi.advanceTimersByTime(1_000); // every first stage's time budget runs out
    const settled = await Promise.all(results);
    expect(settled.map((r) => r.status)).toEqual(settled.map(() => 'succeeded'));
    expect(secondCalls.count).toBe(RUNS);
  });

  it('keeps its finished work when a sibling suspends the run, so that resuming does not call its agent again', async () => {
    const answers = gate();
    const questions = gate();
    let slowCalls = 0;
    const slow: Agent = {
      id: 'slow',
      invoke: async () => {
        slowCalls++;
        answers.waiting++;
        await answers.opened;
        return 'slow done';
      },
    };
    const asker: Agent = {
      id: 'asker',
      invoke: async (_: unknown, invocation) => {
        if (invocation.resumed) return 'ok';
        await questions.opened;
        return invocation.suspend('?');
      },
    };
    const macro = defineMacro({
      name: 'both',
      description: 'a slow agent beside one that asks a person',
      stages: [parallel('p', [agentStage('s', 'slow'), agentStage('a', 'asker')])],
    });
    const orchestrator = new MacroOrchestrator({ agents: [slow, asker], macros: [macro] });
    const firsts = Array.from({ length: RUNS }, () => orchestrator.run('both', { intent: 'x' }).result);
    await untilWaiting(answers);
    everyTurnSpent();
    await answerAll(answers);
    questions.open();
    const suspended = await Promise.all(firsts);
    vi.restoreAllMocks();
    expect(suspended.map((r: MacroResult) => r.status)).toEqual(suspended.map(() => 'suspended'));
    expect(suspended.map((r) => r.stages['both/p/s']?.status)).toEqual(suspended.map(() => 'succeeded'));
    const resumed = await Promise.all(suspended.map((r) => orchestrator.resume(r.runId, { input: 'go' })));
    expect(resumed.map((r) => r.status)).toEqual(resumed.map(() => 'succeeded'));
    expect(slowCalls).toBe(RUNS);
  });
});
