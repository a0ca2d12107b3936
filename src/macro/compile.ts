/**
 * Compiles macro definitions once, at load time: zod shape first, then meaning
 * (duplicates, unknown agents, fallback and sub-macro cycles, retry values). Either
 * every macro compiles, or one `MacroConfigurationError` lists every problem.
 * @internal
 * @module
 */
import { type ConfigIssue, describe, MacroConfigurationError } from '../errors.js';
import { issuePath } from '../internal/zod-issues.js';
import type { ExecutionStage, PhaseStageInfo } from '../protocol/execution.js';
import { Harmony, harmonyAgent } from '../protocol/harmony.js';
import { checkCycles, checkDepth, reachableIssues, readName, tooDeep } from './catalogue-graph.js';
import { checkMeaning } from './catalogue-meaning.js';
import type { CompileEnvironment, Parsed, ParsedCatalogue } from './compile-environment.js';
import type { CompiledFallback, CompiledMacro, CompiledNode } from './compiled.js';
import { stagePipeline } from './stage-pipeline.js';
import { missingAgent, namedChecks, phaseTimeouts } from './stage-settings.js';
import { MacroDefinitionSchema, type RetryPolicy, type StageDefinition } from './types.js';

const DEFAULT_MAX_REFINEMENTS = 2;

/** Compiles `definitions`; throws `MacroConfigurationError` listing every issue. */
export function compileCatalogue(
  definitions: readonly unknown[],
  env: CompileEnvironment,
): Map<string, CompiledMacro> {
  const issues: ConfigIssue[] = [];
  const parsed: Array<{ def: Parsed; at: string } | undefined> = [];
  // Names of macros whose shape is invalid: references to them are not reported again as unknown.
  const invalidNames = new Set<string>();

  definitions.forEach((definition, i) => {
    const at = `macros[${i}]`;
    const deep = tooDeep(definition, at);
    if (deep !== undefined) {
      // Checked before the schema, whose recursive parse would overflow the stack first.
      issues.push(deep);
      const name = readName(definition);
      if (name !== undefined) invalidNames.add(name);
      parsed.push(undefined);
      return;
    }
    let result: ReturnType<typeof MacroDefinitionSchema.safeParse>;
    try {
      result = MacroDefinitionSchema.safeParse(definition);
    } catch (error) {
      // A revoked proxy or a throwing getter: zod throws on it.
      issues.push({ path: at, message: `The macro definition cannot be read: ${describe(error)}` });
      parsed.push(undefined);
      return;
    }
    if (!result.success) {
      for (const issue of result.error.issues)
        issues.push({ path: issuePath(issue.path, 'brackets', at), message: issue.message });
      const name = readName(definition);
      if (name !== undefined) invalidNames.add(name);
      parsed.push(undefined);
      return;
    }
    parsed.push({ def: result.data as Parsed, at });
  });

  const byName: ParsedCatalogue = new Map();
  for (const entry of parsed) {
    if (entry === undefined) continue;
    if (byName.has(entry.def.name)) {
      issues.push({ path: `${entry.at}.name`, message: `Duplicate macro name "${entry.def.name}"` });
      continue;
    }
    byName.set(entry.def.name, entry);
  }

  const missing = new Map<string, ConfigIssue[]>();
  for (const { def, at } of byName.values()) {
    const agentIssues: ConfigIssue[] = [];
    checkMeaning(def, at, byName, invalidNames, env, issues, agentIssues);
    missing.set(def.name, agentIssues);
  }
  checkCycles(byName, 'fallback', issues);
  checkCycles(byName, 'macro', issues);
  if (issues.length === 0) checkDepth(byName, issues);

  if (issues.length > 0) throw new MacroConfigurationError(issues);

  const compiled = new Map<string, CompiledMacro>();
  // Walked per macro only when some agent is missing: each walk can cover the catalogue.
  let anyMissing = false;
  for (const list of missing.values()) if (list.length > 0) anyMissing = true;
  for (const { def } of byName.values()) {
    const issuesOfRun = anyMissing ? reachableIssues(def.name, byName, missing) : [];
    compiled.set(def.name, compileMacro(def, byName, env, issuesOfRun));
  }
  return compiled;
}

function compileMacro(
  def: Parsed,
  byName: ParsedCatalogue,
  env: CompileEnvironment,
  missingAgents: readonly ConfigIssue[],
): CompiledMacro {
  const labels = Object.freeze({ macro: def.name, ...def.labels });
  const agents = new Set<string>();
  const scopes = new Map<string, Readonly<Record<string, string>>>();
  const children = compileStages(def, def.name, labels, { byName, env, agents, scopes });
  for (const gate of def.gates ?? []) if (gate.kind === 'judge') agents.add(gate.agent);
  return {
    name: def.name,
    definition: def,
    children,
    fallback: def.fallback,
    gates: namedChecks(def.gates ?? [], env.predicates),
    labels,
    labelScopes: scopes.size === 0 ? undefined : scopes,
    agents,
    missingAgents,
  };
}

/** What compiling one macro's stage tree shares, sub-macros included. */
interface Compiling {
  readonly byName: ParsedCatalogue;
  readonly env: CompileEnvironment;
  /** Agent ids the macro needs, added to as stages name them. */
  readonly agents: Set<string>;
  /** Labels of the labelled sub-macros and fallbacks, by scope path (see `Journal.labelsAt`). */
  readonly scopes: Map<string, Readonly<Record<string, string>>>;
}

/** `labels` (those in effect where a sub-macro runs) over the sub-macro's own: the caller's win. */
function scoped(
  cx: Compiling,
  at: string,
  labels: Readonly<Record<string, string>>,
  sub: Parsed,
): Readonly<Record<string, string>> {
  if (sub.labels === undefined || Object.keys(sub.labels).length === 0) return labels;
  const merged = Object.freeze({ ...sub.labels, ...labels });
  cx.scopes.set(at, merged);
  return merged;
}

function compileStages(
  def: Parsed,
  prefix: string,
  labels: Readonly<Record<string, string>>,
  cx: Compiling,
): CompiledNode[] {
  const { byName, env, agents } = cx;
  const defaults = def.defaults ?? {};
  const compile = (
    stage: StageDefinition,
    parentPath: string,
    retry: RetryPolicy | undefined,
    at?: string,
  ): CompiledNode => {
    if (stage.kind === 'retryable') return compile(stage.stage, parentPath, stage.retry as RetryPolicy, at);
    const path = at ?? `${parentPath}/${stage.id}`;
    const { id } = stage;
    // Every node is written out as one literal, fields in the same order: a spread of
    // shared base fields gave each node a hidden class of its own, and the engine's
    // property reads went megamorphic (a stub-cache miss per read in large macros).
    switch (stage.kind) {
      case 'agent': {
        agents.add(stage.agent);
        if (stage.elevateTo !== undefined) agents.add(stage.elevateTo);
        for (const gate of stage.gates ?? []) if (gate.kind === 'judge') agents.add(gate.agent);
        // A missing agent (allowed under checkAgents 'reachable') is never called: runs that reach it are refused.
        const agent = env.agents.get(stage.agent) ?? missingAgent(stage.agent, path);
        const gates = namedChecks(stage.gates ?? [], env.predicates);
        const phaseTimeoutsMs = phaseTimeouts(defaults.phaseTimeoutsMs, stage.phaseTimeoutsMs);
        const maxRefinements = stage.maxRefinements ?? DEFAULT_MAX_REFINEMENTS;
        const info: PhaseStageInfo = Object.freeze({
          id,
          path,
          agent: agent.id,
          hasGates: gates.length > 0,
          maxRefinements,
          elevateTo: stage.elevateTo,
          delivers: stage.deliver !== undefined,
          deploys: stage.deploy !== undefined,
        });
        const pipeline = stagePipeline(
          stage.pipeline === undefined
            ? env.pipeline
            : stage.pipeline.map((name) => env.phases.get(name) as ExecutionStage),
          info,
          path,
        );
        return {
          kind: 'agent',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs ?? defaults.timeoutMs,
          retry: retry ?? defaults.retry,
          agent,
          def: stage,
          input: stage.input,
          outputSchema: stage.output ?? agent.output,
          gates,
          maxRefinements,
          phaseTimeoutsMs,
          pipeline,
          info,
        };
      }
      case 'sequence':
        return {
          kind: 'sequence',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs,
          retry,
          children: stage.stages.map((s) => compile(s, path, undefined)),
        };
      case 'parallel': {
        const children = stage.branches.map((s) => compile(s, path, undefined));
        const { harmony } = stage;
        const judge = harmonyAgent(harmony);
        if (judge !== undefined) agents.add(judge);
        return {
          kind: 'parallel',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs,
          retry,
          children,
          failure: stage.failure ?? 'fail-fast',
          merge: stage.merge,
          harmony:
            harmony === undefined
              ? undefined
              : new Harmony(
                  harmony,
                  path,
                  children.map((child) => ({ id: child.id, path: child.path })),
                  stage.minSuccesses ?? children.length,
                ),
        };
      }
      case 'forEach': {
        const judge = harmonyAgent(stage.harmony);
        if (judge !== undefined) agents.add(judge);
        return {
          kind: 'forEach',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs,
          retry,
          template: compile(stage.stage, path, undefined, `${path}[*]`),
          items: stage.items,
          concurrency: stage.concurrency ?? Number.POSITIVE_INFINITY,
          failure: stage.failure ?? 'fail-fast',
          merge: stage.merge,
          harmony: stage.harmony,
          minSuccesses: stage.minSuccesses,
        };
      }
      case 'approval':
        return {
          kind: 'approval',
          id,
          path,
          labels,
          timeoutMs: undefined,
          retry,
          prompt: stage.prompt,
          schema: stage.schema,
        };
      case 'route': {
        const { select } = stage;
        if (typeof select !== 'function') agents.add(select.agent);
        const caseNames = Object.keys(stage.cases);
        return {
          kind: 'route',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs,
          retry,
          children: caseNames.map((name) => compile(stage.cases[name] as StageDefinition, path, undefined)),
          caseNames,
          select: typeof select === 'function' ? select : select.agent,
          fallbackCase: stage.default,
        };
      }
      case 'macro': {
        const sub = (byName.get(stage.macro) as { def: Parsed }).def;
        const gates = namedChecks(sub.gates ?? [], env.predicates);
        for (const gate of gates) if (gate.kind === 'judge') agents.add(gate.agent);
        return {
          kind: 'macro',
          id,
          path,
          labels,
          timeoutMs: stage.timeoutMs,
          retry,
          macro: stage.macro,
          children: compileStages(sub, path, scoped(cx, path, labels, sub), cx),
          gates,
          fallbacks: fallbacksOf(sub, path),
        };
      }
    }
  };
  /** The fallback chain of sub-macro `sub` run at `path`, each compiled under `<path>/~<name>`. */
  const fallbacksOf = (sub: Parsed, path: string): CompiledFallback[] => {
    const fallbacks: CompiledFallback[] = [];
    const tried = new Set([sub.name]);
    let name = sub.fallback;
    while (name !== undefined && fallbacks.length < env.maxFallbackDepth && !tried.has(name)) {
      tried.add(name);
      const fallback = (byName.get(name) as { def: Parsed }).def;
      const at = `${path}/~${name}`;
      const gates = namedChecks(fallback.gates ?? [], env.predicates);
      for (const gate of gates) if (gate.kind === 'judge') agents.add(gate.agent);
      const own = scoped(cx, at, labels, fallback);
      // Its own scope even without labels, or its events would take the sub-macro's.
      if (cx.scopes.has(path) && !cx.scopes.has(at)) cx.scopes.set(at, own);
      const children = compileStages(fallback, at, own, cx);
      fallbacks.push({ macro: name, path: at, children, gates });
      name = fallback.fallback;
    }
    return fallbacks;
  };
  return def.stages.map((stage) => compile(stage, prefix, undefined));
}
