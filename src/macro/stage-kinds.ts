/**
 * Every stage kind's rule, once, by the `kind` of its definition. The walks over
 * definitions (catalogue-graph.ts, catalogue-meaning.ts, macro-graph.ts) and the compiler
 * look a stage's rule up here; a compiled node carries its own (`node.rule`).
 * @internal
 * @module
 */
import type { StageKind } from '../model/result.js';
import { AGENT } from './kinds/agent.js';
import { APPROVAL } from './kinds/approval.js';
import { FOR_EACH } from './kinds/for-each.js';
import { PARALLEL } from './kinds/parallel.js';
import { RETRYABLE } from './kinds/retryable.js';
import { ROUTE } from './kinds/route.js';
import { SEQUENCE } from './kinds/sequence.js';
import { SUB_MACRO } from './kinds/sub-macro.js';
import type { DefinitionRule } from './stage-kind.js';
import type { StageDefinition } from './types.js';

/** The definition of kind `K`. */
type DefinitionOf<K> = Extract<StageDefinition, { kind: K }>;

/**
 * The rules by definition kind. Its `satisfies` holds it to both lists of kinds: the
 * definitions' (`StageDefinition`) and the records' (`STAGE_KINDS`, plus the wrapper).
 */
const KINDS = {
  agent: AGENT,
  sequence: SEQUENCE,
  parallel: PARALLEL,
  forEach: FOR_EACH,
  route: ROUTE,
  approval: APPROVAL,
  macro: SUB_MACRO,
  retryable: RETRYABLE,
} satisfies { readonly [K in StageDefinition['kind'] | StageKind]: DefinitionRule<DefinitionOf<K>> };

/** The rule of stage definition `def` (parsed: its kind is one of the above). */
export function kindOf<D extends StageDefinition>(def: D): DefinitionRule<D> {
  return KINDS[def.kind] as DefinitionRule<any>;
}

/** Each rule once (retryable and forEach both nest a `stage`: their finds are merged by path step). */
const RULES: readonly DefinitionRule<any>[] = Object.values(KINDS);

/**
 * The stages nested in a definition of any shape, by every kind's keys whatever its
 * `kind` says, with their path steps; never throws. For the nesting limit, checked
 * before the schema: a `kind` that reads one way here and another to the schema (a
 * getter) cannot hide a deep tree from it.
 */
export function nestedAnyKind(stage: unknown): Array<readonly [unknown, string]> {
  const out: Array<readonly [unknown, string]> = [];
  // The first step of each list taken: two kinds that read one key find the same list.
  const taken: string[] = [];
  for (const rule of RULES) {
    let found: readonly (readonly [unknown, string])[];
    try {
      found = rule.nested(stage);
    } catch {
      continue; // a hostile value (a throwing getter, a revoked proxy): the schema reports it
    }
    const first = found[0];
    if (first === undefined || taken.includes(first[1])) continue;
    taken.push(first[1]);
    for (const entry of found) if (entry[0] !== undefined) out.push(entry);
  }
  return out;
}
