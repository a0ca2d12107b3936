/**
 * A group's output as its record keeps it: built from its children's records when it is
 * theirs (a sequence's last output, a parallel group's tuple), so that a checkpoint need
 * not store it twice and a resumed run can rebuild it. Each kind says when that is
 * (`StageKindRule.derivesOutput`) and how (`rebuild`, one of the two below).
 * @internal
 * @module
 */
import { snapshot } from '../internal/snapshot.js';
import type { CompiledAgentStage, CompiledNode } from './compiled.js';
import type { Journal } from './journal.js';
import type { Rebuild } from './stage-kind.js';

/** A stage other than an agent stage. */
export type CompiledGroup = Exclude<CompiledNode, CompiledAgentStage>;

/** A group whose output, when derived, is its children's. */
interface Parent {
  readonly children: readonly CompiledNode[];
}

/**
 * What a group's record keeps as its output: its children's recorded snapshots when it
 * is theirs, so that it is neither copied again nor shared with the live value the next
 * stage receives; a snapshot of `output` otherwise (a merge, Harmony's pick).
 */
export function groupOutput(journal: Journal, node: CompiledNode, output: unknown): unknown {
  const { rule } = node;
  const recorded = rule.rebuild?.recorded;
  return recorded !== undefined && rule.derivesOutput(node) ? recorded(journal, node) : snapshot(output);
}

/** A sequence's (or sub-macro's) output: its last child's. */
export const LAST_CHILD: Rebuild<Parent> = {
  output: (outputs) => outputs[outputs.length - 1],
  sources: (node) => node.children,
  // Every child has its record: the group succeeded.
  recorded: (journal, node) => journal.record(node.children[node.children.length - 1] as CompiledNode).output,
};

/** A parallel group's output: the tuple of its branches' outputs. */
export const TUPLE: Rebuild<Parent> = {
  output: (outputs) => outputs,
  sources: (node) => node.children,
  recorded(journal, { children }) {
    const outputs = new Array<unknown>(children.length);
    for (let i = 0; i < children.length; i++) outputs[i] = journal.record(children[i] as CompiledNode).output;
    return Object.freeze(outputs);
  },
};
