/**
 * One attempt of a sub-macro stage, run as a macro is: its stages, then its own gates;
 * while that fails (not cancelled, not out of time), its fallback macro on the same
 * input, then that one's fallback, up to `maxFallbackDepth`, each announced as a
 * `fallback` event at the stage's path.
 * @internal
 * @module
 */
import { toErrorRecord } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { statusOf } from '../model/stage-status.js';
import { Chain } from './chain.js';
import type { CompiledBody, CompiledMacroStage, CompiledNode } from './compiled.js';
import { normalise } from './failure.js';
import { checkMacroGates } from './gates.js';
import type { GroupHost } from './group-attempt.js';

/** What a sub-macro attempt returns: its output, and the macro (its own or a fallback) that made it. */
export interface SubMacroOutcome {
  readonly output: unknown;
  readonly by: CompiledBody;
  /** The record of the last stage that ran: the output as recorded. */
  readonly last: CompiledNode;
}

/** Runs `node`'s macro on `input`, then its fallbacks while it fails. */
export async function subMacroAttempt(
  host: GroupHost,
  node: CompiledMacroStage,
  input: unknown,
  scope: AbortScope,
  attempt: number,
): Promise<SubMacroOutcome> {
  let body: CompiledBody = node;
  let path = node.path;
  for (let depth = 0; ; depth++) {
    try {
      const output = await new Chain(host, body.children, input, scope).ended;
      if (body.gates.length > 0) await checkMacroGates(host, body.gates, output, path, scope, attempt);
      return { output, by: body, last: body.children[body.children.length - 1] as CompiledNode };
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
    }
  }
}
