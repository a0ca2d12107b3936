/**
 * Run by test/hidden-classes.test.ts as
 * `node --allow-natives-syntax --import tsx test/shapes/hidden-classes.ts`: compiles and
 * runs a macro of many alike stages, and prints, per kind of object the engine reads or
 * writes once per stage, how many do not share the hidden class (V8 map) of the first.
 */

import {
  AgentRegistry,
  agentStage,
  defaultPipeline,
  InMemoryMemory,
  MacroOrchestrator,
  parallel,
  predicateGate,
  sequence,
} from '../../src/index.js';
import { compileCatalogue } from '../../src/macro/compile.js';

const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;
const differing = (objects: readonly unknown[]) => objects.filter((o) => !sameMap(o, objects[0])).length;

const inc = { id: 'inc', invoke: async (x: number) => x + 1 };
const gate = predicateGate('number', (v) => typeof v === 'number');
const definition = {
  name: 'shapes',
  description: 'many alike stages',
  stages: [
    ...Array.from({ length: 50 }, (_, i) => agentStage(`plain${i}`, 'inc')),
    ...Array.from({ length: 50 }, (_, i) => agentStage(`gated${i}`, 'inc', { gates: [gate] })),
    ...Array.from({ length: 20 }, (_, i) =>
      sequence(`seq${i}`, [agentStage(`sa${i}`, 'inc'), agentStage(`sb${i}`, 'inc')]),
    ),
    ...Array.from({ length: 20 }, (_, i) =>
      parallel(`par${i}`, [agentStage(`pa${i}`, 'inc'), agentStage(`pb${i}`, 'inc')], { merge: (o) => o[0] }),
    ),
  ],
};

const pipeline = defaultPipeline();
const compiled = compileCatalogue([definition], {
  agents: new AgentRegistry([inc]),
  pipeline,
  checkAgents: 'catalogue',
  phases: new Map(pipeline.map((phase) => [phase.name, phase])),
}).get('shapes');
if (compiled === undefined) throw new Error('not compiled');

const nodes = (list: readonly { kind: string; children?: readonly unknown[] }[]): typeof list =>
  list.flatMap((n) => [n, ...(n.children === undefined ? [] : nodes(n.children as typeof list))]);
const all = nodes(compiled.children as never);
const ofKind = (kind: string) => all.filter((n) => n.kind === kind);

const orchestrator = new MacroOrchestrator({
  agents: [inc],
  macros: [definition],
  memory: new InMemoryMemory({ maxRuns: 1 }),
});
const result = await orchestrator.run('shapes', { intent: 'shapes' }, { input: 0 });
const records = Object.values(result.stages);
const agentRecords = records.filter((r) => r.kind === 'agent');
const stageSpans = result.timeline.filter((t) => t.scope === 'stage');

process.stdout.write(
  `${JSON.stringify({
    status: result.status,
    agentNodes: [ofKind('agent').length, differing(ofKind('agent'))],
    sequenceNodes: [ofKind('sequence').length, differing(ofKind('sequence'))],
    parallelNodes: [ofKind('parallel').length, differing(ofKind('parallel'))],
    agentRecords: [agentRecords.length, differing(agentRecords)],
    stageSpans: [stageSpans.length, differing(stageSpans)],
  })}\n`,
);
