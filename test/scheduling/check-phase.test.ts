/** The check phase's share: the engine's turns, checkpoint writes and SQLite commits of one check phase share one budget. */
import { setImmediate as realImmediate } from 'node:timers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { CHECK_PHASE_MS, checkPhaseSlice, MIN_SLICE_MS } from '../../src/internal/check-phase.js';
import { CheckpointTurns } from '../../src/macro/checkpoint-turns.js';
import { TurnBudget } from '../../src/scheduling/turn-budget.js';

/** Runs the microtasks queued so far, and those they queue, without letting the event loop turn. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 100; i++) await Promise.resolve();
}

/** A check phase later: the share opened before has closed. */
const nextCheckPhase = () => new Promise<void>((resolve) => realImmediate(resolve));

let clock: { now: number };
beforeEach(async () => {
  await nextCheckPhase(); // a share another test opened closes first
  clock = { now: 1_000_000 };
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkPhaseSlice', () => {
  it('gives the first caller of a check phase the whole share', () => {
    expect(checkPhaseSlice()).toBe(CHECK_PHASE_MS);
  });

  it('gives a later caller of the same phase what is left of the share', () => {
    checkPhaseSlice();
    clock.now += 7;
    expect(checkPhaseSlice()).toBe(CHECK_PHASE_MS - 7);
  });

  it('gives a caller at least MIN_SLICE_MS once the share is spent', () => {
    checkPhaseSlice();
    clock.now += 3 * CHECK_PHASE_MS;
    expect(checkPhaseSlice()).toBe(MIN_SLICE_MS);
  });

  it('gives a caller that asks for more than MIN_SLICE_MS that much once the share is spent', () => {
    checkPhaseSlice();
    clock.now += 3 * CHECK_PHASE_MS;
    expect(checkPhaseSlice(MIN_SLICE_MS + 5)).toBe(MIN_SLICE_MS + 5);
  });

  it('gives a caller that asks for more what is left of the share when that is more still', () => {
    checkPhaseSlice();
    expect(checkPhaseSlice(MIN_SLICE_MS + 1)).toBe(CHECK_PHASE_MS);
  });

  it('opens a whole share again in the next check phase', async () => {
    checkPhaseSlice();
    clock.now += CHECK_PHASE_MS;
    await nextCheckPhase();
    expect(checkPhaseSlice()).toBe(CHECK_PHASE_MS);
  });
});

describe('sharing the check phase', () => {
  /** Continuations that each take 1 ms of the clock, queued behind a spent turn; returns the log of those that went on. */
  function queuedBehindSpentTurn(budget: TurnBudget, count: number): string[] {
    const log: string[] = [];
    const scope = AbortScope.root();
    budget.admit({ proceed: () => {} }, scope); // opens a turn outside the check phase
    clock.now += CHECK_PHASE_MS; // and spends it
    for (let i = 0; i < 40; i++) budget.admit({ proceed: () => {} }, scope); // the clock is read every 32
    for (let i = 0; i < count; i++) {
      budget.admit(
        {
          proceed: () => {
            log.push(`s${i}`);
            clock.now += 1;
          },
        },
        scope,
      );
    }
    return log;
  }

  it('gives a turn of waiting stages the whole share when it is the first of its check phase', async () => {
    const budget = new TurnBudget();
    const log = queuedBehindSpentTurn(budget, 30);
    budget.turn();
    await microtasks();
    expect(log).toHaveLength(CHECK_PHASE_MS);
  });

  it('gives a turn of waiting stages only what the work before it in the check phase left', async () => {
    const budget = new TurnBudget();
    const log = queuedBehindSpentTurn(budget, 30);
    checkPhaseSlice(); // a commit, say, opened the share
    clock.now += CHECK_PHASE_MS - 4;
    budget.turn();
    await microtasks();
    expect(log).toHaveLength(4);
  });

  it('gives checkpoint writes only what the work before them in the check phase left, and at least MIN_SLICE_MS', async () => {
    // Queued first, so it runs first in the check phase: it opens the share and spends it.
    realImmediate(() => {
      checkPhaseSlice();
      clock.now += 2 * CHECK_PHASE_MS;
    });
    const turns = new CheckpointTurns();
    const log: string[] = [];
    for (let i = 0; i < 30; i++) {
      turns.add({
        takeTurn: () => {
          log.push(`w${i}`);
          clock.now += 1;
        },
      });
    }
    await nextCheckPhase();
    expect(log).toHaveLength(MIN_SLICE_MS);
  });
});
