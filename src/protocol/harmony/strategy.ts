/**
 * What a Harmony strategy is: its options' schema, the catalogue checks and the agent
 * those options name, and how it decides a conflict. One strategy is one file in
 * strategies/; strategies.ts lists them.
 * @internal
 * @module
 */
import { z } from 'zod';
import type { ConfigIssue } from '../../errors.js';
import { fn } from '../../internal/function-schema.js';
import type { HarmonyVariant } from '../../model/harmony.js';
import type { HarmonyServices, Pick } from './types.js';

/** The schema of the options every strategy takes (`compare`), to spread into a strategy's own. */
export const harmonyCommon = {
  compare: z
    .union([
      z.literal('equality'),
      z.strictObject({ fields: z.array(z.string().min(1)).min(1, 'compare.fields must not be empty') }),
      fn('compare'),
    ])
    .optional(),
};

/** What a strategy's catalogue check sees of the group that declares it. */
interface HarmonyGroupFacts {
  readonly kind: 'parallel' | 'forEach';
  /** Branch ids of a parallel group; `undefined` for a forEach, whose elements are known only at run time. */
  readonly branches: readonly string[] | undefined;
  /** Path of the group's `harmony` option. */
  readonly path: string;
  /** Where the group is, for messages: `in macro "m"`. */
  readonly where: string;
}

/** An agent a strategy's options name: its id, the option that names it, and its role for messages. */
interface HarmonyAgentNeed {
  readonly id: string;
  readonly field: string;
  /** `judge agent`. */
  readonly role: string;
}

/** One Harmony strategy, for options `H` (`{ strategy: name, ... }`). */
export interface HarmonyRule<H extends { readonly strategy: string }> {
  /** The options' shape: `strategy` as a literal, `...harmonyCommon`, the strategy's own fields. */
  readonly schema: z.ZodObject;
  /** The agent the options name, if any: the compiler checks that it is registered. */
  agent?(options: H): HarmonyAgentNeed | undefined;
  /** Adds what is wrong with `options` for `group` to `issues` (beyond the schema's shape). */
  check?(options: H, group: HarmonyGroupFacts, issues: ConfigIssue[]): void;
  /** Decides among `variants`, which disagree, for the group at `path`. */
  decide(
    options: H,
    variants: readonly HarmonyVariant[],
    services: HarmonyServices,
    path: string,
  ): Pick | Promise<Pick>;
}
