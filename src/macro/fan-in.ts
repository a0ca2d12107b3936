/**
 * What a fan-out (a parallel group, a forEach) makes of its settled pieces: a user's
 * `merge` of their outputs, or the Harmony Protocol's choice among them.
 * @internal
 * @module
 */
import { wrapUserError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { snapshot } from '../internal/snapshot.js';
import type { DecisionDraft, Harmony } from '../protocol/harmony.js';
import { isThenable } from '../protocol/quality-gates.js';
import { normalise } from './failure.js';
import type { GateHost } from './gates.js';
import type { Journal } from './journal.js';
import type { MacroContext } from './types.js';

/**
 * A fan-out starts its pieces in slices of this many (a power of two), with a microtask
 * between: work that settles at once ends before the next slice starts.
 */
const SLICE = 1024;
export const SLICE_MASK = SLICE - 1;

/** A fan-out's way to one output: a `merge`, a Harmony strategy, or neither. */
interface FanIn {
  readonly merge?: unknown;
  readonly harmony?: unknown;
}

/** Whether a fan-out's output is the list of its pieces' outputs (no merge, no Harmony). */
export function outputsAsList(group: FanIn): boolean {
  return group.merge === undefined && group.harmony === undefined;
}

/** A fan-out definition's join as a chart labels it; `list`: what it is with neither. */
export function fanInLabel(def: FanIn & { readonly harmony?: { readonly strategy: string } }, list: string) {
  return def.harmony !== undefined
    ? `harmony: ${def.harmony.strategy}`
    : def.merge !== undefined
      ? 'merge'
      : list;
}

/** Calls the group's `merge` (at `path`) on `outputs`; an error it throws fails the group. */
export async function merge(
  host: GateHost,
  path: string,
  merge: (outputs: readonly unknown[], context: MacroContext) => unknown,
  outputs: readonly unknown[],
  scope: AbortScope,
): Promise<unknown> {
  try {
    const merged = merge(outputs, host.context);
    // A promise is raced against the scope, so a merge that never settles cannot
    // outlast a timeout; a value (most merges) needs no promise.
    return isThenable(merged) ? await scope.race(Promise.resolve(merged)) : merged;
  } catch (error) {
    if (scope.aborted) throw normalise(error, path, scope);
    throw wrapUserError(error, path, 'merge');
  }
}

/** Lets the group's Harmony policy pick its output; a conflict becomes a recorded decision. */
export async function harmonise(
  host: GateHost,
  path: string,
  harmony: Harmony,
  settled: {
    readonly outputs: readonly unknown[];
    readonly failures: ReadonlyMap<number, unknown>;
    readonly scope: AbortScope;
    /** The group's attempt: its judge's calls are counted in it. */
    readonly attempt: number;
  },
): Promise<unknown> {
  const { scope } = settled;
  const { output, decision } = await harmony.resolve(settled.outputs, settled.failures, {
    context: host.context,
    signal: scope.signal,
    judge: host.judge(path, scope, settled.attempt, undefined),
  });
  if (decision !== undefined) recordDecision(host.journal, path, decision);
  return output;
}

/** Records a Harmony decision at `path` as an immutable copy (its variants are live branch outputs). */
function recordDecision(journal: Journal, path: string, decision: DecisionDraft): void {
  const id = `d${journal.decisions.length + 1}`;
  const recorded = snapshot(decision);
  const event = { type: 'decision' as const, ...journal.base(path), id, ...recorded };
  journal.decisions.push({ id, path, at: event.at, ...recorded });
  journal.emit(event);
  journal.recordAudit('decision', event, { id, ...recorded });
}
