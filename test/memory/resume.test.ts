import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineMacro,
  InMemoryMemory,
  isMacroError,
  MacroConfigurationError,
  type MacroEvent,
  MacroOrchestrator,
  type MacroRun,
  type MemoryAdapter,
  parallel,
  subMacro,
} from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { recordEvents, unmatched } from '../support/index.js';
import { agents, type Calls, interrupted, restarted, spiedMemory, stageEnds } from './support.js';

const line = defineMacro({
  name: 'line',
  description: 'three stages in a row',
  stages: [
    agentStage('a', 'a', { deliver: (text: string) => [{ name: 'a.txt', content: text }] }),
    agentStage('b', 'b'),
    agentStage('c', 'c'),
  ],
});

const fork = defineMacro({
  name: 'fork',
  description: 'a parallel group between two stages',
  stages: [
    agentStage('a', 'a'),
    parallel('p', [agentStage('l', 'l'), agentStage('r', 'r')], {
      merge: (outputs: readonly unknown[]) => outputs.join('|'),
    }),
    agentStage('c', 'c'),
  ],
});

const tuple = defineMacro({
  name: 'tuple',
  description: 'a parallel group without merge between two stages',
  stages: [
    agentStage('a', 'a'),
    parallel('p', [agentStage('l', 'l'), agentStage('r', 'r')]),
    agentStage('c', 'c'),
  ],
});

const vote = defineMacro({
  name: 'vote',
  description: 'a Harmony decision, then a stage',
  stages: [
    parallel('p', [agentStage('l', 'l'), agentStage('r', 'r')], { harmony: { strategy: 'majority' } }),
    agentStage('c', 'c'),
  ],
});

const inner = defineMacro({
  name: 'inner',
  description: 'two stages',
  stages: [agentStage('a', 'a'), agentStage('b', 'b')],
});
const outer = defineMacro({
  name: 'outer',
  description: 'a sub-macro, then a stage',
  stages: [subMacro('sub', inner), agentStage('c', 'c')],
});

const sqlite: SqliteMemory[] = [];
afterEach(async () => {
  for (const memory of sqlite.splice(0)) await memory.close();
});

const adapters: [string, () => MemoryAdapter][] = [
  ['InMemoryMemory', () => new InMemoryMemory()],
  [
    'SqliteMemory',
    () => {
      const memory = new SqliteMemory();
      sqlite.push(memory);
      return memory;
    },
  ],
];

describe.each(adapters)('resuming an interrupted run on %s', (_name, create) => {
  it('does not run again the stages that finished before the interruption', async () => {
    const memory = create();
    const calls: Calls = new Map();
    const runId = await interrupted(line, memory, calls, 'c');
    await restarted(line, memory, calls).resume(runId);
    expect(Object.fromEntries(calls)).toEqual({ a: 1, b: 1, c: 2 });
  });

  it('settles with the output the uninterrupted run would have had', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const result = await restarted(line, memory, new Map()).resume(runId);
    expect(result.status === 'succeeded' && result.output).toBe('go>a>b>c');
  });

  it('emits stage:start and stage:end with status restored for each finished stage', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const run = restarted(line, memory, new Map()).resume(runId);
    const events = recordEvents(run);
    await run;
    const stages = events.filter((e) => e.type === 'stage:start' || e.type === 'stage:end');
    expect(stages.map((e) => `${e.type} ${e.path}${e.type === 'stage:end' ? ` ${e.status}` : ''}`)).toEqual([
      'stage:start line/a',
      'stage:end line/a restored',
      'stage:start line/b',
      'stage:end line/b restored',
      'stage:start line/c',
      'stage:end line/c succeeded',
    ]);
    expect(unmatched(events)).toEqual({ open: [], orphanEnds: [] });
  });

  it('keeps restored stages in the result with their output and status restored', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const result = await restarted(line, memory, new Map()).resume(runId);
    expect(result.stages['line/b']).toMatchObject({
      status: 'restored',
      output: 'go>a>b',
      attempts: 1,
      agent: 'b',
    });
  });

  it('keeps the artefacts delivered before the interruption', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const result = await restarted(line, memory, new Map()).resume(runId);
    expect(result.artefacts).toMatchObject([{ name: 'a.txt', content: 'go>a', path: 'line/a' }]);
  });

  it('stores the resumed result as the run result', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const result = await restarted(line, memory, new Map()).resume(runId);
    expect(await memory.loadResult(runId)).toEqual(JSON.parse(JSON.stringify(result)));
  });

  it('runs only the unfinished branch of a parallel group', async () => {
    const memory = create();
    const calls: Calls = new Map();
    const runId = await interrupted(fork, memory, calls, 'r');
    const result = await restarted(fork, memory, calls).resume(runId);
    expect(Object.fromEntries(calls)).toEqual({ a: 1, l: 1, r: 2, c: 1 });
    expect(result.status === 'succeeded' && result.output).toBe('go>a>l|go>a>r>c');
  });

  it('restores the finished stages of a sub-macro under their nested paths', async () => {
    const memory = create();
    const calls: Calls = new Map();
    const runId = await interrupted([outer, inner], memory, calls, 'c');
    const run = restarted([outer, inner], memory, calls).resume(runId);
    const ends = stageEnds(run);
    await run;
    expect(ends).toEqual([
      'outer/sub/a restored',
      'outer/sub/b restored',
      'outer/sub restored',
      'outer/c succeeded',
    ]);
    expect(Object.fromEntries(calls)).toEqual({ a: 1, b: 1, c: 2 });
  });

  it("checkpoints a parallel group without merge without its output, which its branches' records hold", async () => {
    const memory = create();
    const runId = await interrupted(tuple, memory, new Map(), 'c');
    const stored = (await memory.loadRun(runId))?.checkpoints.flatMap((c) => c.stages) ?? [];
    const group = stored.find((record) => record.path === 'tuple/p');
    expect(group).toMatchObject({ kind: 'parallel', status: 'succeeded' });
    expect(group !== undefined && 'output' in group).toBe(false);
    expect(stored.find((record) => record.path === 'tuple/p/r')?.output).toBe('go>a>r');
  });

  it('restores the output of a group checkpointed without it from its children', async () => {
    const memory = create();
    const calls: Calls = new Map();
    const runId = await interrupted(tuple, memory, calls, 'c');
    const result = await restarted(tuple, memory, calls).resume(runId);
    expect(result.stages['tuple/p']).toMatchObject({ status: 'restored', output: ['go>a>l', 'go>a>r'] });
    expect(result.status === 'succeeded' && result.output).toBe('go>a>l,go>a>r>c');
    expect(Object.fromEntries(calls)).toEqual({ a: 1, l: 1, r: 1, c: 2 });
  });

  it('keeps a Harmony decision made before the interruption, without deciding again', async () => {
    const memory = create();
    const runId = await interrupted(vote, memory, new Map(), 'c');
    const run = restarted(vote, memory, new Map()).resume(runId);
    const events = recordEvents(run);
    const result = await run;
    expect(result.decisions).toMatchObject([{ id: 'd1', path: 'vote/p', strategy: 'majority' }]);
    expect(events.filter((e) => e.type === 'decision')).toEqual([]);
  });

  it('lists the interrupted run as running until it is resumed', async () => {
    const memory = create();
    const runId = await interrupted(line, memory, new Map(), 'c');
    expect((await memory.listRuns({ status: 'running' })).map((r) => r.runId)).toEqual([runId]);
    await restarted(line, memory, new Map()).resume(runId);
    expect(await memory.listRuns({ status: 'running' })).toEqual([]);
  });
});

describe('a resumed run', () => {
  it('says so on run:start and continues the sequence numbers after the last checkpoint', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const lastStored = Math.max(...((await memory.loadRun(runId))?.checkpoints.map((c) => c.seq) ?? []));
    const run = restarted(line, memory, new Map()).resume(runId);
    const events = recordEvents(run);
    await run;
    expect(events[0]).toMatchObject({ type: 'run:start', resumed: true, seq: lastStored + 1, macro: 'line' });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => lastStored + 1 + i));
  });

  it('keeps its run id and original start time', async () => {
    const memory = new InMemoryMemory();
    let clock = 1_000;
    const now = () => clock++;
    const runId = await interrupted(line, memory, new Map(), 'c', { now });
    const original = (await memory.loadRun(runId))?.header?.startedAt;
    clock = 50_000;
    const result = await restarted(line, memory, new Map(), { now }).resume(runId);
    expect(result.runId).toBe(runId);
    expect(original).toBeLessThan(50_000);
    expect(result.startedAt).toBe(original);
  });

  it('names its macro once the stored run is loaded', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const run = restarted(line, memory, new Map()).resume(runId);
    const atStart: string[] = [];
    run.on('run:start', () => atStart.push(run.macro));
    await run;
    expect(atStart).toEqual(['line']);
  });

  it('sees the same events through its iterator as through listeners', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const run = restarted(line, memory, new Map()).resume(runId);
    const heard = recordEvents(run);
    const iterated: MacroEvent[] = [];
    for await (const event of run) iterated.push(event);
    expect(iterated).toEqual(heard);
  });

  it('can be cancelled, and settles cancelled', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const run = restarted(line, memory, new Map()).resume(runId, { signal: AbortSignal.abort('stop') });
    expect((await run).status).toBe('cancelled');
  });
});

describe('resume()', () => {
  it('settles a finished run with its stored result without invoking any agent', async () => {
    const memory = new InMemoryMemory();
    const calls: Calls = new Map();
    const orchestrator = restarted(line, memory, calls);
    const first = await orchestrator.run('line', { intent: 'go' });
    calls.clear();
    const again = await restarted(line, memory, calls).resume(first.runId);
    expect(again).toEqual(JSON.parse(JSON.stringify(first)));
    expect(calls.size).toBe(0);
  });

  it('emits run:start and run:end for a finished run', async () => {
    const memory = new InMemoryMemory();
    const first = await restarted(line, memory, new Map()).run('line', { intent: 'go' });
    const run = restarted(line, memory, new Map()).resume(first.runId);
    const events = recordEvents(run);
    await run;
    expect(events.map((e) => e.type)).toEqual(['run:start', 'run:end']);
  });

  it('rejects with RUN_NOT_FOUND for a run memory does not hold', async () => {
    const run = restarted(line, new InMemoryMemory(), new Map()).resume('no-such-run');
    await expect(run).rejects.toSatisfy((e) => isMacroError(e) && e.code === 'RUN_NOT_FOUND');
  });

  it('ends the event iterator with RUN_NOT_FOUND instead of waiting forever', async () => {
    const run: MacroRun<unknown> = restarted(line, new InMemoryMemory(), new Map()).resume('no-such-run');
    const iterate = async () => {
      for await (const _ of run) {
        // nothing is emitted
      }
    };
    await expect(iterate()).rejects.toSatisfy((e) => isMacroError(e) && e.code === 'RUN_NOT_FOUND');
  });

  it('rejects with MACRO_NOT_FOUND when the run macro is not in the catalogue', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const run = restarted(fork, memory, new Map()).resume(runId);
    await expect(run).rejects.toSatisfy((e) => isMacroError(e) && e.code === 'MACRO_NOT_FOUND');
  });

  it('returns the live handle of a run that is running in this orchestrator', async () => {
    const orchestrator = restarted(line, new InMemoryMemory(), new Map());
    const run = orchestrator.run('line', { intent: 'go' });
    expect(orchestrator.resume(run.runId)).toBe(run);
    await run;
  });

  it('rejects invalid options before anything runs', () => {
    const orchestrator = restarted(line, new InMemoryMemory(), new Map());
    expect(() => orchestrator.resume('x', { timeoutMs: -1 })).toThrow(/Invalid resume options/);
  });

  it('refuses an empty run id with INVALID_OPTIONS before anything runs', () => {
    const orchestrator = restarted(line, new InMemoryMemory(), new Map());
    expect(() => orchestrator.resume('')).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: 'Invalid run id given to MacroOrchestrator.resume: expected a non-empty string, got ""',
      }),
    );
  });

  it('refuses a run id that is not a string with INVALID_OPTIONS before anything runs', () => {
    const orchestrator = restarted(line, new InMemoryMemory(), new Map());
    expect(() => orchestrator.resume(42 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects with PERSISTENCE_FAILED from loadRun, naming the run, when memory fails to load it', async () => {
    const { memory, fail } = spiedMemory();
    fail('loadRun');
    const run = restarted(line, memory, new Map()).resume('r1');
    await expect(run).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      operation: 'loadRun',
      message: 'Memory loadRun failed: loading run "r1" to resume it failed: disk full (loadRun)',
    });
  });

  it('rejects with PERSISTENCE_FAILED when memory fails to load the run with undefined', async () => {
    const memory = new InMemoryMemory();
    memory.loadRun = () => Promise.reject(undefined);
    const run = restarted(line, memory, new Map()).resume('r1');
    await expect(run).rejects.toMatchObject({ code: 'PERSISTENCE_FAILED', operation: 'loadRun' });
  });

  it('reports a load failure as PERSISTENCE_FAILED even when it is cancelled meanwhile', async () => {
    const { memory, fail } = spiedMemory();
    fail('loadRun');
    const run = restarted(line, memory, new Map()).resume('r1', { signal: AbortSignal.abort('stop') });
    await expect(run).rejects.toMatchObject({ code: 'PERSISTENCE_FAILED', operation: 'loadRun' });
  });

  it('rejects with a MacroConfigurationError when the stored macro needs an agent that is not registered', async () => {
    const memory = new InMemoryMemory();
    const calls: Calls = new Map();
    const runId = await interrupted(line, memory, calls, 'c');
    const withoutC = agents(calls).filter((agent) => agent.id !== 'c');
    const orchestrator = new MacroOrchestrator({ agents: withoutC, macros: [line], memory });
    const run = orchestrator.resume(runId);
    await expect(run).rejects.toBeInstanceOf(MacroConfigurationError);
    await expect(run).rejects.toMatchObject({ message: expect.stringContaining('Unknown agent "c"') });
  });
});

describe('resumeIncomplete()', () => {
  it('resumes every run memory holds as running', async () => {
    const memory = new InMemoryMemory();
    const calls: Calls = new Map();
    const first = await interrupted(line, memory, calls, 'c');
    const second = await interrupted(line, memory, calls, 'b');
    const runs = await restarted(line, memory, calls).resumeIncomplete();
    expect(runs.map((run) => run.runId)).toEqual([first, second]);
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('leaves alone the runs running in this orchestrator', async () => {
    const memory = new InMemoryMemory();
    const orchestrator = restarted(line, memory, new Map());
    const live = orchestrator.run('line', { intent: 'go' });
    expect(await orchestrator.resumeIncomplete()).toEqual([]);
    await live;
  });

  it('leaves alone the runs checkpointed more recently than staleAfterMs', async () => {
    const memory = new InMemoryMemory();
    let clock = 1_000;
    const now = () => clock;
    const runId = await interrupted(line, memory, new Map(), 'c', { now });
    const orchestrator = restarted(line, memory, new Map(), { now });
    clock = 1_000 + 59_999;
    expect(await orchestrator.resumeIncomplete({ staleAfterMs: 60_000 })).toEqual([]);
    clock = 1_000 + 60_000;
    const runs = await orchestrator.resumeIncomplete({ staleAfterMs: 60_000 });
    expect(runs.map((run) => run.runId)).toEqual([runId]);
    await Promise.all(runs);
  });

  it('rejects a limit that is not a positive integer', async () => {
    const orchestrator = restarted(line, new InMemoryMemory(), new Map());
    await expect(orchestrator.resumeIncomplete({ limit: 0 })).rejects.toThrow(
      /Invalid resumeIncomplete options/,
    );
  });

  it('skips runs of macros that are not in the catalogue', async () => {
    const memory = new InMemoryMemory();
    await interrupted(line, memory, new Map(), 'c');
    expect(await restarted(fork, memory, new Map()).resumeIncomplete()).toEqual([]);
  });

  it('logs a warning naming the run and macro it skips for not being in the catalogue', async () => {
    const memory = new InMemoryMemory();
    const runId = await interrupted(line, memory, new Map(), 'c');
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (text: string) => lines.push(JSON.parse(text)) });
    await restarted(fork, memory, new Map(), { logger }).resumeIncomplete();
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, runId, macro: 'line', msg: 'cannot resume: unknown macro' }),
    ]);
  });

  it('stops its time budget timer once the running runs are listed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const orchestrator = restarted(line, new InMemoryMemory(), new Map());
      expect(await orchestrator.resumeIncomplete({ timeoutMs: 60_000 })).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a group checkpointed without its output', () => {
  /** Memory that loses the records of the given stage paths from every checkpoint. */
  class Lossy extends InMemoryMemory {
    readonly lost: readonly string[];
    constructor(lost: readonly string[]) {
      super();
      this.lost = lost;
    }
    override saveCheckpoint(...[runId, checkpoint, audit]: Parameters<InMemoryMemory['saveCheckpoint']>) {
      const stages = checkpoint.stages.filter((stage) => !this.lost.includes(stage.path));
      return super.saveCheckpoint(runId, { ...checkpoint, stages }, audit);
    }
  }

  it('runs again, restoring the children that are stored, when a child it rebuilds its output from is not', async () => {
    const memory = new Lossy(['tuple/p/r']);
    const calls: Calls = new Map();
    const runId = await interrupted(tuple, memory, calls, 'c');
    const result = await restarted(tuple, memory, calls).resume(runId);
    expect(result.stages['tuple/p']).toMatchObject({ status: 'succeeded', output: ['go>a>l', 'go>a>r'] });
    expect(result.stages['tuple/p/l']?.status).toBe('restored');
    expect(Object.fromEntries(calls)).toEqual({ a: 1, l: 1, r: 2, c: 2 });
  });
});
