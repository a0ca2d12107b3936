/**
 * One attempt of a route: `select` names a case (a function of the input, or an agent's
 * answer), the choice is announced (`route` event, audit record), and that case alone
 * runs on the route's input.
 * @internal
 * @module
 */
import { describe, MacroError, wrapUserError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { isThenable } from '../protocol/quality-gates.js';
import { Chain } from './chain.js';
import type { CompiledNode, CompiledRoute } from './compiled.js';
import { normalise } from './failure.js';
import type { GroupHost } from './group-attempt.js';
import type { Journal } from './journal.js';
import type { StageRecord } from './types.js';

/** What a route attempt returns: the case that ran and its output. */
export interface RouteOutcome {
  readonly case: string;
  readonly output: unknown;
}

/** Selects the case of `node` for `input`, announces it, and runs it. */
export async function routeAttempt(
  host: GroupHost,
  node: CompiledRoute,
  input: unknown,
  scope: AbortScope,
  attempt: number,
): Promise<RouteOutcome> {
  const selected = await selection(host, node, input, scope, attempt);
  let index = node.caseNames.indexOf(selected);
  const by: 'select' | 'default' = index >= 0 ? 'select' : 'default';
  if (index < 0) {
    if (node.fallbackCase === undefined) {
      throw new MacroError(
        'ROUTE_NOT_FOUND',
        `No case "${selected}" at ${node.path} (cases: ${node.caseNames.join(', ')}) and no default`,
        { path: node.path },
      );
    }
    index = node.caseNames.indexOf(node.fallbackCase);
  }
  const name = node.caseNames[index] as string;
  const { journal } = host;
  const event = { type: 'route' as const, ...journal.base(node.path), case: name, selected, by };
  journal.emit(event);
  journal.recordAudit('route', event, { case: name, selected, by, attempt });
  const output = await new Chain(host, [node.children[index] as CompiledNode], input, scope).ended;
  return { case: name, output };
}

/** The case name `select` gives for `input`: a string, or the stage fails. */
async function selection(
  host: GroupHost,
  node: CompiledRoute,
  input: unknown,
  scope: AbortScope,
  attempt: number,
): Promise<string> {
  const { select } = node;
  let selected: unknown;
  if (typeof select === 'string') {
    // An agent: called as a judge is (scheduling, abort, usage), with the route's input.
    selected = await host.judge(node.path, scope, attempt, undefined)(select, input);
  } else {
    try {
      selected = select(input, host.context);
      if (isThenable(selected)) selected = await scope.race(Promise.resolve(selected));
    } catch (error) {
      if (scope.aborted) throw normalise(error, node.path, scope);
      throw wrapUserError(error, node.path, 'select');
    }
  }
  if (typeof selected === 'string') return selected;
  throw new MacroError(
    'STAGE_FAILED',
    `The route's select must give a case name at ${node.path}, got ${describe(selected)}`,
    { path: node.path },
  );
}

/** The record of a route that ran `chosen`: `record` with its case, in its place in the journal. */
export function routedRecord(journal: Journal, record: StageRecord, chosen: string): StageRecord {
  const routed: StageRecord = { ...record, case: chosen };
  if (!journal.ended) journal.stages[record.path] = routed;
  return routed;
}
