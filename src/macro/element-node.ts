/**
 * The stage a forEach element runs: the forEach's compiled element stage, copied with
 * its paths moved from `<path>[*]` to `<path>[i]`. The copies of the first
 * {@link KEPT_ELEMENTS} elements are kept with the forEach, as a parallel group keeps its
 * branches, so later runs reuse them; past that, each is made when its element starts.
 * @internal
 * @module
 */
import type { CompiledForEach, CompiledNode } from './compiled.js';

/**
 * Elements whose compiled copies a forEach keeps (~400 B each). Reused, they cost a run no
 * allocation, and no new path strings for the journal to hash as record keys: made per run,
 * they were ~600 B and a third of the time at 10,000 elements went to GC.
 */
const KEPT_ELEMENTS = 10_000;

/** The kept copies of each forEach (its node is compiled once and shared by every run). */
const kept = new WeakMap<CompiledForEach, CompiledNode[]>();

/** The element stages of `node` made so far: index `i` is element `i`'s, or a hole. */
export function keptElements(node: CompiledForEach): CompiledNode[] {
  let list = kept.get(node);
  if (list === undefined) {
    list = [];
    kept.set(node, list);
  }
  return list;
}

/** The compiled stage of element `index` of `node`, from `list` (keptElements) when kept there. */
export function elementNode(node: CompiledForEach, index: number, list = keptElements(node)): CompiledNode {
  // Kept only for a forEach outside any element: one inside an element is a copy per outer
  // element, and keeping its elements too would hold outer × inner stages for good.
  if (index >= KEPT_ELEMENTS || node.path.includes('[')) return copyOf(node, index);
  let element = list[index];
  if (element === undefined) {
    element = copyOf(node, index);
    list[index] = element;
  }
  return element;
}

/** A new copy of `node`'s element stage for element `index`. */
function copyOf(node: CompiledForEach, index: number): CompiledNode {
  const { template } = node;
  // The element's id is the last step of its path, so that records and Harmony's
  // variants tell elements apart.
  return rebase(template, template.path.length, `${node.path}[${index}]`, `${node.id}[${index}]`);
}

/** A copy of `node` whose paths start with `to` instead of their first `cut` characters. */
function rebase(node: CompiledNode, cut: number, to: string, id = node.id): CompiledNode {
  // Its kind's rule spreads the node, copying the fields in order: copies share the
  // compiled node's hidden class.
  return node.rule.rebase(
    node,
    id,
    to + node.path.slice(cut),
    (child: CompiledNode) => rebase(child, cut, to),
    (path: string) => to + path.slice(cut),
  );
}
