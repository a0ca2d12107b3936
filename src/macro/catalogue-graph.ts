/**
 * Walks over a catalogue as a graph: stages nested in stages, macros that name others as
 * sub-macros or fallbacks. Every walk across macros is iterative, with an explicit stack:
 * a catalogue is input, and a chain of thousands of macros must be refused with a
 * `MacroConfigurationError`, not crash the loader with a stack overflow.
 * @internal
 * @module
 */
import type { ConfigIssue } from '../errors.js';
import { kindOf, nestedAnyKind } from './stage-kinds.js';
import type { MacroDefinition, StageDefinition } from './types.js';

/**
 * Most levels stages may be nested (each sequence, parallel, forEach, route, retryableStage and
 * sub-macro counts one, across sub-macros): deeper trees are refused at load, before
 * they could overflow the stack while being parsed or run.
 */
const MAX_NESTING = 100;

/** A macro of the catalogue and where it was defined (`macros[3]`). */
interface CatalogueEntry {
  readonly def: MacroDefinition;
  readonly at: string;
}
export type Catalogue = ReadonlyMap<string, CatalogueEntry>;

/** The name of a definition, if it has a string one; never throws. */
export function readName(definition: unknown): string | undefined {
  try {
    const name = (definition as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  } catch {
    // null or undefined, or a hostile definition (a revoked proxy, a throwing getter): no name
  }
  return undefined;
}

/** A macro definition's own stages of any shape, with their path steps; never throws. */
function stagesOf(definition: unknown): Array<[unknown, string]> {
  const out: Array<[unknown, string]> = [];
  try {
    const { stages } = definition as { stages?: unknown };
    if (Array.isArray(stages)) for (let k = 0; k < stages.length; k++) out.push([stages[k], `.stages[${k}]`]);
  } catch {
    // not an object, or a hostile one: the schema reports it
  }
  return out;
}

/**
 * An issue when a definition's own stages nest more than MAX_NESTING levels. Checked
 * before the schema, whose recursive parse would overflow the stack first.
 */
export function tooDeep(definition: unknown, at: string): ConfigIssue | undefined {
  // A first entry that is not a stage has no depth and nothing nested: popped last, it
  // ends the walk as an empty stack does.
  // Stryker disable next-line ArrayDeclaration: see above
  const pending: Array<{ stage: unknown; path: string; depth: number }> = [];
  for (const [stage, path] of stagesOf(definition)) pending.push({ stage, path: `${at}${path}`, depth: 1 });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.depth > MAX_NESTING) {
      return {
        path: next.path,
        message: `Stages are nested more than ${MAX_NESTING} levels deep; at most ${MAX_NESTING} are supported`,
      };
    }
    for (const [stage, path] of nestedAnyKind(next.stage)) {
      pending.push({ stage, path: `${next.path}${path}`, depth: next.depth + 1 });
    }
  }
  return undefined;
}

/** Calls `visit` on every stage of `def` with its depth (1 for a macro's own stages). */
function eachStage(def: MacroDefinition, visit: (stage: StageDefinition, depth: number) => void): void {
  // Recursive within one macro: its nesting is at most MAX_NESTING (checked by tooDeep).
  const walk = (stage: StageDefinition, depth: number): void => {
    visit(stage, depth);
    for (const [child] of kindOf(stage).nested(stage)) walk(child, depth + 1);
  };
  for (const stage of def.stages) walk(stage, 1);
}

/** The macro `def` falls back to, if it has one. */
export function fallbackOf(def: MacroDefinition): string[] {
  return def.fallback === undefined ? [] : [def.fallback];
}

/** The macros `def` names as sub-macros, at any depth of its stages. */
export function subMacros(def: MacroDefinition): string[] {
  const out: string[] = [];
  eachStage(def, (stage) => {
    for (const name of kindOf(stage).runs?.(stage) ?? []) out.push(name);
  });
  return out;
}

/**
 * `name` and the fallbacks a sub-macro stage running it may take after it (its fallback,
 * that one's…): each runs in that stage's place. Stops at an unknown or repeated name.
 */
function withFallbacks(catalogue: Catalogue, name: string): string[] {
  const chain = [name];
  for (let next = catalogue.get(name)?.def.fallback; next !== undefined && !chain.includes(next); ) {
    chain.push(next);
    next = catalogue.get(next)?.def.fallback;
  }
  return chain;
}

/**
 * Reports each cycle through fallbacks (or sub-macros, a sub-macro's fallbacks counting
 * as sub-macros too) once, at the first macro of the cycle.
 */
export function checkCycles(catalogue: Catalogue, edge: 'fallback' | 'macro', issues: ConfigIssue[]): void {
  const named =
    edge === 'fallback'
      ? fallbackOf
      : (def: MacroDefinition) => subMacros(def).flatMap((sub) => withFallbacks(catalogue, sub));
  const done = new Set<string>();
  const reported = new Set<string>();
  for (const start of catalogue.keys()) {
    // Only saves work: a walk from a done macro skips every macro it names, and finds nothing.
    if (done.has(start)) continue;
    // Depth-first, iteratively: `trail` is the path from `start`, `onTrail` where each name is on it.
    const trail: Array<{ name: string; next: string[] }> = [];
    const onTrail = new Map<string, number>();
    const enter = (name: string) => {
      onTrail.set(name, trail.length);
      trail.push({ name, next: named((catalogue.get(name) as CatalogueEntry).def) });
    };
    enter(start);
    while (trail.length > 0) {
      const top = trail[trail.length - 1] as { name: string; next: string[] };
      const target = top.next.pop();
      if (target === undefined) {
        trail.pop();
        onTrail.delete(top.name);
        done.add(top.name);
        continue;
      }
      if (!catalogue.has(target) || done.has(target)) continue;
      const at = onTrail.get(target);
      if (at === undefined) {
        enter(target);
        continue;
      }
      const cycle = [...trail.slice(at).map((t) => t.name), target];
      // Names hold no ','. A cycle is found again only through the same edge named twice
      // (its macros stay on the trail, in the same order, until done): the same key.
      const key = cycle.join(',');
      if (reported.has(key)) continue;
      reported.add(key);
      const first = catalogue.get(cycle[0] as string) as CatalogueEntry;
      issues.push({
        path: edge === 'fallback' ? `${first.at}.fallback` : `${first.at}.stages`,
        message: `${edge === 'fallback' ? 'Fallback' : 'Sub-macro'} cycle: ${cycle.join(' → ')}`,
      });
    }
  }
}

/**
 * Reports macros whose stages, with their sub-macros' stages (and their fallbacks'), nest
 * more than MAX_NESTING levels. The catalogue must have no sub-macro cycle.
 */
export function checkDepth(catalogue: Catalogue, issues: ConfigIssue[]): void {
  // Per macro: the depth of its own stages, and the depth at which it names each sub-macro.
  const own = new Map<string, { depth: number; subs: Array<[number, string]> }>();
  for (const [name, { def }] of catalogue) {
    const shape = { depth: 0, subs: [] as Array<[number, string]> };
    eachStage(def, (stage, depth) => {
      shape.depth = Math.max(shape.depth, depth);
      for (const name of kindOf(stage).runs?.(stage) ?? []) {
        if (!catalogue.has(name)) continue;
        for (const sub of withFallbacks(catalogue, name)) {
          if (catalogue.has(sub)) shape.subs.push([depth, sub]);
        }
      }
    });
    own.set(name, shape);
  }
  // Depths through sub-macros, children before parents, with an explicit stack.
  const depths = new Map<string, number>();
  for (const start of catalogue.keys()) {
    const stack = [start];
    while (stack.length > 0) {
      const name = stack[stack.length - 1] as string;
      // Only saves work: a known depth, computed again, is the same depth.
      // Stryker disable next-line BlockStatement: see above
      if (depths.has(name)) {
        stack.pop();
        continue;
      }
      const shape = own.get(name) as { depth: number; subs: Array<[number, string]> };
      const pending = shape.subs.filter(([, sub]) => !depths.has(sub)).map(([, sub]) => sub);
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      let depth = shape.depth;
      for (const [at, sub] of shape.subs) depth = Math.max(depth, at + (depths.get(sub) as number));
      depths.set(name, depth);
      stack.pop();
    }
  }
  for (const { def, at } of catalogue.values()) {
    const depth = depths.get(def.name) as number;
    if (depth > MAX_NESTING) {
      issues.push({
        path: `${at}.stages`,
        message: `Stages of macro "${def.name}" are nested ${depth} levels deep through its sub-macros; at most ${MAX_NESTING} are supported`,
      });
    }
  }
}

/** Missing-agent issues of `name` and of every macro a run of it can reach (sub-macros, fallbacks). */
export function reachableIssues(
  name: string,
  catalogue: Catalogue,
  missing: ReadonlyMap<string, readonly ConfigIssue[]>,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  const pending = [name];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    out.push(...(missing.get(next) ?? []));
    const def = catalogue.get(next)?.def;
    if (def === undefined) continue;
    pending.push(...fallbackOf(def), ...subMacros(def));
  }
  return out;
}
