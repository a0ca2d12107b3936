/**
 * Resuming is invisible in the output: a run interrupted wherever one of its agents hangs,
 * then resumed by a fresh orchestrator on the same memory, settles with the output the
 * run has when nothing interrupts it, over random trees of sequences, parallel groups and
 * forEach stages (with and without merge, so group outputs stored and rebuilt from children
 * both occur) and routes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineMacro,
  forEach,
  InMemoryMemory,
  type MacroDefinition,
  MacroOrchestrator,
  parallel,
  route,
  type StageDefinition,
  sequence,
} from '../../src/index.js';
import { agents, interrupted, restarted } from '../memory/support.js';

/**
 * The agents of test/memory/support.ts (each appends its id to its input) that trees use;
 * `c` is kept for a last stage, so that some runs hang only after every tree finished.
 */
const AGENT_IDS = ['a', 'b', 'l', 'r'] as const;

type Tree =
  | { readonly kind: 'agent'; readonly agent: (typeof AGENT_IDS)[number] }
  | { readonly kind: 'sequence'; readonly children: readonly Tree[] }
  | { readonly kind: 'parallel'; readonly children: readonly Tree[]; readonly merge: boolean }
  | { readonly kind: 'forEach'; readonly child: Tree; readonly count: number; readonly merge: boolean }
  | { readonly kind: 'route'; readonly children: readonly Tree[]; readonly pick: number };

const { tree } = fc.letrec<{
  tree: Tree;
  agent: Tree;
  sequence: Tree;
  parallel: Tree;
  forEach: Tree;
  route: Tree;
}>((tie) => ({
  tree: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'tree' },
    tie('agent'),
    tie('sequence'),
    tie('parallel'),
    tie('forEach'),
    tie('route'),
  ),
  agent: fc.record({ kind: fc.constant('agent' as const), agent: fc.constantFrom(...AGENT_IDS) }),
  sequence: fc.record({
    kind: fc.constant('sequence' as const),
    children: fc.array(tie('tree'), { minLength: 1, maxLength: 3, depthIdentifier: 'tree' }),
  }),
  parallel: fc.record({
    kind: fc.constant('parallel' as const),
    children: fc.array(tie('tree'), { minLength: 1, maxLength: 3, depthIdentifier: 'tree' }),
    merge: fc.boolean(),
  }),
  forEach: fc.record({
    kind: fc.constant('forEach' as const),
    child: tie('tree'),
    count: fc.integer({ min: 0, max: 3 }),
    merge: fc.boolean(),
  }),
  route: fc.record({
    kind: fc.constant('route' as const),
    children: fc.array(tie('tree'), { minLength: 1, maxLength: 3, depthIdentifier: 'tree' }),
    pick: fc.nat(),
  }),
}));

function stage(t: Tree, id: string): StageDefinition {
  switch (t.kind) {
    case 'agent':
      return agentStage(id, t.agent);
    case 'sequence':
      return sequence(id, nonEmpty(t.children.map((child, i) => stage(child, `${id}s${i}`))));
    case 'parallel': {
      const branches = nonEmpty(t.children.map((child, i) => stage(child, `${id}p${i}`)));
      return t.merge
        ? parallel(id, branches, { merge: (outputs) => outputs.join('|') })
        : parallel(id, branches);
    }
    case 'forEach': {
      const items = (input: unknown) => Array.from({ length: t.count }, (_, i) => `${String(input)}#${i}`);
      const each = stage(t.child, `${id}e`);
      return t.merge
        ? forEach(id, each, { items, merge: (outputs: unknown[]) => outputs.join('|') })
        : forEach(id, each, { items });
    }
    case 'route': {
      const cases = Object.fromEntries(t.children.map((child, i) => [`c${i}`, stage(child, `${id}c${i}`)]));
      return route(id, () => `c${t.pick % t.children.length}`, cases);
    }
  }
}

function nonEmpty(list: StageDefinition[]): [StageDefinition, ...StageDefinition[]] {
  const [first, ...rest] = list;
  return [first as StageDefinition, ...rest];
}

/** The agents a tree calls when it runs (a route's picked case only; none in an empty forEach). */
const agentsOf = (t: Tree): string[] => {
  switch (t.kind) {
    case 'agent':
      return [t.agent];
    case 'forEach':
      return t.count === 0 ? [] : agentsOf(t.child);
    case 'route':
      return agentsOf(t.children[t.pick % t.children.length] as Tree);
    default:
      return t.children.flatMap((child) => agentsOf(child));
  }
};

/** A macro of the trees in a row then a stage on `c`, and an agent of it to hang at. */
const case_ = fc.array(tree, { minLength: 1, maxLength: 3 }).chain((trees) =>
  fc.record({
    trees: fc.constant(trees),
    hang: fc.constantFrom('c', ...trees.flatMap((t) => agentsOf(t))),
  }),
);

describe('resuming an interrupted run', () => {
  it('settles with the output the uninterrupted run has, wherever the run was interrupted', async () => {
    await fc.assert(
      fc.asyncProperty(case_, async ({ trees, hang }) => {
        const macro: MacroDefinition = defineMacro({
          name: 'm',
          description: 'random tree',
          stages: nonEmpty([...trees.map((t, i) => stage(t, `t${i}`)), agentStage('last', 'c')]),
        });
        const whole = await new MacroOrchestrator({
          agents: agents(new Map()),
          macros: [macro],
          memory: new InMemoryMemory(),
        }).run('m', { intent: 'go' });
        const memory = new InMemoryMemory();
        const runId = await interrupted(macro, memory, new Map(), hang);
        const resumed = await restarted(macro, memory, new Map()).resume(runId);
        expect(resumed.status).toBe('succeeded');
        expect(resumed.status === 'succeeded' && resumed.output).toEqual(
          whole.status === 'succeeded' && whole.output,
        );
      }),
      { numRuns: 100 },
    );
  });
});
