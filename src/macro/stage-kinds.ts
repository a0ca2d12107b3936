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

/** The rule of a definition of any shape, or undefined when its kind is none of ours; never throws. */
export function kindOfAny(def: unknown): DefinitionRule<any> | undefined {
  try {
    const { kind } = def as { kind?: unknown };
    return typeof kind === 'string' && Object.hasOwn(KINDS, kind)
      ? KINDS[kind as keyof typeof KINDS]
      : undefined;
  } catch {
    return undefined; // not an object, or a hostile one: the schema reports it
  }
}
