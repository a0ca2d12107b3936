import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type Checkpoint,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  parallel,
  type StageRecord,
} from '../../src/index.js';
import { drive, okAgent, scriptedAgent, useFakeClock } from '../support/index.js';

useFakeClock();

interface Bag {
  items: number[];
}

/** `a` returns `{ items: [1] }`; `b` pushes 2 onto the items it receives and returns them. */
const twoStages = defineMacro({
  name: 'm',
  description: 'a later stage mutates what an earlier one produced',
  stages: [agentStage('a', 'maker'), agentStage('b', 'mutator')],
});

const maker = () => scriptedAgent('maker', () => ({ items: [1] }));
const mutator = () =>
  scriptedAgent('mutator', (_n, input) => {
    (input as Bag).items.push(2);
    return (input as Bag).items;
  });

/** An in-memory adapter that keeps every checkpoint it was handed, as handed. */
class RecordingMemory extends InMemoryMemory {
  readonly handed: Checkpoint[] = [];
  override async saveCheckpoint(...args: Parameters<InMemoryMemory['saveCheckpoint']>): Promise<void> {
    this.handed.push(args[1]);
    return super.saveCheckpoint(...args);
  }
}

describe('a stage whose output a later stage mutates', () => {
  it('keeps the value it produced in the result', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), mutator()], macros: [twoStages] });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    expect(result.stages['m/a']?.output).toEqual({ items: [1] });
    expect(result.stages['m/b']?.output).toEqual([1, 2]);
  });

  it('lets the later stage change its own input', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), mutator()], macros: [twoStages] });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    expect(result.status).toBe('succeeded');
  });

  it('keeps the value it produced in the checkpoint handed to memory', async () => {
    const memory = new RecordingMemory();
    const orchestrator = new MacroOrchestrator({
      agents: [maker(), mutator()],
      macros: [twoStages],
      memory,
      durability: 'sync',
    });
    await drive(orchestrator.run('m', { intent: 'x' }));
    const stored = memory.handed.flatMap((c) => c.stages).find((s: StageRecord) => s.path === 'm/a');
    expect(stored?.output).toEqual({ items: [1] });
  });

  it('keeps the value it produced in the stored result', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), mutator()], macros: [twoStages] });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    expect((await orchestrator.loadResult(result.runId))?.stages['m/a']?.output).toEqual({ items: [1] });
  });
});

describe('an agent that changes the object it returned, after returning it', () => {
  it('does not change the recorded output', async () => {
    const kept = { items: [1] };
    const agent = scriptedAgent('maker', () => kept);
    const macro = defineMacro({
      name: 'late',
      description: 'the agent keeps a reference',
      stages: [agentStage('a', 'maker'), agentStage('b', 'later')],
    });
    const later = scriptedAgent('later', () => {
      kept.items.push(99);
      return 'done';
    });
    const orchestrator = new MacroOrchestrator({ agents: [agent, later], macros: [macro] });
    const result = await drive(orchestrator.run('late', { intent: 'x' }));
    expect(result.stages['late/a']?.output).toEqual({ items: [1] });
  });
});

describe('the caller of a finished run', () => {
  it('cannot change a recorded output: it is frozen', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), mutator()], macros: [twoStages] });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    const recorded = result.stages['m/a']?.output as Bag;
    expect(() => recorded.items.push(3)).toThrow(TypeError);
    expect((await orchestrator.loadResult(result.runId))?.stages['m/a']?.output).toEqual({ items: [1] });
  });

  it('gets the final output as the last stage recorded it', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), mutator()], macros: [twoStages] });
    const result = await drive(orchestrator.run('m', { intent: 'x' }));
    expect(result.status === 'succeeded' && result.output).toBe(result.stages['m/b']?.output);
  });
});

describe('a parallel group whose outputs a later stage mutates', () => {
  const fan = defineMacro({
    name: 'fan',
    description: 'two branches, then a stage that mutates the tuple',
    stages: [parallel('p', [agentStage('x', 'maker'), agentStage('y', 'maker')]), agentStage('z', 'sorter')],
  });
  const sorter = scriptedAgent('sorter', (_n, input) => {
    const tuple = input as Bag[];
    tuple.reverse();
    (tuple[0] as Bag).items.push(7);
    return tuple.length;
  });

  it('keeps each branch output and the group tuple as they were produced', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [maker(), sorter], macros: [fan] });
    const result = await drive(orchestrator.run('fan', { intent: 'x' }));
    expect(result.stages['fan/p/y']?.output).toEqual({ items: [1] });
    expect(result.stages['fan/p']?.output).toEqual([{ items: [1] }, { items: [1] }]);
  });
});

describe('a Harmony decision whose variants a later stage mutates', () => {
  const vote = defineMacro({
    name: 'vote',
    description: 'two disagreeing branches resolved by priority, then a mutating stage',
    stages: [
      parallel('p', [agentStage('a', 'one'), agentStage('b', 'two')], {
        harmony: { strategy: 'priority', order: ['b', 'a'] },
      }),
      agentStage('z', 'mutator'),
    ],
  });

  it('keeps the decision record as it was made', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('one', { items: [1] }), okAgent('two', { items: [2] }), mutator()],
      macros: [vote],
    });
    const result = await drive(orchestrator.run('vote', { intent: 'x' }));
    expect(result.decisions[0]?.output).toEqual({ items: [2] });
    expect(result.decisions[0]?.variants.map((v) => v.output)).toEqual([{ items: [1] }, { items: [2] }]);
  });
});
