/**
 * macro-orchestrator running the workloads: the default Execution Pipeline, the
 * default (unlimited) scheduling policy or `{ concurrency: 64 }`, in-memory memory,
 * with no listener, one listener on every event type (`run.on`), or an async iterator.
 */
import {
  check,
  FIRST_DOC,
  inc,
  inc2,
  isCount,
  joinBranches,
  MIXED,
  majority,
  mergeLayer,
  revise,
} from '../lib/workloads.mjs';

/** Every event type of `MacroEventMap` (src/events.ts). */
export const EVENT_TYPES = [
  'run:start',
  'run:end',
  'macro:start',
  'macro:end',
  'stage:start',
  'stage:end',
  'stage:progress',
  'phase:start',
  'phase:end',
  'retry',
  'fallback',
  'gate',
  'artefact',
  'decision',
  'route',
  'suspended',
  'persistence:error',
];

const CONTEXT = { intent: 'benchmark' };

function stagesFor(lib, workload, size, harmony, each) {
  const { agentStage, forEach, parallel, predicateGate } = lib;
  switch (workload) {
    case 'seq':
    case 'doc': {
      const stages = new Array(size);
      const agent = workload === 'doc' ? 'revise' : 'inc';
      for (let i = 0; i < size; i++) stages[i] = agentStage(`s${i}`, agent);
      return { stages };
    }
    case 'fan': {
      if (each) {
        // Elements known at run time: the input (0) repeated K times, each run through `b`.
        const items = (input) => new Array(size).fill(input);
        return { stages: [forEach('fan', agentStage('b', 'inc'), { items }), agentStage('join', 'join')] };
      }
      const branches = new Array(size);
      for (let i = 0; i < size; i++) branches[i] = agentStage(`b${i}`, 'inc');
      return { stages: [parallel('fan', branches), agentStage('join', 'join')] };
    }
    case 'mixed': {
      const { layers, width } = MIXED;
      const gate = predicateGate('is-count', isCount);
      const stages = [agentStage('plan', 'inc', { gates: [gate] })];
      for (let l = 0; l < layers; l++) {
        const branches = [];
        for (let j = 0; j < width; j++) branches.push(agentStage(`l${l}b${j}`, 'inc', { gates: [gate] }));
        stages.push(parallel(`layer${l}`, branches, { merge: (outputs) => mergeLayer(outputs, width) }));
      }
      const voters = [];
      for (let j = 0; j < MIXED.voters; j++) {
        voters.push(agentStage(`vote${j}`, j === MIXED.voters - 1 ? 'inc2' : 'inc', { gates: [gate] }));
      }
      // The decision: a majority through the Harmony Protocol, or the same vote as a merge
      // function where the library has no Harmony.
      stages.push(
        parallel('decide', voters, harmony ? { harmony: { strategy: 'majority' } } : { merge: majority }),
      );
      stages.push(agentStage('summarise', 'inc', { gates: [gate] }));
      return {
        stages,
        gates: [predicateGate('final', (v) => v === MIXED.layers + 3, 'the macro skipped a stage')],
      };
    }
  }
  throw new Error(`macro: unknown workload ${workload}`);
}

/**
 * @param lib the library module (dist/index.js or src/index.ts)
 * @param spec { workload, size, listener: 'none' | 'on' | 'iter', concurrency?: number,
 *   memory?: 'in-memory' | 'sqlite' | 'postgres', sqliteLib?: path of the `macro-orchestrator/sqlite` entry,
 *   postgresLib?, postgresUrl?: the `macro-orchestrator/postgres` entry and the database it uses,
 *   customPhase?: true to add a no-op custom phase after the default ones,
 *   forEach?: true to run the fan workload as one forEach over K elements }
 */
export async function build(
  lib,
  {
    workload,
    size,
    listener = 'none',
    concurrency,
    memory = 'in-memory',
    sqliteLib,
    postgresLib,
    postgresUrl,
    customPhase = false,
    forEach = false,
  },
) {
  const { MacroOrchestrator, InMemoryMemory } = lib;
  const agents = [
    { id: 'inc', invoke: inc },
    { id: 'inc2', invoke: inc2 },
    { id: 'revise', invoke: revise },
    { id: 'join', invoke: async (outputs) => joinBranches(outputs, size) },
  ];
  const definitionWith = (harmony) => {
    const { stages, gates } = stagesFor(lib, workload, size, harmony, forEach);
    const definition = { name: 'bench', description: `${workload} ${size}`, stages };
    if (gates !== undefined) definition.gates = gates;
    return definition;
  };

  let adapter;
  let close = async () => {};
  if (memory === 'in-memory') {
    // A few results only: the bench would otherwise measure the GC of its own history
    // (the default keeps up to 1,000 finished runs within 64 MiB).
    adapter = new InMemoryMemory({ maxRuns: 4 });
  } else if (memory === 'sqlite') {
    // `macro-orchestrator/sqlite` (dist/sqlite.js beside dist/index.js): a database file
    // in a temp dir, WAL with synchronous=NORMAL (the default), a checkpoint per stage.
    // The driver schedules these cases only when that entry loads.
    const { pathToFileURL } = await import('node:url');
    const { SqliteMemory } = await import(pathToFileURL(sqliteLib).href);
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'mo-bench-'));
    adapter = new SqliteMemory({ path: join(dir, 'bench.db') });
    close = async () => {
      await adapter.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else if (memory === 'postgres') {
    // `macro-orchestrator/postgres` on a schema of its own, dropped at the end: a
    // checkpoint per stage (coalesced while one is in flight), one round trip each.
    const { pathToFileURL } = await import('node:url');
    const { PostgresMemory } = await import(pathToFileURL(postgresLib).href);
    const schema = `mo_bench_${process.pid}`;
    adapter = new PostgresMemory({ connectionString: postgresUrl, schema });
    await adapter.ready();
    close = async () => {
      await adapter.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await adapter.close();
    };
  } else throw new Error(`unknown memory ${memory}`);

  const options = { agents, memory: adapter };
  if (concurrency !== undefined) options.scheduling = { concurrency };
  if (customPhase) {
    // A phase with nothing to do, done synchronously: it must keep stages on the same path.
    class Noop extends lib.ExecutionStage {
      name = 'noop';
      execute() {}
    }
    options.pipeline = [...lib.defaultPipeline(), new Noop()];
  }
  let orchestrator;
  let harmony = workload === 'mixed';
  try {
    orchestrator = new MacroOrchestrator({ ...options, macros: [definitionWith(harmony)] });
  } catch (error) {
    if (!harmony || error?.name !== 'MacroConfigurationError') throw error;
    harmony = false; // this version of the library has no Harmony Protocol
    orchestrator = new MacroOrchestrator({ ...options, macros: [definitionWith(false)] });
  }

  const input = workload === 'doc' ? FIRST_DOC : 0;
  let events = 0;
  let lastSeq = 0;
  const onEvent = (event) => {
    events++;
    if (event.type === 'run:end') lastSeq = event.seq;
  };
  const expectAllEvents = () => {
    if (events === 0 || events !== lastSeq) {
      throw new Error(`listener saw ${events} events, the run emitted ${lastSeq}`);
    }
  };
  const verify = (result) => {
    if (result.status !== 'succeeded') {
      throw new Error(`run ${result.status}: ${JSON.stringify(result.error)}`);
    }
    check(workload, size, result.output);
    if (harmony && result.decisions?.length !== 1) throw new Error('the decision was not recorded');
  };

  let runOnce;
  if (listener === 'none') {
    runOnce = async () => {
      const result = await orchestrator.run('bench', CONTEXT, { input });
      verify(result);
      return result;
    };
  } else if (listener === 'on') {
    runOnce = async () => {
      events = 0;
      lastSeq = 0;
      const run = orchestrator.run('bench', CONTEXT, { input });
      for (const type of EVENT_TYPES) run.on(type, onEvent);
      const result = await run;
      verify(result);
      expectAllEvents();
      return result;
    };
  } else if (listener === 'iter') {
    runOnce = async () => {
      events = 0;
      lastSeq = 0;
      const run = orchestrator.run('bench', CONTEXT, { input });
      const consumed = (async () => {
        for await (const event of run) onEvent(event);
      })();
      const result = await run;
      await consumed;
      verify(result);
      expectAllEvents();
      return result;
    };
  } else throw new Error(`unknown listener ${listener}`);

  return { runOnce, close, info: workload === 'mixed' ? { harmony } : undefined };
}
