/**
 * The forEach stage: its element stage once per element, at `<path>[i]`, at most
 * `concurrency` at a time (its attempt: for-each.ts; each element's copy of the compiled
 * element stage: element-node.ts).
 * @internal
 * @module
 */
import { checkHarmony, harmonyAgent } from '../../protocol/harmony.js';
import { SHAPES } from '../chart.js';
import type { CompiledForEach } from '../compiled.js';
import { elementNode } from '../element-node.js';
import { fanInLabel, outputsAsList } from '../fan-in.js';
import { forEachAttempt } from '../for-each.js';
import { pathAt, type RestoreContext, type StageKindRule, single } from '../stage-kind.js';
import type { ForEachStageDefinition, StageRecord } from '../types.js';

/** The forEach stage's rule. */
export const FOR_EACH: StageKindRule<ForEachStageDefinition, CompiledForEach> = {
  nested: (def) => single(def.stage, 'stage'),
  check(def, path, cx) {
    cx.visit(def.stage, `${path}.stage`);
    checkHarmony({ ...def, branches: undefined }, path, cx.where, cx.issues, cx.needAgent);
  },
  compile(def, site, cx) {
    const path = pathAt(site, def.id);
    const judge = harmonyAgent(def.harmony);
    if (judge !== undefined) cx.agents.add(judge);
    return {
      kind: 'forEach',
      rule: FOR_EACH,
      id: def.id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs,
      retry: site.retry,
      template: cx.compile(def.stage, path, `${path}[*]`),
      items: def.items,
      concurrency: def.concurrency ?? Number.POSITIVE_INFINITY,
      failure: def.failure ?? 'fail-fast',
      merge: def.merge,
      harmony: def.harmony,
      minSuccesses: def.minSuccesses,
    };
  },
  draw: (def, note, indent, cx) =>
    cx.chart.group(`${def.id}${note}`, indent, (inner) => {
      const { chart } = cx;
      const limit = def.concurrency === undefined ? '' : ` · ${def.concurrency} at a time`;
      const fork = chart.node(SHAPES.fork, `for each element${limit} · ${def.failure ?? 'fail-fast'}`, inner);
      const join = chart.node(SHAPES.join, fanInLabel(def, 'array of outputs'), inner);
      const ends = cx.draw(def.stage, inner);
      chart.edge(fork, ends.entry, inner, 'element i');
      chart.edge(ends.exit, join, inner);
      return { entry: fork, exit: join };
    }),
  children: (node) => [node.template],
  rebase: (node, id, path, move) => ({ ...node, id, path, template: move(node.template) }),
  derivesOutput: outputsAsList,
  // Its elements are known once it runs again (no `sources`): a forEach stored without its
  // output is not restored whole; its stored elements are restored one by one.
  rebuild: { output: (outputs) => outputs },
  attempt: forEachAttempt,
  restoreChildren: restoreElements,
};

/**
 * Restores the stored elements of a forEach restored whole (as the child of a group
 * restored whole); returns their outputs by index.
 */
function restoreElements(node: CompiledForEach, cx: RestoreContext): unknown[] {
  const prefix = `${node.path}[`;
  const indices: number[] = [];
  for (const path of cx.storedPaths()) {
    if (!path.startsWith(prefix)) continue;
    // `m/each[3]`, not `m/each[3]/inner`: a nested path has more after the index.
    const index = Number(path.slice(prefix.length, -1));
    if (path.endsWith(']') && Number.isInteger(index) && index >= 0) indices.push(index);
  }
  indices.sort((a, b) => a - b);
  const outputs: unknown[] = [];
  for (const index of indices) {
    const element = elementNode(node, index);
    const stored = cx.stored(element.path) as StageRecord;
    if (stored.kind === element.kind) outputs[index] = cx.restore(element, stored);
  }
  return outputs;
}
