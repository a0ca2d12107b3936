/**
 * The Harmony Protocol: when the branches of a parallel group disagree, decide which
 * output the group returns, and say why. Outputs are grouped by agreement (equality,
 * chosen fields, or a comparator); if there is one group there is nothing to decide.
 * Otherwise the group's strategy (strategies/) picks a variant or produces a merge, and the decision
 * becomes a {@link DecisionRecord}. Decision rules are documented in docs/harmony.md.
 * @module
 */
import { isMacroError, MacroError } from '../../errors.js';
import type { DecisionRecord, DecisionVariant, ExcludedBranch } from '../../model/decision.js';
import type { HarmonyVariant } from '../../model/harmony.js';
import { canonicalJson, hashOf, isRecord, looseJson, own } from './canonical.js';
import { callUser, describeSafely, errorRecordOf, harmonyFailure } from './failure.js';
import { type HarmonyOptions, ruleOf } from './strategies.js';
import type { HarmonyRule } from './strategy.js';
import type { DecisionDraft, HarmonyBranch, HarmonyResolution, HarmonyServices } from './types.js';

/**
 * A parallel group's Harmony policy, compiled once with the catalogue.
 * {@link Harmony.resolve} is called with the settled branches of each run of the group.
 */
export class Harmony {
  readonly options: HarmonyOptions;
  readonly branches: readonly HarmonyBranch[];
  /** Branches that must succeed; fewer fails the group. */
  readonly minSuccesses: number;
  readonly #path: string;
  readonly #rule: HarmonyRule<HarmonyOptions>;
  readonly #comparison: DecisionRecord['comparison'];
  readonly #fields: readonly string[] | undefined;

  constructor(
    options: HarmonyOptions,
    path: string,
    branches: readonly HarmonyBranch[],
    minSuccesses: number,
  ) {
    this.options = options;
    this.branches = branches;
    this.minSuccesses = minSuccesses;
    this.#path = path;
    this.#rule = ruleOf(options);
    const compare = options.compare ?? 'equality';
    this.#comparison =
      compare === 'equality' ? 'equality' : typeof compare === 'function' ? 'comparator' : 'fields';
    this.#fields = typeof compare === 'object' ? compare.fields : undefined;
  }

  /**
   * Decides the group's output from its settled branches: `outputs[i]` for each branch
   * that succeeded, `failures` (in the order they happened) for the others.
   * @throws the first failure when fewer than `minSuccesses` branches succeeded and
   * `minSuccesses` is every branch; `PARALLEL_FAILED` when a smaller quorum is missed;
   * `HARMONY_FAILED` when a strategy cannot decide; the signal's reason once aborted.
   */
  async resolve(
    outputs: readonly unknown[],
    failures: ReadonlyMap<number, unknown>,
    services: HarmonyServices,
  ): Promise<HarmonyResolution> {
    services.signal.throwIfAborted();
    const { excluded, succeeded } = this.#settle(outputs, failures);
    const { variants, keys } = this.#group(succeeded);
    const groups = new Set(variants.map((v) => v.group)).size;
    if (groups <= 1) return { output: (variants[0] as HarmonyVariant).output };

    const pick = await this.#rule.decide(this.options, variants, services, this.#path);
    const output = pick.winner !== undefined ? (variants[pick.winner] as HarmonyVariant).output : pick.output;
    const same = this.#agreement(output, variants, keys);
    const decision: DecisionDraft = {
      version: 1,
      strategy: this.options.strategy,
      comparison: this.#comparison,
      ...(this.#fields === undefined ? {} : { fields: this.#fields }),
      ...(pick.winner === undefined ? {} : { winner: pick.winner }),
      output,
      ...(pick.scores === undefined ? {} : { scores: pick.scores }),
      rationale: pick.rationale,
      tie: pick.tie,
      ...(pick.fallback === undefined ? {} : { fallback: pick.fallback }),
      variants: variants.map((v, i) => this.#record(v, keys?.[i], output, same[i] as boolean)),
      losers: variants.filter((_, i) => !same[i]).map((v) => v.index),
      excluded,
    };
    return { output, decision };
  }

  // ── settling and grouping ────────────────────────────────────────────────

  #settle(outputs: readonly unknown[], failures: ReadonlyMap<number, unknown>) {
    const succeeded: Array<{ branch: HarmonyBranch; output: unknown }> = [];
    const excluded: ExcludedBranch[] = [];
    this.branches.forEach((branch, i) => {
      if (failures.has(i)) {
        excluded.push({ branch: branch.id, path: branch.path, error: errorRecordOf(failures.get(i)) });
      } else succeeded.push({ branch, output: outputs[i] });
    });
    if (succeeded.length < this.minSuccesses) {
      const first = failures.values().next().value;
      if (this.minSuccesses === this.branches.length) throw first;
      throw new MacroError(
        'PARALLEL_FAILED',
        `Quorum not reached at ${this.#path}: ${succeeded.length} of ${this.branches.length} branches succeeded, ${this.minSuccesses} needed`,
        { cause: first, path: this.#path, retryable: isMacroError(first) && first.retryable },
      );
    }
    return { succeeded, excluded };
  }

  /**
   * Variants with their agreement groups. For `equality`, `keys[i]` is the canonical JSON
   * of variant i's output (reused for its hash); otherwise keys are made only on a conflict.
   */
  #group(succeeded: ReadonlyArray<{ branch: HarmonyBranch; output: unknown }>) {
    const compare = this.options.compare;
    const keys =
      this.#comparison === 'equality' ? succeeded.map(({ output }) => this.#json(output)) : undefined;
    const variants: HarmonyVariant[] = [];
    const groupOf = new Map<string, number>();
    const representatives: unknown[] = [];
    succeeded.forEach(({ branch, output }, index) => {
      let group: number;
      if (typeof compare === 'function') {
        group = representatives.findIndex((rep) => this.#same(compare, rep, output));
        if (group === -1) group = representatives.push(output) - 1;
      } else {
        const key = keys?.[index] ?? this.#fieldsKey(output);
        group = groupOf.get(key) ?? groupOf.size;
        groupOf.set(key, group);
      }
      variants.push({ index, branch: branch.id, path: branch.path, output, group });
    });
    return { variants, keys };
  }

  /** Whether each variant agrees with `output`, under the group's comparison. */
  #agreement(
    output: unknown,
    variants: readonly HarmonyVariant[],
    keys: readonly string[] | undefined,
  ): boolean[] {
    const compare = this.options.compare;
    if (typeof compare === 'function') return variants.map((v) => this.#same(compare, output, v.output));
    if (keys !== undefined) {
      const key = this.#json(output);
      return keys.map((k) => k === key);
    }
    const key = this.#fieldsKey(output);
    return variants.map((v) => this.#fieldsKey(v.output) === key);
  }

  #record(
    variant: HarmonyVariant,
    key: string | undefined,
    chosen: unknown,
    agrees: boolean,
  ): DecisionVariant {
    const record: DecisionVariant = { ...variant, hash: hashOf(key ?? looseJson(variant.output)) };
    if (agrees) return record;
    const differs = this.#differs(chosen, variant.output);
    return differs.length === 0 ? record : { ...record, differs };
  }

  /** Top-level fields (for `fields`, the compared ones) in which two objects differ; none for anything else. */
  #differs(chosen: unknown, output: unknown): string[] {
    try {
      if (!isRecord(output) || !isRecord(chosen)) return [];
      const fields = this.#fields ?? [...new Set([...Object.keys(chosen), ...Object.keys(output)])].sort();
      return fields.filter((f) => looseJson(own(chosen, f)) !== looseJson(own(output, f)));
    } catch {
      return []; // an output that cannot be read (a revoked proxy, a throwing trap) has no listed fields
    }
  }

  /** What `fields` comparison compares, as canonical JSON: the listed fields of an object, or a whole non-object. */
  #fieldsKey(output: unknown): string {
    let picked: unknown;
    try {
      picked = isRecord(output)
        ? { fields: (this.#fields as readonly string[]).map((field) => own(output, field)) }
        : { whole: output };
    } catch (error) {
      throw harmonyFailure(
        this.#path,
        `outputs must be JSON-serialisable to be compared (${describeSafely(error)})`,
        error,
      );
    }
    return this.#json(picked);
  }

  #same(compare: (a: unknown, b: unknown) => boolean, a: unknown, b: unknown): boolean {
    return Boolean(callUser(this.#path, 'compare', () => compare(a, b)));
  }

  #json(value: unknown): string {
    try {
      return canonicalJson(value);
    } catch (error) {
      throw harmonyFailure(
        this.#path,
        `outputs must be JSON-serialisable to be compared (${describeSafely(error)})`,
        error,
      );
    }
  }
}
