/**
 * Compiles macro definitions once, at load time: zod shape first, then meaning
 * (duplicates, unknown agents, fallback and sub-macro cycles, retry values). Either
 * every macro compiles, or one `MacroConfigurationError` lists every problem.
 * @internal
 * @module
 */
import { type ConfigIssue, describe, MacroConfigurationError } from '../errors.js';
import { issuePath } from '../internal/zod-issues.js';
import { checkCycles, checkDepth, reachableIssues, readName, tooDeep } from './catalogue-graph.js';
import { checkMeaning } from './catalogue-meaning.js';
import type { CompileEnvironment, Parsed, ParsedCatalogue } from './compile-environment.js';
import type { CompiledBody, CompiledFallback, CompiledMacro, CompiledNode } from './compiled.js';
import type { CompileContext } from './stage-kind.js';
import { kindOf } from './stage-kinds.js';
import { namedChecks } from './stage-settings.js';
import { MacroDefinitionSchema } from './types.js';

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
  /** Macro `name` compiled to run at `path`, under `labels`: its stages and its own gates. */
  const body = (name: string, path: string, under: Readonly<Record<string, string>>): CompiledBody => {
    const macro = (byName.get(name) as { def: Parsed }).def;
    const gates = namedChecks(macro.gates ?? [], env.predicates);
    for (const gate of gates) if (gate.kind === 'judge') agents.add(gate.agent);
    return { macro: name, children: compileStages(macro, path, under, cx), gates };
  };
  // Every node is written out as one literal by its kind's rule, fields in the same order:
  // a spread of shared base fields gave each node a hidden class of its own, and the
  // engine's property reads went megamorphic (a stub-cache miss per read in large macros).
  const context: CompileContext = {
    env,
    defaults,
    labels,
    agents,
    compile: (stage, parentPath, at, retry) =>
      kindOf(stage).compile(stage, { parentPath, retry, at }, context),
    body: (name, path) => {
      const sub = (byName.get(name) as { def: Parsed }).def;
      return body(name, path, scoped(cx, path, labels, sub));
    },
    fallbacks(name, path) {
      const fallbacks: CompiledFallback[] = [];
      const tried = new Set([name]);
      let next = (byName.get(name) as { def: Parsed }).def.fallback;
      while (next !== undefined && fallbacks.length < env.maxFallbackDepth && !tried.has(next)) {
        tried.add(next);
        const fallback = (byName.get(next) as { def: Parsed }).def;
        const at = `${path}/~${next}`;
        const own = scoped(cx, at, labels, fallback);
        // Its own scope even without labels, or its events would take the sub-macro's.
        if (cx.scopes.has(path) && !cx.scopes.has(at)) cx.scopes.set(at, own);
        const { children, gates } = body(next, at, own);
        fallbacks.push({ macro: next, path: at, children, gates });
        next = fallback.fallback;
      }
      return fallbacks;
    },
  };
  return def.stages.map((stage) => context.compile(stage, prefix));
}
