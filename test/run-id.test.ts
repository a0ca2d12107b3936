import { describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator, type MacroRun } from '../src/index.js';

const waits = defineMacro({
  name: 'waits',
  description: 'one waiting stage',
  stages: [agentStage('w', 'w')],
});

/** An orchestrator whose agent answers once `release()` was called (before or after the call). */
function orchestrator(now?: () => number) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const agents = [defineAgent({ id: 'w', invoke: () => gate.then(() => 'done') })];
  const made = new MacroOrchestrator({ agents, macros: [waits], ...(now === undefined ? {} : { now }) });
  return { orchestrator: made, release: () => release() };
}

/**
 * {@link orchestrator}, whose clock starts a run of id `runId` the first time it is read: the
 * caller's code starting a run while the orchestrator starts another. `inner()` is that run.
 */
function clockStartingRun(runId: string) {
  let inner: MacroRun<unknown> | undefined;
  let first = true;
  const made = orchestrator(() => {
    if (first) {
      first = false;
      inner = made.orchestrator.run('waits', { intent: 'inner' }, { runId });
    }
    return Date.now();
  });
  return { ...made, inner: () => inner };
}

describe('RunOptions.runId', () => {
  it('runs under the id the caller chose', async () => {
    const { orchestrator: o, release } = orchestrator();
    const run = o.run('waits', { intent: 'go' }, { runId: 'job-7' });
    release();
    expect([run.runId, (await run).runId]).toEqual(['job-7', 'job-7']);
  });

  it('refuses the id of a run still running in the orchestrator with INVALID_OPTIONS', async () => {
    const { orchestrator: o, release } = orchestrator();
    const first = o.run('waits', { intent: 'go' }, { runId: 'job-7' });
    expect(() => o.run('waits', { intent: 'go' }, { runId: 'job-7' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: 'Invalid option "runId" in run options: run "job-7" is already running in this orchestrator',
      }),
    );
    release();
    await first;
  });

  it("refuses the id when the caller's own clock starts a run of that id while run() starts, and runs that one alone", async () => {
    const { orchestrator: o, release, inner } = clockStartingRun('job-7');
    expect(() => o.run('waits', { intent: 'outer' }, { runId: 'job-7' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('"job-7" is already running'),
      }),
    );
    release();
    expect(await inner()).toMatchObject({ runId: 'job-7', status: 'succeeded' });
  });

  it("has resume() return the run the caller's clock started under that id while resume() started", async () => {
    const { orchestrator: o, release, inner } = clockStartingRun('job-7');
    const resumed = o.resume('job-7');
    expect(resumed).toBe(inner());
    release();
    expect(await resumed).toMatchObject({ runId: 'job-7', status: 'succeeded' });
  });

  it('takes the id of a run that finished', async () => {
    const { orchestrator: o, release } = orchestrator();
    const first = o.run('waits', { intent: 'go' }, { runId: 'job-7' });
    release();
    await first;
    const again = o.run('waits', { intent: 'go' }, { runId: 'job-7' });
    release();
    expect((await again).status).toBe('succeeded');
  });

  it.each([
    ['an empty string', ''],
    ['a number', 7],
    ['257 characters', 'x'.repeat(257)],
  ])('refuses %s as the id with INVALID_OPTIONS', (_, runId) => {
    const { orchestrator: o } = orchestrator();
    expect(() => o.run('waits', { intent: 'go' }, { runId: runId as string })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('runId') }),
    );
  });

  it('is not an option of resume', () => {
    const { orchestrator: o } = orchestrator();
    expect(() => o.resume('r', { runId: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('runMacro options', () => {
  it('refuses an orchestrator together with orchestrator options with INVALID_OPTIONS', async () => {
    const { runMacro } = await import('../src/index.js');
    const { orchestrator: o } = orchestrator();
    expect(() => runMacro('waits', { intent: 'go' }, { orchestrator: o, macros: [waits] } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('not both (got orchestrator and macros)'),
      }),
    );
  });

  it('passes a signal, a time budget and a deadline on to the run', async () => {
    const { runMacro } = await import('../src/index.js');
    const controller = new AbortController();
    const run = runMacro(
      'waits',
      { intent: 'go' },
      {
        macros: [waits],
        agents: [defineAgent({ id: 'w', invoke: () => new Promise(() => {}) })],
        signal: controller.signal,
        timeoutMs: 60_000,
        deadline: Date.now() + 60_000,
      },
    );
    controller.abort();
    expect((await run.result).status).toBe('cancelled');
  });
});
