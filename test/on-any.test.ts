/**
 * One subscription for everything: `run.onAny` (every event of one run) and
 * `orchestrator.onAny` (every event of every run).
 */
import { pino } from 'pino';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  agentStage,
  defineMacro,
  type MacroEvent,
  MacroOrchestrator,
  type MacroRun,
  predicateGate,
} from '../src/index.js';
import { fnAgent, pairingProblems, recordEvents } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);
const macro = defineMacro({
  name: 'main',
  description: 'd',
  stages: [agentStage('a', echo, { gates: [predicateGate('any', () => true)] }), agentStage('b', echo)],
});
const orchestrate = (options = {}) => new MacroOrchestrator({ agents: [echo], macros: [macro], ...options });

describe('run.onAny', () => {
  it('receives every event of the run in seq order, the same ones the per-type listeners see', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const all: MacroEvent[] = [];
    run.onAny((event) => all.push(event));
    const byType = recordEvents(run as MacroRun<unknown>);
    await run;
    expect(all.map((e) => e.seq)).toEqual(byType.map((e) => e.seq).sort((x, y) => x - y));
    expect(all).toEqual(byType.slice().sort((x, y) => x.seq - y.seq));
    expect(pairingProblems(all)).toEqual([]);
    expect(new Set(all.map((e) => e.type))).toEqual(
      new Set([
        'run:start',
        'macro:start',
        'stage:start',
        'phase:start',
        'phase:end',
        'gate',
        'stage:end',
        'macro:end',
        'run:end',
      ]),
    );
  });

  it('makes the engine build events that only it listens to', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const types: string[] = [];
    run.onAny((event) => types.push(event.type));
    await run;
    expect(types).toContain('phase:start');
    expect(types.at(-1)).toBe('run:end');
  });

  it('is called after the listeners of the event type', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const order: string[] = [];
    run.onAny((event) => {
      if (event.type === 'run:start') order.push('any');
    });
    run.on('run:start', () => order.push('typed'));
    await run;
    expect(order).toEqual(['typed', 'any']);
  });

  it('stops receiving events once unsubscribed', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const seen: string[] = [];
    const stop = run.onAny((event) => {
      seen.push(event.type);
      stop();
    });
    await run;
    expect(seen).toEqual(['run:start']);
  });

  it('calls a listener added while an event is delivered from the next event on', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const late: number[] = [];
    let addedAt: string | undefined;
    run.onAny((event) => {
      if (addedAt !== undefined) return;
      addedAt = event.type;
      run.onAny((next) => late.push(next.seq));
    });
    await run;
    expect(addedAt).toBe('run:start');
    expect(late[0]).toBe(2);
  });

  it('does not call a listener removed, nor one added in its place, while an event is delivered', async () => {
    const run = orchestrate().run('main', { intent: 'go' });
    const calls: string[] = [];
    let stopB = () => {};
    run.onAny((event) => {
      if (event.type !== 'run:start') return;
      stopB();
      run.onAny((next) => calls.push(`C ${next.type}`));
    });
    stopB = run.onAny((event) => calls.push(`B ${event.type}`));
    await run;
    expect(calls.filter((c) => c.startsWith('B'))).toEqual([]);
    expect(calls[0]).toBe('C macro:start');
  });

  it('keeps the run and the other listeners going when one throws, and logs the error', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const run = orchestrate({ logger }).run('main', { intent: 'go' });
    run.onAny((event) => {
      if (event.type === 'stage:start') throw new Error('any-listener bug');
    });
    const after: string[] = [];
    run.onAny((event) => after.push(event.type));
    const result = await run;
    expect(result.status).toBe('succeeded');
    expect(after.filter((t) => t === 'stage:start')).toHaveLength(2);
    expect(lines.filter((line) => line.includes('any-listener bug'))).toHaveLength(2);
  });

  it('refuses a listener that is not a function, naming the method', () => {
    const run = orchestrate().run('main', { intent: 'go' });
    expect(() => run.onAny('log' as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: 'run.onAny expects a function, got string',
      }),
    );
  });

  it('is typed with the event union and returns the unsubscribe function', () => {
    const run = orchestrate().run('main', { intent: 'go' });
    expectTypeOf(run.onAny).parameter(0).parameter(0).toEqualTypeOf<MacroEvent>();
    expectTypeOf(run.onAny(() => {})).toEqualTypeOf<() => void>();
  });
});

describe('orchestrator.onAny', () => {
  it('receives every event of every run it starts, each run whole and in order', async () => {
    const orchestrator = orchestrate();
    const all: MacroEvent[] = [];
    orchestrator.onAny((event) => all.push(event));
    const [one, two] = await Promise.all([
      orchestrator.run('main', { intent: 'one' }),
      orchestrator.run('main', { intent: 'two' }),
    ]);
    for (const result of [one, two]) {
      const own = all.filter((e) => e.runId === result?.runId);
      expect(own[0]?.type).toBe('run:start');
      expect(own.at(-1)?.type).toBe('run:end');
      expect(own.map((e) => e.seq)).toEqual(own.map((_, i) => i + 1));
      expect(pairingProblems(own)).toEqual([]);
    }
  });

  it('sees the events a resumed run emits (here, the replay of a finished one)', async () => {
    const orchestrator = orchestrate();
    const done = await orchestrator.run('main', { intent: 'go' });
    const types: string[] = [];
    orchestrator.onAny((event) => types.push(`${event.runId}:${event.type}`));
    await orchestrator.resume(done.runId);
    expect(types[0]).toBe(`${done.runId}:run:start`);
    expect(types.at(-1)).toBe(`${done.runId}:run:end`);
  });

  it('receives nothing once unsubscribed', async () => {
    const orchestrator = orchestrate();
    const listener = vi.fn();
    const stop = orchestrator.onAny(listener);
    stop();
    await orchestrator.run('main', { intent: 'go' });
    expect(listener).not.toHaveBeenCalled();
  });

  it("is called after the run's own any-listeners", async () => {
    const orchestrator = orchestrate();
    const order: string[] = [];
    orchestrator.onAny((event) => {
      if (event.type === 'run:end') order.push('orchestrator');
    });
    const run = orchestrator.run('main', { intent: 'go' });
    run.onAny((event) => {
      if (event.type === 'run:end') order.push('run');
    });
    await run;
    expect(order).toEqual(['run', 'orchestrator']);
  });

  it('refuses a listener that is not a function, naming the method', () => {
    expect(() => orchestrate().onAny(undefined as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: 'orchestrator.onAny expects a function, got undefined',
      }),
    );
  });
});
