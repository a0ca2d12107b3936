import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  defineMacro,
  MacroOrchestrator,
  parallel,
  retryableStage,
  type StageDefinition,
} from '../src/index.js';
import { recordEvents } from './support/index.js';

const K = 3_000; // about three slices of branches

function fanOut(agents: Agent[], branches = K) {
  const stages: StageDefinition[] = Array.from({ length: branches }, (_, i) =>
    i % 7 === 0
      ? retryableStage(agentStage(`b${i}`, 'echo', { input: () => i }), { retries: 1 }) // not lean
      : agentStage(`b${i}`, 'echo', { input: () => i }),
  );
  const macro = defineMacro({
    name: 'fan',
    description: 'fan-out',
    stages: [parallel('p', stages as [StageDefinition, ...StageDefinition[]])],
  });
  return new MacroOrchestrator({ agents, macros: [macro] });
}

describe('a large fan-out', () => {
  it('returns every branch output in branch order, across slices and both stage paths', async () => {
    const echo: Agent = { id: 'echo', invoke: (n: unknown) => n };
    const result = await fanOut([echo]).run('fan', { intent: 'fan' });
    expect(result.status).toBe('succeeded');
    expect(result.output).toEqual(Array.from({ length: K }, (_, i) => i));
  });

  it('lets work that settles at once end before the next slice of branches starts', async () => {
    const echo: Agent = { id: 'echo', invoke: (n: unknown) => n };
    const run = fanOut([echo]).run('fan', { intent: 'fan' });
    const events = recordEvents(run);
    await run;
    const at = (type: string, path: string) => events.findIndex((e) => e.type === type && e.path === path);
    expect(at('stage:end', 'fan/p/b1')).toBeLessThan(at('stage:start', 'fan/p/b1024'));
  });

  it('still has every slow branch in flight at once: no slice waits for another to end', async () => {
    let started = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each call waits until every branch has been called: slices that waited for the
    // previous one to end would never get there.
    const gathering: Agent = {
      id: 'echo',
      invoke: async (n: unknown) => {
        if (++started === K) release();
        await allStarted;
        return n;
      },
    };
    const result = await fanOut([gathering]).run('fan', { intent: 'fan' });
    expect(result.status).toBe('succeeded');
    expect(started).toBe(K);
  });

  it('under fail-fast, starts the branches of later slices cancelled once a branch has failed', async () => {
    let calls = 0;
    const failsFirst: Agent = {
      id: 'echo',
      invoke: (n: unknown) => {
        calls += 1;
        if (n === 1) throw new Error('branch 1 fails');
        return n;
      },
    };
    const run = fanOut([failsFirst], 2_000).run('fan', { intent: 'fan' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('failed');
    expect(calls).toBe(1_024); // the first slice only
    const last = result.stages['fan/p/b1999'];
    expect(last?.status).toBe('cancelled');
    expect(events.filter((e) => e.type === 'stage:start').length).toBe(2_001); // every branch and the group
  });
});
