/**
 * The agent stage: one agent call through the Execution Pipeline (Draft, QA, Refinement,
 * Elevation, Delivery, Deploy). Its attempts are the engine's own (agent-attempt.ts, the
 * fast path), so its rule has no `attempt`.
 * @internal
 * @module
 */
import type { ExecutionStage, PhaseStageInfo } from '../../protocol/execution.js';
import { SHAPES } from '../chart.js';
import type { CompiledAgentStage } from '../compiled.js';
import { NONE, pathAt, type StageKindRule } from '../stage-kind.js';
import { stagePipeline } from '../stage-pipeline.js';
import { missingAgent, namedChecks, phaseTimeouts } from '../stage-settings.js';
import type { AgentStageDefinition } from '../types.js';

const DEFAULT_MAX_REFINEMENTS = 2;

/** The agent stage's rule. */
export const AGENT: StageKindRule<AgentStageDefinition, CompiledAgentStage> = {
  nested: () => NONE,
  check(def, path, cx) {
    const { env, issues, where } = cx;
    cx.needAgent(def.agent, `${path}.agent`, 'agent');
    if (def.elevateTo !== undefined) cx.needAgent(def.elevateTo, `${path}.elevateTo`, 'elevation agent');
    cx.checkGates(def.gates, `${path}.gates`);
    def.pipeline?.forEach((phase, k) => {
      if (!env.phases.has(phase)) {
        issues.push({
          path: `${path}.pipeline[${k}]`,
          message: `Unknown pipeline phase "${phase}" ${where} (known: ${[...env.phases.keys()].join(', ')})`,
        });
      }
    });
    cx.checkPhaseTimeouts(def.phaseTimeoutsMs, `${path}.phaseTimeoutsMs`);
  },
  compile(def, site, cx) {
    const { env, agents, defaults } = cx;
    const { id } = def;
    const path = pathAt(site, id);
    agents.add(def.agent);
    if (def.elevateTo !== undefined) agents.add(def.elevateTo);
    for (const gate of def.gates ?? []) if (gate.kind === 'judge') agents.add(gate.agent);
    // A missing agent (allowed under checkAgents 'reachable') is never called: runs that reach it are refused.
    const agent = env.agents.get(def.agent) ?? missingAgent(def.agent, path);
    const gates = namedChecks(def.gates ?? [], env.predicates);
    const phaseTimeoutsMs = phaseTimeouts(defaults.phaseTimeoutsMs, def.phaseTimeoutsMs);
    const maxRefinements = def.maxRefinements ?? DEFAULT_MAX_REFINEMENTS;
    const info: PhaseStageInfo = Object.freeze({
      id,
      path,
      agent: agent.id,
      hasGates: gates.length > 0,
      maxRefinements,
      elevateTo: def.elevateTo,
      delivers: def.deliver !== undefined,
      deploys: def.deploy !== undefined,
    });
    const pipeline = stagePipeline(
      def.pipeline === undefined
        ? env.pipeline
        : def.pipeline.map((name) => env.phases.get(name) as ExecutionStage),
      info,
      path,
    );
    return {
      kind: 'agent',
      rule: AGENT,
      id,
      path,
      labels: cx.labels,
      timeoutMs: def.timeoutMs ?? defaults.timeoutMs,
      retry: site.retry ?? defaults.retry,
      agent,
      def,
      input: def.input,
      outputSchema: def.output ?? agent.output,
      gates,
      maxRefinements,
      phaseTimeoutsMs,
      pipeline,
      info,
    };
  },
  draw(def, note, indent, { chart }) {
    const lines = [`${def.id}${note}`, `agent: ${def.agent}`];
    if (def.gates !== undefined && def.gates.length > 0)
      lines.push(`gates: ${def.gates.map((g) => g.id).join(', ')}`);
    if (def.elevateTo !== undefined) lines.push(`elevates to: ${def.elevateTo}`);
    const id = chart.node(SHAPES.box, lines.join(' · '), indent);
    return { entry: id, exit: id };
  },
  children: () => [],
  rebase: (node, id, path) => ({ ...node, id, path, info: Object.freeze({ ...node.info, id, path }) }),
  derivesOutput: () => false,
};
