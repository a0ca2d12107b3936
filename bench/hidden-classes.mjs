/**
 * The objects the engine reads or writes once per stage share one hidden class (V8 map)
 * per kind: a property read on objects of many hidden classes goes megamorphic, and in a
 * macro of thousands of stages each read then misses V8's stub cache (a spread in the
 * compiler once cost large macros twice the time per stage; docs/performance.md).
 *
 * Compiles and runs a macro of many alike stages on the built library and checks, per
 * kind (compiled agent, sequence and parallel nodes; agent stage records; stage spans),
 * that every object shares the first one's hidden class. Exits 1 when one does not.
 *
 *   node --allow-natives-syntax bench/hidden-classes.mjs [dist/index.js]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let sameMap;
try {
  sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
} catch {
  console.error('Run with node --allow-natives-syntax: %HaveSameMap is a V8 native.');
  process.exit(2);
}
// The probe itself: objects of one shape share a map, of another shape do not.
if (!sameMap({ a: 1 }, { a: 2 }) || sameMap({ a: 1 }, { b: 1 })) {
  console.error('%HaveSameMap does not answer as expected on this Node version.');
  process.exit(2);
}
const differing = (objects) => objects.filter((o) => !sameMap(o, objects[0])).length;

const lib = await import(pathToFileURL(resolve(process.argv[2] ?? 'dist/index.js')).href);
const { agentStage, InMemoryMemory, MacroOrchestrator, parallel, predicateGate, sequence } = lib;

const inc = { id: 'inc', invoke: async (x) => x + 1 };
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

// The compiled catalogue is private to the orchestrator and its compiler is not exported:
// catch the compiled macros as the constructor puts them into the catalogue's Map.
const compiledMacros = [];
const mapSet = Map.prototype.set;
Map.prototype.set = function set(key, value) {
  if (typeof value === 'object' && value !== null && 'definition' in value && 'missingAgents' in value) {
    compiledMacros.push(value);
  }
  return mapSet.call(this, key, value);
};
let orchestrator;
try {
  orchestrator = new MacroOrchestrator({
    agents: [inc],
    macros: [definition],
    memory: new InMemoryMemory({ maxRuns: 1 }),
  });
} finally {
  Map.prototype.set = mapSet;
}
const compiled = compiledMacros.find((m) => m.name === 'shapes');
if (compiled === undefined) {
  console.error(
    'Could not find the compiled macro: has the catalogue stopped being a Map of compiled macros?',
  );
  process.exit(2);
}

const nodes = (list) => list.flatMap((n) => [n, ...(n.children === undefined ? [] : nodes(n.children))]);
const all = nodes(compiled.children);
const ofKind = (kind) => all.filter((n) => n.kind === kind);

const result = await orchestrator.run('shapes', { intent: 'shapes' }, { input: 0 });
const records = Object.values(result.stages);

/** [what, objects, expected count]. */
const checks = [
  ['compiled agent stages', ofKind('agent'), 180],
  ['compiled sequences', ofKind('sequence'), 20],
  ['compiled parallel groups', ofKind('parallel'), 20],
  ['agent stage records', records.filter((r) => r.kind === 'agent'), 180],
  ['stage spans', result.timeline.filter((t) => t.scope === 'stage'), 220],
];

let failed = result.status !== 'succeeded';
console.log(`${failed ? 'FAIL' : 'ok  '} the macro runs: ${result.status}`);
for (const [what, objects, expected] of checks) {
  const other = differing(objects);
  const ok = objects.length === expected && other === 0;
  if (!ok) failed = true;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${what}: ${objects.length} objects (expected ${expected}), ${other} with another hidden class than the first`,
  );
}
process.exit(failed ? 1 : 0);
