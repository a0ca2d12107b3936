/**
 * Running a list of quality gates on an output: a stage's QA pass, or a macro's own
 * gates on its result. Each verdict is recorded in the run's journal as it comes.
 * @internal
 * @module
 */
import type { AbortScope } from '../internal/abort-scope.js';
import { checkGate, gatesFailed } from '../protocol/quality-gates.js';
import type { Journal } from './journal.js';
import type { GateVerdict, MacroContext, QualityGate } from './types.js';

/** What running a list of gates found. */
export interface GateCheck {
  passed: boolean;
  readonly verdicts: GateVerdict[];
}

/** What running gates needs from the run. */
export interface GateHost {
  readonly journal: Journal;
  readonly context: MacroContext;
  /** How gates at `path` call their judge agents, under `scope` (from `phase`, if a stage's). */
  judge(
    path: string,
    scope: AbortScope,
    attempt: number,
    phase: string | undefined,
  ): (agentId: string, input: unknown) => Promise<unknown>;
}

/** Where a list of gates runs: one QA pass of a stage attempt's phase, or a macro's own gates. */
export interface GateSite {
  readonly path: string;
  /** The QA pass's number, in its verdicts. */
  readonly pass: number;
  readonly scope: AbortScope;
  readonly attempt: number;
  readonly phase: string | undefined;
}

/** The judge given to gates that have none to call. */
function noJudge(): Promise<never> {
  return Promise.reject(new Error('only judge gates call a judge'));
}

/**
 * Runs `gates` on `output`, recording each verdict: synchronously while the gates answer
 * synchronously (schema gates, plain predicates), asynchronously from the first one that
 * returns a promise. A failing check throws.
 */
export function checkGates(
  host: GateHost,
  gates: readonly QualityGate[],
  output: unknown,
  site: GateSite,
): GateCheck | Promise<GateCheck> {
  // Sized up front: a push onto `[]` makes room for 16 verdicts, where most stages have one.
  const check: GateCheck = { passed: true, verdicts: new Array<GateVerdict>(gates.length) };
  for (let i = 0; i < gates.length; i++) {
    const verdict = gateVerdict(host, gates[i] as QualityGate, output, site);
    if (verdict instanceof Promise) return checkGatesFrom(host, gates, output, site, check, i, verdict);
    host.journal.verdict(site.path, verdict, check, i);
  }
  return check;
}

/** Goes on with checkGates from gate `i`, whose verdict is pending. */
async function checkGatesFrom(
  host: GateHost,
  gates: readonly QualityGate[],
  output: unknown,
  site: GateSite,
  check: GateCheck,
  i: number,
  pending: Promise<GateVerdict>,
): Promise<GateCheck> {
  host.journal.verdict(site.path, await pending, check, i);
  for (let j = i + 1; j < gates.length; j++) {
    const verdict = await gateVerdict(host, gates[j] as QualityGate, output, site);
    host.journal.verdict(site.path, verdict, check, j);
  }
  return check;
}

function gateVerdict(
  host: GateHost,
  gate: QualityGate,
  output: unknown,
  site: GateSite,
): GateVerdict | Promise<GateVerdict> {
  const { path, scope } = site;
  // The judge closure is made only for judge gates.
  const judge = gate.kind === 'judge' ? host.judge(path, scope, site.attempt, site.phase) : noJudge;
  return checkGate(gate, output, path, site.pass, host.context, judge);
}

/** Checks a macro's own gates on its output (at `path`); throws a QualityGateError when one fails. */
export async function checkMacroGates(
  host: GateHost,
  gates: readonly QualityGate[],
  output: unknown,
  path: string,
  scope: AbortScope,
  attempt: number,
): Promise<void> {
  const site = { path, pass: 1, scope, attempt, phase: undefined };
  const checked = checkGates(host, gates, output, site);
  // Raced, so a gate that never settles cannot outlast a cancellation or a deadline.
  const { passed, verdicts } = checked instanceof Promise ? await scope.race(checked) : checked;
  if (!passed) throw gatesFailed(path, verdicts);
}
