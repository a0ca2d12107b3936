/**
 * The meaning checks of a parsed catalogue, macro by macro: duplicate stage and gate
 * ids, unknown agents (stage, judge, elevation), sub-macros, fallbacks and pipeline
 * phases, impossible retry values, Harmony settings that contradict the group.
 * @internal
 * @module
 */
import type { ConfigIssue } from '../errors.js';
import type { CompileEnvironment, Parsed, ParsedCatalogue } from './compile-environment.js';
import type { CheckContext } from './stage-kind.js';
import { kindOf } from './stage-kinds.js';
import type { QualityGate, RetryPolicy } from './types.js';

/**
 * Adds the problems of `def` (defined at `at`) to `issues`; its unknown agents go to
 * `agentIssues`, and to `issues` too under `checkAgents: 'catalogue'`.
 */
export function checkMeaning(
  def: Parsed,
  at: string,
  byName: ParsedCatalogue,
  invalidNames: ReadonlySet<string>,
  env: CompileEnvironment,
  issues: ConfigIssue[],
  agentIssues: ConfigIssue[],
): void {
  const known = (name: string) => byName.has(name) || invalidNames.has(name);
  const where = `in macro "${def.name}"`;
  const ids = new Set<string>();
  const needAgent = (id: string, path: string, role: string) => {
    if (env.agents.has(id)) return;
    const issue = { path, message: `Unknown ${role} "${id}" ${where}` };
    agentIssues.push(issue);
    if (env.checkAgents === 'catalogue') issues.push(issue); // in order, among the other issues
  };
  const checkGates = (gates: readonly QualityGate[] | undefined, path: string) => {
    const seen = new Set<string>();
    gates?.forEach((gate, k) => {
      if (seen.has(gate.id))
        issues.push({ path: `${path}[${k}].id`, message: `Duplicate gate id "${gate.id}" ${where}` });
      seen.add(gate.id);
      if (gate.kind === 'judge') needAgent(gate.agent, `${path}[${k}].agent`, 'judge agent');
      if (gate.kind === 'predicate' && typeof gate.check === 'string' && !env.predicates.has(gate.check)) {
        const known = [...env.predicates.keys()];
        // The first 20 names: a catalogue of thousands would make every such message huge.
        const listed = `${known.slice(0, 20).join(', ')}${known.length > 20 ? ` and ${known.length - 20} more` : ''}`;
        issues.push({
          path: `${path}[${k}].check`,
          message: `Unknown predicate "${gate.check}" ${where} (${known.length === 0 ? "no predicates are given: pass them in the orchestrator's predicates option" : `known: ${listed}`})`,
        });
      }
    });
  };
  const checkRetry = (retry: RetryPolicy | undefined, path: string) => {
    if (retry !== undefined && retry.minDelayMs > retry.maxDelayMs) {
      issues.push({
        path: `${path}.minDelayMs`,
        message: `minDelayMs (${retry.minDelayMs}) is greater than maxDelayMs (${retry.maxDelayMs}) ${where}`,
      });
    }
  };
  const checkPhaseTimeouts = (timeouts: object | undefined, path: string) => {
    for (const phase of Object.keys(timeouts ?? {})) {
      if (!env.phases.has(phase)) {
        issues.push({
          path: `${path}.${phase}`,
          message: `Unknown pipeline phase "${phase}" ${where} (known: ${[...env.phases.keys()].join(', ')})`,
        });
      }
    }
  };
  const cx: CheckContext = {
    env,
    where,
    issues,
    known,
    needAgent,
    checkGates,
    checkRetry,
    checkPhaseTimeouts,
    visit(stage, path) {
      // A wrapper (retryableStage) has no id of its own.
      const { id } = stage as { id?: string };
      if (id !== undefined) {
        if (ids.has(id)) issues.push({ path: `${path}.id`, message: `Duplicate stage id "${id}" ${where}` });
        ids.add(id);
      }
      kindOf(stage).check(stage, path, cx);
    },
  };
  def.stages.forEach((stage, k) => {
    cx.visit(stage, `${at}.stages[${k}]`);
  });
  checkGates(def.gates, `${at}.gates`);
  checkRetry(def.defaults?.retry, `${at}.defaults.retry`);
  checkPhaseTimeouts(def.defaults?.phaseTimeoutsMs, `${at}.defaults.phaseTimeoutsMs`);
  if (def.fallback !== undefined && !known(def.fallback)) {
    issues.push({ path: `${at}.fallback`, message: `Unknown fallback macro "${def.fallback}" ${where}` });
  }
}
