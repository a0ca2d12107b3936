/** TurnBudget's queue: the slots it holds, and when it drops those already let through. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortScope } from '../../src/internal/abort-scope.js';
import { TURN_BUDGET_MS, TurnBudget } from '../../src/scheduling/turn-budget.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A scope that never aborts. */
const scope = AbortScope.root();

/** Date.now stands still: a turn lets through every continuation queued. */
function stoppedClock() {
  const clock = { now: 1_000_000 };
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now);
  return clock;
}

/**
 * Queues `count` continuations on a budget whose turn is spent, and lets them go on in the
 * next turn; returns the slots the budget held as each went on, in order.
 */
async function slotsSeen(count: number): Promise<number[]> {
  const clock = stoppedClock();
  const budget = new TurnBudget();
  budget.admit({ proceed: () => {} }, scope);
  clock.now += TURN_BUDGET_MS;
  const seen: number[] = [];
  const noting = { proceed: () => seen.push(budget.slots) };
  while (budget.admit(noting, scope));
  for (let queued = 1; queued < count; queued++) budget.admit(noting, scope);
  await nextTurn();
  expect(seen).toHaveLength(count);
  expect(budget.waiting).toBe(0);
  return seen;
}

/** How many continuations went on before the queue was first compacted, and the slots left then. */
function firstCompaction(seen: readonly number[], count: number) {
  const at = seen.findIndex((slots) => slots < count);
  return { letThrough: at, slots: seen[at] };
}

describe('TurnBudget slots', () => {
  it('holds no slot before a continuation is queued', () => {
    expect(new TurnBudget().slots).toBe(0);
  });

  it('compacts its queue once more than 1,024 slots have been let through, not before', async () => {
    const seen = await slotsSeen(2_000);
    expect(firstCompaction(seen, 2_000)).toEqual({ letThrough: 1_025, slots: 2_000 - 1_025 });
  });

  it('does not compact its queue while the slots let through are no more than half of it', async () => {
    const seen = await slotsSeen(3_000);
    expect(firstCompaction(seen, 3_000)).toEqual({ letThrough: 1_501, slots: 3_000 - 1_501 });
  });
});
