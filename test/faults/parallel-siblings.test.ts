import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, type ParallelFailureMode, parallel } from '../../src/index.js';
import {
  drive,
  hangingAgent,
  okAgent,
  pairingProblems,
  slowAgent,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

/**
 * Three branches: `done` finishes at once, `timed` hangs past its 1 s budget, and
 * `busy` needs 5 s (honouring its signal).
 */
function fanOut(failure: ParallelFailureMode) {
  const agents = {
    done: okAgent('done', 'early'),
    timed: hangingAgent('timed'),
    busy: slowAgent('busy', 5_000, 'late'),
  };
  const macro = defineMacro({
    name: 'fan',
    description: 'three branches',
    stages: [
      parallel(
        'group',
        [
          agentStage('done', 'done'),
          agentStage('timed', 'timed', { timeoutMs: 1_000 }),
          agentStage('busy', 'busy'),
        ],
        { failure },
      ),
    ],
  });
  return { agents, macro, started: start([macro], Object.values(agents)) };
}

describe("fail-fast: a branch's timeout", () => {
  it('aborts the siblings still running', async () => {
    const { agents, started } = fanOut('fail-fast');
    const result = await drive(started.run);
    expect(agents.busy.calls[0]?.invocation.signal.aborted).toBe(true);
    expect(result.stages['fan/group/busy']).toMatchObject({
      status: 'cancelled',
      error: { code: 'CANCELLED' },
    });
  });

  it('says the sibling was cancelled by the failing branch, not the run', async () => {
    const { started } = fanOut('fail-fast');
    const result = await drive(started.run);
    expect(result.stages['fan/group/busy']?.error?.message).toBe(
      'Branches cancelled at fan/group: sibling fan/group/timed failed (fail-fast)',
    );
  });

  it('settles the run when the branch times out, not when the siblings would have finished', async () => {
    const { started } = fanOut('fail-fast');
    const result = await drive(started.run);
    expect(result.durationMs).toBe(1_000);
  });

  it('keeps the output of siblings that finished before the timeout', async () => {
    const { started } = fanOut('fail-fast');
    const result = await drive(started.run);
    expect(result.stages['fan/group/done']).toMatchObject({ status: 'succeeded', output: 'early' });
  });

  it('settles the run partial with the branch’s timeout error', async () => {
    const { started } = fanOut('fail-fast');
    const result = await drive(started.run);
    expect(result.status).toBe('partial');
    expect(result.status === 'partial' && result.error.path).toBe('fan/group/timed');
    expect(result.stages['fan/group']).toMatchObject({ status: 'timed-out' });
  });

  it('keeps the event stream paired', async () => {
    const { started } = fanOut('fail-fast');
    await drive(started.run);
    expect(pairingProblems(started.events)).toEqual([]);
  });
});

describe("settle: a branch's timeout", () => {
  it('lets the siblings run to completion', async () => {
    const { agents, started } = fanOut('settle');
    const result = await drive(started.run);
    expect(agents.busy.calls[0]?.invocation.signal.aborted).toBe(false);
    expect(result.durationMs).toBe(5_000);
  });

  it('keeps every sibling’s output in result.stages', async () => {
    const { started } = fanOut('settle');
    const result = await drive(started.run);
    expect(result.stages['fan/group/done']).toMatchObject({ status: 'succeeded', output: 'early' });
    expect(result.stages['fan/group/busy']).toMatchObject({ status: 'succeeded', output: 'late' });
  });

  it('still settles the run partial with the branch’s timeout error', async () => {
    const { started } = fanOut('settle');
    const result = await drive(started.run);
    expect(result.status).toBe('partial');
    expect(result.stages['fan/group/timed']).toMatchObject({ status: 'timed-out' });
  });

  it('keeps the event stream paired', async () => {
    const { started } = fanOut('settle');
    await drive(started.run);
    expect(pairingProblems(started.events)).toEqual([]);
  });
});

describe('a failing branch', () => {
  const macro = (failure: ParallelFailureMode) =>
    defineMacro({
      name: 'fan',
      description: 'one branch throws',
      stages: [parallel('group', [agentStage('bad', 'bad'), agentStage('busy', 'busy')], { failure })],
    });

  it('aborts its siblings under fail-fast', async () => {
    const busy = slowAgent('busy', 5_000);
    const result = await drive(start([macro('fail-fast')], [throwingAgent('bad', new Error('x')), busy]).run);
    expect(result.stages['fan/group/busy']?.status).toBe('cancelled');
  });

  it('lets its siblings finish under settle, and the run fails with its error', async () => {
    const busy = slowAgent('busy', 5_000, 'finished');
    const result = await drive(start([macro('settle')], [throwingAgent('bad', new Error('x')), busy]).run);
    expect(result.stages['fan/group/busy']).toMatchObject({ status: 'succeeded', output: 'finished' });
    expect(result.status === 'failed' && result.error.code).toBe('AGENT_FAILED');
  });
});

describe('a timeout of the parallel group itself', () => {
  it.each(['fail-fast', 'settle'] as const)('aborts every branch under %s', async (failure) => {
    const busy = slowAgent('busy', 5_000);
    const macro = defineMacro({
      name: 'fan',
      description: 'the group has the budget',
      stages: [
        parallel('group', [agentStage('a', 'busy'), agentStage('b', 'busy')], { failure, timeoutMs: 500 }),
      ],
    });
    const result = await drive(start([macro], [busy]).run);
    expect(busy.calls.map((c) => c.invocation.signal.aborted)).toEqual([true, true]);
    expect(result.stages['fan/group/a']).toMatchObject({ status: 'timed-out', error: { path: 'fan/group' } });
  });
});
