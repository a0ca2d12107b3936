/**
 * A recorded output is the value the stage produced: random trees of sequences and
 * parallels whose agents, on every call, mutate their input and every object returned
 * by a stage that has ended. Whatever they do, each stage's record (in the result, and
 * in the stored result) equals a deep copy taken of its output when the agent returned it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  type StageDefinition,
  sequence,
} from '../../src/index.js';

type Shape = { kind: 'agent' } | { kind: 'sequence' | 'parallel'; children: Shape[]; merge: boolean };

const { shape } = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'shape' },
    fc.constant({ kind: 'agent' as const }),
    fc.record({
      kind: fc.constantFrom('sequence' as const, 'parallel' as const),
      children: fc.array(tie('shape'), { minLength: 1, maxLength: 3, depthIdentifier: 'shape' }),
      merge: fc.boolean(),
    }),
  ),
}));

/** Pushes onto every array found in `value`, and reverses it: a thorough vandal. */
function vandalise(value: unknown, seen = new Set<unknown>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (const item of value) vandalise(item, seen);
      value.push('vandal');
      value.reverse();
    } else {
      for (const key of Object.keys(value)) vandalise((value as Record<string, unknown>)[key], seen);
      (value as Record<string, unknown>)['vandal'] = true;
    }
  } catch {
    // a frozen record: exactly what should happen
  }
}

function build(root: Shape) {
  const returned: Array<{ path: string; output: unknown }> = [];
  /** Paths whose stage has ended; the test fills it from `stage:end` events. */
  const ended = new Set<string>();
  const produced = new Map<string, unknown>();
  /** What each group's record must hold (a sequence's last output, a tuple), from what its agents produced. */
  const groups = new Map<string, (result: MacroResult) => unknown>();
  /** What the record at `path` must hold; a merge group's is taken as recorded. */
  const merges = new Set<string>();
  const expected = (path: string, result: MacroResult): unknown =>
    merges.has(path) ? result.stages[path]?.output : (groups.get(path)?.(result) ?? produced.get(path));
  const agents: Agent[] = [];
  let next = 0;
  const stage = (s: Shape, parent: string): [StageDefinition, string] => {
    const n = next++;
    if (s.kind === 'agent') {
      const path = `${parent}/s${n}`;
      agents.push({
        id: `a${n}`,
        invoke(input: unknown) {
          vandalise(input);
          for (const earlier of returned) if (ended.has(earlier.path)) vandalise(earlier.output);
          const output = { by: `a${n}`, items: [n, { nested: [n] }] };
          produced.set(path, structuredClone(output));
          returned.push({ path, output });
          return output;
        },
      });
      return [agentStage(`s${n}`, `a${n}`), path];
    }
    const id = `g${n}`;
    const path = `${parent}/${id}`;
    const built = s.children.map((c) => stage(c, path));
    const children = built.map(([definition]) => definition) as [StageDefinition, ...StageDefinition[]];
    const paths = built.map(([, childPath]) => childPath);
    if (s.kind === 'sequence') {
      groups.set(path, (result) => expected(paths[paths.length - 1] as string, result));
      return [sequence(id, children), path];
    }
    // A merge's record is its output when the group ended, made of the live branch outputs
    // (which later agents may have changed by then): nothing to predict it from here.
    if (s.merge) {
      merges.add(path);
      return [parallel(id, children, { merge: (outputs) => ({ merged: outputs }) }), path];
    }
    groups.set(path, (result) => paths.map((p) => expected(p, result)));
    return [parallel(id, children), path];
  };
  const macro = defineMacro({ name: 'm', description: 'vandals', stages: [stage(root, 'm')[0]] });
  return { macro, agents, produced, ended, groups, merges };
}

describe('a recorded output', () => {
  it('stays what its agent returned, whatever later agents do to it', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (root) => {
        const { macro, agents, produced, ended, groups, merges } = build(root);
        const memory = new InMemoryMemory();
        const orchestrator = new MacroOrchestrator({ agents, macros: [macro], memory });
        const run = orchestrator.run('m', { intent: 'x' });
        run.on('stage:end', (event) => ended.add(event.path));
        const result = await run;
        expect(result.status).toBe('succeeded');
        const stored = await memory.loadResult(result.runId);
        for (const [path, output] of produced) {
          expect(result.stages[path]?.output, path).toEqual(output);
          expect(stored?.stages[path]?.output, path).toEqual(output);
        }
        for (const [path, want] of groups) expect(result.stages[path]?.output, path).toEqual(want(result));
        for (const path of merges)
          expect(Object.keys(result.stages[path]?.output as object), path).toEqual(['merged']);
      }),
      { numRuns: 200 },
    );
  });
});
