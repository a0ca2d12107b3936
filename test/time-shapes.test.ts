/**
 * The shapes of records and spans (src/macro/time-shapes.ts) are made once and held for the
 * life of the process: let go, V8 may throw their hidden classes away. What they are for is
 * checked from a heap snapshot in test/time-shapes-heap.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator, parallel } from '../src/index.js';
import { Journal } from '../src/macro/journal.js';
import { keepTimeShapes } from '../src/macro/time-shapes.js';

describe('the shapes of records and spans', () => {
  it('are made once and held by the journal class, not made again on each call', () => {
    const shapes = keepTimeShapes();
    expect(keepTimeShapes()).toBe(shapes);
    expect(Journal.timeShapes).toBe(shapes);
  });

  it('have the keys, in their order, of the spans and succeeded records a run makes', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'an agent stage and a group',
      stages: [agentStage('one', 'a'), parallel('both', [agentStage('x', 'a'), agentStage('y', 'a')])],
    });
    const agents = [defineAgent({ id: 'a', invoke: (input: unknown) => input })];
    const result = await new MacroOrchestrator({ agents, macros: [macro] }).run('m', { intent: 'x' });
    const shapes = new Set(keepTimeShapes().map((shape) => Object.keys(shape).join()));
    const made = [
      result.stages['m/one'], // with its agent
      result.stages['m/both'], // a group's: no agent
      ...result.timeline.filter((span) => span.scope !== 'macro'),
    ];
    expect(made.length).toBeGreaterThan(2);
    for (const object of made) expect(shapes).toContain(Object.keys(object as object).join());
  });
});
