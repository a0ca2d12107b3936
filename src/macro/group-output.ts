/**
 * A group's output as its record keeps it: built from its children's records when it is
 * theirs (a sequence's last output, a parallel group's tuple), so that a checkpoint need
 * not store it twice and a resumed run can rebuild it.
 * @internal
 * @module
 */
import { snapshot } from '../internal/snapshot.js';
import type {
  CompiledAgentStage,
  CompiledApproval,
  CompiledForEach,
  CompiledNode,
  CompiledRoute,
} from './compiled.js';
import type { Journal } from './journal.js';

/** A sequence, sub-macro or parallel group. */
export type CompiledGroup = Exclude<CompiledNode, CompiledAgentStage>;

/**
 * Whether a group's output is what its children's records hold: a sequence's (or
 * sub-macro's) is its last child's output, a parallel group's without merge or Harmony
 * the tuple of its branches' outputs, a forEach's without them the array of its
 * elements' outputs.
 */
export function derivesOutput(node: CompiledNode): node is CompiledGroup {
  switch (node.kind) {
    case 'agent':
      return false;
    case 'parallel':
    case 'forEach':
      return node.merge === undefined && node.harmony === undefined;
    case 'route':
    case 'approval':
      return false; // which case ran is the route's own record's to say
    default:
      return node.children.length > 0; // an empty sequence outputs its input, stored nowhere else
  }
}

/**
 * What a group's record keeps as its output: its children's recorded snapshots when it
 * is theirs, so that it is neither copied again nor shared with the live value the next
 * stage receives; a snapshot of `output` otherwise (a merge, Harmony's pick).
 */
export function groupOutput(
  journal: Journal,
  node: Exclude<CompiledGroup, CompiledForEach | CompiledRoute | CompiledApproval>,
  output: unknown,
): unknown {
  if (!derivesOutput(node)) return snapshot(output);
  const { children } = node;
  // Every child has its record: the group succeeded.
  if (node.kind !== 'parallel') return journal.record(children[children.length - 1] as CompiledNode).output;
  const outputs = new Array<unknown>(children.length);
  for (let i = 0; i < children.length; i++) outputs[i] = journal.record(children[i] as CompiledNode).output;
  return Object.freeze(outputs);
}
