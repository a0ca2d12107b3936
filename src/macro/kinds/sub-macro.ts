/**
 * The sub-macro stage. One attempt of it runs as a macro is: its stages, then its own gates;
 * while that fails (not cancelled, not out of time), its fallback macro on the same
 * input, then that one's fallback, up to `maxFallbackDepth`, each announced as a
 * `fallback` event at the stage's path.
 * @internal
 * @module
 */
import { toErrorRecord } from '../../errors.js';
import type { AbortScope } from '../../internal/abort-scope.js';
import { statusOf } from '../../model/stage-status.js';
import { Chain } from '../chain.js';
import { SHAPES } from '../chart.js';
import type { CompiledBody, CompiledMacroStage, CompiledNode } from '../compiled.js';
import { normalise } from '../failure.js';
import { checkMacroGates } from '../gates.js';
import { LAST_CHILD } from '../group-output.js';
import { type GroupHost, type GroupOutcome, NONE, pathAt, type StageKindRule } from '../stage-kind.js';
import type { MacroStageDefinition } from '../types.js';

/** The sub-macro stage's rule. */
export const SUB_MACRO: StageKindRule<MacroStageDefinition, CompiledMacroStage> = {
  nested: () => NONE,
  runs: (def) => [def.macro],
  check(def, path, cx) {
    if (!cx.known(def.macro))
      cx.issues.push({ path: `${path}.macro`, message: `Unknown sub-macro "${def.macro}" ${cx.where}` });
  },
  compile(def, site, cx) {
    const path = pathAt(site, def.id);
    const { children, gates } = cx.body(def.macro, path);
    return {
      kind: 'macro',
      rule: SUB_MACRO,
      id: def.id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs,
      retry: site.retry,
      macro: def.macro,
      children,
      gates,
      fallbacks: cx.fallbacks(def.macro, path),
    };
  },
  draw(def, note, indent, { chart }) {
    const id = chart.node(SHAPES.sub, `${def.id}${note} · macro: ${def.macro}`, indent);
    return { entry: id, exit: id };
  },
  children: (node) => [...node.children, ...node.fallbacks.flatMap((fallback) => fallback.children)],
  rebase(node, id, path, move, movePath) {
    const children = node.children.map(move);
    const fallbacks = node.fallbacks.map((fallback) => ({
      ...fallback,
      path: movePath(fallback.path),
      children: fallback.children.map(move),
    }));
    return { ...node, id, path, children, fallbacks };
  },
  // An empty one outputs its input, stored nowhere else.
  derivesOutput: (node) => node.children.length > 0,
  rebuild: LAST_CHILD,
  attempt: subMacroAttempt,
  restoreChildren(node, cx) {
    const outputs = cx.restoreEach(node.children);
    // The stages of the fallbacks it took (its record holds the output they made).
    for (const fallback of node.fallbacks) cx.restoreEach(fallback.children);
    return outputs;
  },
};

/** Runs `node`'s macro on `input`, then its fallbacks while it fails. */
async function subMacroAttempt(
  host: GroupHost,
  node: CompiledMacroStage,
  input: unknown,
  scope: AbortScope,
  attempt: number,
  outcome: GroupOutcome,
): Promise<unknown> {
  let body: CompiledBody = node;
  let path = node.path;
  for (let depth = 0; ; depth++) {
    let output: unknown;
    try {
      output = await new Chain(host, body.children, input, scope).ended;
      if (body.gates.length > 0) await checkMacroGates(host, body.gates, output, path, scope, attempt);
    } catch (caught) {
      const next = node.fallbacks[depth];
      // As a run's fallback: only for a failure, never once cancelled or out of time.
      const error = normalise(caught, path, scope);
      if (next === undefined || scope.aborted || statusOf(error) !== 'failed') throw caught;
      const { journal } = host;
      const record = toErrorRecord(error);
      const event = {
        type: 'fallback' as const,
        ...journal.base(node.path),
        from: body.macro,
        to: next.macro,
        error: record,
        depth: depth + 1,
      };
      journal.emit(event);
      journal.recordAudit('fallback', event, { from: body.macro, to: next.macro, error: record });
      body = next;
      path = next.path;
      continue;
    }
    const last = body.children[body.children.length - 1] as CompiledNode;
    outcome.keep(host.journal.record(last).output);
    // Made by a fallback: stored with its output, which the stage's own children do not hold.
    outcome.keepsOutput = body !== node;
    return output;
  }
}
