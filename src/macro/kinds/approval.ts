/**
 * The approval stage: suspends the run with its input and prompt until it is resumed
 * with input (checked against its schema by resume), which is then its output.
 * @internal
 * @module
 */
import { SHAPES } from '../chart.js';
import type { CompiledApproval } from '../compiled.js';
import { NONE, pathAt, type StageKindRule } from '../stage-kind.js';
import type { ApprovalStageDefinition } from '../types.js';

/** The approval stage's rule. */
export const APPROVAL: StageKindRule<ApprovalStageDefinition, CompiledApproval> = {
  nested: () => NONE,
  check() {},
  compile: (def, site, cx) => ({
    kind: 'approval',
    rule: APPROVAL,
    id: def.id,
    path: pathAt(site, def.id),
    labels: cx.labels,
    timeoutMs: undefined,
    retry: site.retry,
    prompt: def.prompt,
    schema: def.schema,
  }),
  draw(def, note, indent, { chart }) {
    const prompt = def.prompt === undefined ? '' : `: ${def.prompt}`;
    const id = chart.node(SHAPES.ask, `${def.id}${note} · approval${prompt}`, indent);
    return { entry: id, exit: id };
  },
  children: () => [],
  rebase: (node, id, path) => ({ ...node, id, path }),
  derivesOutput: () => false,
  resumeSchema: (node) => node.schema,
  attempt(host, node, input, scope, _attempt, outcome) {
    // Resumed with input for it: that input (checked by resume); else the run suspends here.
    const resumed = host.resumeInput(node.path);
    if (resumed === undefined && scope.aborted) throw scope.reason; // its branch was stopped first
    if (resumed === undefined) return host.suspend(node.path, { prompt: node.prompt, input }); // throws
    outcome.atOnce = true;
    return resumed.input; // the answer itself, even a promise: `atOnce` tells the engine not to wait for it
  },
};
