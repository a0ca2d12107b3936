/**
 * The stage a forEach element runs: the forEach's compiled element stage, copied with
 * its paths moved from `<path>[*]` to `<path>[i]`. Copied when the element starts, so
 * a forEach holds one compiled stage per element in flight, not one per element.
 * @internal
 * @module
 */
import { Harmony } from '../protocol/harmony.js';
import type { CompiledForEach, CompiledNode } from './compiled.js';

/** The compiled stage of element `index` of `node`. */
export function elementNode(node: CompiledForEach, index: number): CompiledNode {
  const { template } = node;
  // The element's id is the last step of its path, so that records and Harmony's
  // variants tell elements apart.
  return rebase(template, template.path.length, `${node.path}[${index}]`, `${node.id}[${index}]`);
}

/** A copy of `node` whose paths start with `to` instead of their first `cut` characters. */
function rebase(node: CompiledNode, cut: number, to: string, id = node.id): CompiledNode {
  const path = to + node.path.slice(cut);
  // Spreads copy the fields in order, so copies share the compiled node's hidden class.
  switch (node.kind) {
    case 'approval':
      return { ...node, id, path };
    case 'agent':
      return { ...node, id, path, info: Object.freeze({ ...node.info, id, path }) };
    case 'sequence':
    case 'route':
      return { ...node, id, path, children: node.children.map((child) => rebase(child, cut, to)) };
    case 'macro': {
      const children = node.children.map((child) => rebase(child, cut, to));
      const fallbacks = node.fallbacks.map((fallback) => ({
        ...fallback,
        path: to + fallback.path.slice(cut),
        children: fallback.children.map((child) => rebase(child, cut, to)),
      }));
      return { ...node, id, path, children, fallbacks };
    }
    case 'parallel': {
      const children = node.children.map((child) => rebase(child, cut, to));
      const { harmony } = node;
      return {
        ...node,
        id,
        path,
        children,
        harmony:
          harmony === undefined
            ? undefined
            : new Harmony(
                harmony.options,
                path,
                children.map((child) => ({ id: child.id, path: child.path })),
                harmony.minSuccesses,
              ),
      };
    }
    case 'forEach':
      return { ...node, id, path, template: rebase(node.template, cut, to) };
  }
}
