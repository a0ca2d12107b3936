/**
 * The parallel group: its branches at once on the same input (a `Join`), then a merge,
 * the Harmony Protocol's choice, or the tuple of their outputs.
 * @internal
 * @module
 */
import type { AbortScope } from '../../internal/abort-scope.js';
import { checkHarmony, Harmony, harmonyAgent } from '../../protocol/harmony.js';
import { SHAPES } from '../chart.js';
import type { CompiledNode, CompiledParallel } from '../compiled.js';
import { fanInLabel, harmonise, merge, outputsAsList, SLICE_MASK } from '../fan-in.js';
import { TUPLE } from '../group-output.js';
import { Join } from '../join.js';
import { type GroupHost, listed, pathAt, type StageKindRule } from '../stage-kind.js';
import type { HarmonyOptions, ParallelStageDefinition, StageDefinition } from '../types.js';

/** The parallel group's rule. */
export const PARALLEL: StageKindRule<ParallelStageDefinition, CompiledParallel> = {
  nested: (def) => listed(def.branches, 'branches'),
  check(def, path, cx) {
    def.branches.forEach((child, k) => {
      cx.visit(child, `${path}.branches[${k}]`);
    });
    checkHarmony({ ...def, branches: def.branches.map(branchId) }, path, cx.where, cx.issues, cx.needAgent);
  },
  compile(def, site, cx) {
    const path = pathAt(site, def.id);
    const children = def.branches.map((s) => cx.compile(s, path));
    const { harmony } = def;
    const judge = harmonyAgent(harmony);
    if (judge !== undefined) cx.agents.add(judge);
    return {
      kind: 'parallel',
      rule: PARALLEL,
      id: def.id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs,
      retry: site.retry,
      children,
      failure: def.failure ?? 'fail-fast',
      merge: def.merge,
      harmony:
        harmony === undefined
          ? undefined
          : branchHarmony(harmony, path, children, def.minSuccesses ?? children.length),
    };
  },
  draw: (def, note, indent, cx) =>
    cx.chart.group(`${def.id}${note}`, indent, (inner) => {
      const { chart } = cx;
      const fork = chart.node(SHAPES.fork, `parallel · ${def.failure ?? 'fail-fast'}`, inner);
      const join = chart.node(SHAPES.join, fanInLabel(def, 'tuple of outputs'), inner);
      for (const branch of def.branches) {
        const ends = cx.draw(branch, inner);
        chart.edge(fork, ends.entry, inner);
        chart.edge(ends.exit, join, inner);
      }
      return { entry: fork, exit: join };
    }),
  children: (node) => node.children,
  rebase(node, id, path, move) {
    const children = node.children.map(move);
    const { harmony } = node;
    return {
      ...node,
      id,
      path,
      children,
      harmony:
        harmony === undefined
          ? undefined
          : branchHarmony(harmony.options, path, children, harmony.minSuccesses),
    };
  },
  derivesOutput: outputsAsList,
  rebuild: TUPLE,
  attempt: parallel,
  restoreChildren: (node, cx) => cx.restoreEach(node.children),
};

/** Runs a parallel group's branches, then its Harmony policy or merge. */
async function parallel(
  host: GroupHost,
  node: CompiledParallel,
  input: unknown,
  parent: AbortScope,
  attempt: number,
): Promise<unknown> {
  const failFast = node.failure === 'fail-fast';
  const scope = failFast ? parent.child() : parent;
  const join = new Join(node, failFast ? scope : undefined);
  try {
    const { children } = node;
    for (let i = 0; i < children.length; i++) {
      host.startStage(children[i] as CompiledNode, input, scope, join, i);
      // Branches start in slices, with a microtask between: work that settles at once
      // (cached answers, no-op agents) ends before the next slice starts, so a huge
      // fan-out does not hold every branch in flight at the same time. Slow work still
      // runs all at once: nothing waits for a branch to end.
      if ((i & SLICE_MASK) === SLICE_MASK && i + 1 < children.length) await undefined;
    }
    await join.ended;
  } finally {
    if (scope !== parent) scope.dispose();
  }
  const { outputs, failures } = join;
  if (node.harmony !== undefined) {
    return harmonise(host, node.path, node.harmony, { outputs, failures, scope: parent, attempt });
  }
  if (join.failed) throw join.firstError;
  return node.merge === undefined ? outputs : merge(host, node.path, node.merge, outputs, parent);
}

/** The Harmony Protocol of a group at `path` over its compiled branches. */
function branchHarmony(
  options: HarmonyOptions,
  path: string,
  children: readonly CompiledNode[],
  minSuccesses: number,
): Harmony {
  return new Harmony(
    options,
    path,
    children.map((child) => ({ id: child.id, path: child.path })),
    minSuccesses,
  );
}

/** The id of a branch, looking through `retryableStage` wrappers. */
function branchId(stage: StageDefinition): string {
  return stage.kind === 'retryable' ? branchId(stage.stage) : stage.id;
}
