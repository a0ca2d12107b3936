/**
 * `run.on`, `once` and `off` given what JavaScript callers can pass despite the types: a
 * listener that is no function, an event type that is no event type.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, MacroOrchestrator } from '../src/index.js';
import { fnAgent } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);
const macro = defineMacro({ name: 'main', description: 'd', stages: [agentStage('a', echo)] });
const start = () => new MacroOrchestrator({ agents: [echo], macros: [macro] }).run('main', { intent: 'go' });

describe('run listeners given the wrong arguments', () => {
  it('on, once and off refuse a listener that is no function, naming the event type', async () => {
    const run = start();
    for (const method of ['on', 'once', 'off'] as const) {
      expect(() => run[method]('stage:end', 42 as never)).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: `run.${method}("stage:end") expects a listener function, got number`,
        }),
      );
    }
    expect(() => run.on('stage:end', null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    await run;
  });

  it('on, once and off refuse an event type the run never emits, listing the ones it does', async () => {
    const run = start();
    for (const event of ['stage:finish', 'toString', Symbol('x'), 42]) {
      expect(() => run.on(event as never, () => {})).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('run.on expects an event type (run:start, run:end'),
        }),
      );
    }
    expect(() => run.once('stage-end' as never, () => {})).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => run.off('stage-end' as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    await run;
  });

  it('off without a listener still removes every listener of the type', async () => {
    const run = start();
    run.on('stage:end', () => {});
    run.off('stage:end');
    expect(run.listenerCount('stage:end')).toBe(0);
    await run;
  });
});
