/**
 * The route: one attempt of it has `select` name a case (a function of the input, or an agent's
 * answer), the choice is announced (`route` event, audit record), and that case alone
 * runs on the route's input.
 * @internal
 * @module
 */
import { describe, MacroError, wrapUserError } from '../../errors.js';
import type { AbortScope } from '../../internal/abort-scope.js';
import { isThenable } from '../../protocol/quality-gates.js';
import { Chain } from '../chain.js';
import { SHAPES } from '../chart.js';
import type { CompiledNode, CompiledRoute } from '../compiled.js';
import { normalise } from '../failure.js';
import { type GroupHost, type GroupOutcome, NONE, pathAt, type StageKindRule } from '../stage-kind.js';
import type { RouteStageDefinition, StageDefinition } from '../types.js';

/** The route's rule. */
export const ROUTE: StageKindRule<RouteStageDefinition, CompiledRoute> = {
  nested: ({ cases }) =>
    typeof cases === 'object' && cases !== null
      ? Object.entries(cases).map(([name, stage]) => [stage, `.cases.${name}`] as const)
      : NONE,
  check(def, path, cx) {
    const names = Object.keys(def.cases);
    for (const name of names) cx.visit(def.cases[name] as StageDefinition, `${path}.cases.${name}`);
    if (def.default !== undefined && !names.includes(def.default)) {
      cx.issues.push({
        path: `${path}.default`,
        message: `Unknown default case "${def.default}" ${cx.where} (cases: ${names.join(', ')})`,
      });
    }
    if (typeof def.select !== 'function')
      cx.needAgent(def.select.agent, `${path}.select.agent`, 'route agent');
  },
  compile(def, site, cx) {
    const path = pathAt(site, def.id);
    const { select } = def;
    if (typeof select !== 'function') cx.agents.add(select.agent);
    const caseNames = Object.keys(def.cases);
    return {
      kind: 'route',
      rule: ROUTE,
      id: def.id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs,
      retry: site.retry,
      children: caseNames.map((name) => cx.compile(def.cases[name] as StageDefinition, path)),
      caseNames,
      select: typeof select === 'function' ? select : select.agent,
      fallbackCase: def.default,
    };
  },
  draw: (def, note, indent, cx) =>
    cx.chart.group(`${def.id}${note}`, indent, (inner) => {
      const { chart } = cx;
      const { select } = def;
      const by = typeof select === 'function' ? 'select' : `agent: ${select.agent}`;
      const fallback = def.default === undefined ? '' : ` · default: ${def.default}`;
      const choice = chart.node(SHAPES.choice, `route · ${by}${fallback}`, inner);
      const join = chart.node(SHAPES.join, 'the case that ran', inner);
      for (const [name, branch] of Object.entries(def.cases)) {
        const ends = cx.draw(branch, inner);
        chart.edge(choice, ends.entry, inner, name);
        chart.edge(ends.exit, join, inner);
      }
      return { entry: choice, exit: join };
    }),
  children: (node) => node.children,
  rebase: (node, id, path, move) => ({ ...node, id, path, children: node.children.map(move) }),
  // Which case ran is the route's own record's to say.
  derivesOutput: () => false,
  attempt: routeAttempt,
  restoreChildren: (node, cx) => cx.restoreEach(node.children),
};

/** Selects the case of `node` for `input`, announces it, and runs it. */
async function routeAttempt(
  host: GroupHost,
  node: CompiledRoute,
  input: unknown,
  scope: AbortScope,
  attempt: number,
  outcome: GroupOutcome,
): Promise<unknown> {
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
  const chosen = node.children[index] as CompiledNode;
  const output = await new Chain(host, [chosen], input, scope).ended;
  outcome.keep(journal.record(chosen).output);
  outcome.case = name;
  return output;
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
