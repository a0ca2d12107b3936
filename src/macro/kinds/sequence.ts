/**
 * The sequence: its stages in order, each output feeding the next (a `Chain`); its
 * output is the last stage's.
 * @internal
 * @module
 */
import { Chain } from '../chain.js';
import type { CompiledSequence } from '../compiled.js';
import { LAST_CHILD } from '../group-output.js';
import { listed, pathAt, type StageKindRule } from '../stage-kind.js';
import type { SequenceStageDefinition } from '../types.js';

/** The sequence's rule. */
export const SEQUENCE: StageKindRule<SequenceStageDefinition, CompiledSequence> = {
  nested: (def) => listed(def.stages, 'stages'),
  check(def, path, cx) {
    def.stages.forEach((child, k) => {
      cx.visit(child, `${path}.stages[${k}]`);
    });
  },
  compile(def, site, cx) {
    const path = pathAt(site, def.id);
    return {
      kind: 'sequence',
      rule: SEQUENCE,
      id: def.id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs,
      retry: site.retry,
      children: def.stages.map((s) => cx.compile(s, path)),
    };
  },
  draw: (def, note, indent, cx) =>
    cx.chart.group(`${def.id}${note}`, indent, (inner) => cx.chain(def.stages, inner)),
  children: (node) => node.children,
  rebase: (node, id, path, move) => ({ ...node, id, path, children: node.children.map(move) }),
  // An empty sequence outputs its input, stored nowhere else.
  derivesOutput: (node) => node.children.length > 0,
  rebuild: LAST_CHILD,
  attempt: (host, node, input, scope) => new Chain(host, node.children, input, scope).ended,
  restoreChildren: (node, cx) => cx.restoreEach(node.children),
};
