/**
 * Suspending a run to wait for input from outside, and what resuming it with input
 * checks: the waiting stage, and the input against its declared schema.
 * @internal
 * @module
 */
import { randomUUID } from 'node:crypto';
import { MacroError, SuspendedError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { snapshot } from '../internal/snapshot.js';
import { formatIssues } from '../internal/zod-issues.js';
import type { CompiledMacro, CompiledNode } from './compiled.js';
import type { Journal } from './journal.js';
import type { Suspension } from './types.js';

/**
 * Suspends the run at `path`: a `suspended` event, then the run's scope aborted with the
 * suspension, so every stage in flight stops (what finished is kept) and the run settles
 * `suspended`. Throws the suspension, or the reason the run had already stopped for.
 */
export function suspendRun(journal: Journal, scope: AbortScope, path: string, payload: unknown): never {
  if (scope.aborted) throw scope.reason;
  const kept = snapshot(payload);
  const suspension = new SuspendedError(path, kept, randomUUID());
  journal.emit({ type: 'suspended', ...journal.base(path), payload: kept, token: suspension.token });
  scope.abort(suspension);
  throw suspension;
}

/**
 * The stage a suspended run waits at, given `input` (and `token`, if the caller names the
 * suspension): the input as the stage's schema parses it.
 * @throws `INVALID_RESUME_INPUT` naming the stage and what is wrong.
 */
export function checkResumeInput(
  catalogue: ReadonlyMap<string, CompiledMacro>,
  suspension: Suspension,
  options: { readonly input?: unknown; readonly token?: string | undefined },
): { readonly path: string; readonly input: unknown } {
  const { path } = suspension;
  const { input, token } = options;
  const refuse = (why: string) =>
    new MacroError('INVALID_RESUME_INPUT', `Cannot resume the run suspended at ${path}: ${why}`, { path });
  // Explicit, so that a plain `resume(runId)` cannot answer for a person (`null` is an answer).
  if (!('input' in options)) throw refuse('it waits for input; pass resume(runId, { input })');
  if (token !== undefined && token !== suspension.token) {
    throw refuse(`it waits at suspension ${suspension.token}, not ${token}`);
  }
  // In the macro the path starts with: the run's, or a run-level fallback's.
  const node = nodeAt(catalogue.get(rootOf(path))?.children ?? [], path);
  const schema = node === undefined ? undefined : node.rule.resumeSchema?.(node);
  if (schema === undefined) return { path, input };
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues, { keys: 'dots', place: 'after' });
    throw refuse(`the input does not match the stage's schema: ${issues}`);
  }
  return { path, input: parsed.data };
}

/** The macro a stage path starts with (`m` of `m/a/b`). */
function rootOf(path: string): string {
  const cut = path.indexOf('/');
  return cut < 0 ? path : path.slice(0, cut);
}

/** The error of resuming with input a run (`runId`, `status`) that waits for none. */
export function notSuspended(runId: string, status: string): MacroError {
  return new MacroError(
    'INVALID_RESUME_INPUT',
    `Run "${runId}" is ${status}, not suspended: no stage waits for input`,
  );
}

/** The compiled stage at `path` among `nodes` (an element path `id[3]` as its template `id[*]`). */
function nodeAt(nodes: readonly CompiledNode[], path: string): CompiledNode | undefined {
  const compiled = path.includes('[') ? path.replace(/\[\d+\]/g, '[*]') : path;
  const pending = [...nodes];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.path === compiled) return node;
    if (compiled.startsWith(node.path)) for (const child of node.rule.children(node)) pending.push(child);
  }
  return undefined;
}
