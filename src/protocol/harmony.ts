/**
 * The Harmony Protocol: when the branches of a parallel group disagree, decide which
 * output the group returns, and say why. Outputs are grouped by agreement (equality,
 * chosen fields, or a comparator); if there is one group there is nothing to decide.
 * Otherwise a strategy (majority, weighted, priority, judge, custom) picks a variant
 * or produces a merge, and the decision becomes a {@link DecisionRecord}.
 * Decision rules are documented in docs/harmony.md.
 * @module
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describe, type ErrorRecord, isMacroError, MacroError, toErrorRecord } from '../errors.js';
import { jsonText } from '../internal/json-text.js';
import { formatIssues, type IssueFormat } from '../internal/zod-issues.js';
import type {
  DecisionRecord,
  DecisionVariant,
  ExcludedBranch,
  HarmonyChoice,
  HarmonyJudgeInput,
  HarmonyOptions,
  HarmonyVariant,
  MacroContext,
} from '../macro/types.js';

/** A decision before the engine gives it an id, a path and a time. */
export type DecisionDraft = Omit<DecisionRecord, 'id' | 'path' | 'at'>;

/** What resolving a parallel group's outputs gives: the output, and the decision if there was a conflict. */
export interface HarmonyResolution {
  readonly output: unknown;
  readonly decision?: DecisionDraft;
}

/** What the engine lends a resolution. @internal */
export interface HarmonyServices {
  readonly context: MacroContext;
  /** The group's signal: once aborted, nothing is decided and its reason is thrown. */
  readonly signal: AbortSignal;
  /** Invokes agent `id` on `input` under the group's scope and scheduling budget. */
  judge(id: string, input: HarmonyJudgeInput): Promise<unknown>;
}

/** A branch of the group, as harmony needs it. */
export interface HarmonyBranch {
  readonly id: string;
  readonly path: string;
}

/** What a judge agent (or a custom resolver) must return. @internal */
const ChoiceSchema = z.object({
  winner: z.number().int().min(0).optional(),
  output: z.unknown().optional(),
  rationale: z.string().optional(),
  scores: z.array(z.number().finite()).optional(),
});

/** `winner: message`, `value: message`. */
const CHOICE_ISSUES: IssueFormat = { keys: 'dots', place: 'before', root: 'value' };

/**
 * Holds the sorted copy of an object for {@link canonicalJson}. Its chain has no
 * `Object.prototype`, so no `__proto__` setter: assigning a `__proto__` key makes an own
 * property like any other key, and is compared (a plain `{}` would swallow it).
 */
const SORTED_KEYS: object = Object.create(null);

/**
 * Canonical JSON: object keys sorted, so key order never makes two outputs differ. Every
 * own enumerable key counts, `__proto__` included. An object whose keys are already in
 * order is serialised as it is, without a copy.
 */
function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const keys = Object.keys(v);
      let ordered = true;
      for (let i = 1; i < keys.length && ordered; i++)
        ordered = (keys[i - 1] as string) <= (keys[i] as string);
      if (ordered) return v;
      keys.sort();
      const sorted = Object.create(SORTED_KEYS) as Record<string, unknown>;
      for (const key of keys) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }) ?? 'undefined'
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `record[key]` if it is the record's own property: never a value from its prototype chain. */
const own = (record: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * Canonical JSON, or canonical JSON-like text for what JSON cannot represent (a BigInt,
 * a cycle, a revoked proxy…; see `jsonText`), for hashes and diffs only. Never throws.
 * That text stops after a megabyte: walking a value JSON cannot represent must not hang.
 */
function looseJson(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return jsonText(value, { sortKeys: true, max: 1_000_000 });
  }
}

/** `describe(value)`, or the value's JSON-like text where that throws (a revoked proxy, a null-prototype object). */
function describeSafely(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return jsonText(value, { max: 10_000 });
  }
}

/** Whether `value` is a `HARMONY_FAILED` error already; `false` for anything unreadable (a revoked proxy). */
function isHarmonyFailure(value: unknown): value is MacroError {
  try {
    return isMacroError(value) && value.code === 'HARMONY_FAILED';
  } catch {
    return false;
  }
}

/**
 * `cause`, or an `Error` with its description when `toErrorRecord` cannot read it (a
 * revoked proxy): the engine records every failure's causes, and that must not throw.
 */
function recordable(cause: unknown): unknown {
  try {
    toErrorRecord(cause);
    return cause;
  } catch {
    return new Error(describeSafely(cause));
  }
}

/** `toErrorRecord(error)`, or a `NonError` record of its description where reading the error throws. */
function errorRecordOf(error: unknown): ErrorRecord {
  try {
    return toErrorRecord(error);
  } catch {
    return { name: 'NonError', code: 'UNKNOWN', message: describeSafely(error) };
  }
}

const hashOf = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 16);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const names = (variants: readonly HarmonyVariant[]) => variants.map((v) => v.branch).join(', ');

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

    const pick = await this.#decide(variants, services);
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
      throw this.#failure(
        `outputs must be JSON-serialisable to be compared (${describeSafely(error)})`,
        error,
      );
    }
    return this.#json(picked);
  }

  #same(compare: (a: unknown, b: unknown) => boolean, a: unknown, b: unknown): boolean {
    return Boolean(this.#call('compare', () => compare(a, b)));
  }

  #json(value: unknown): string {
    try {
      return canonicalJson(value);
    } catch (error) {
      throw this.#failure(
        `outputs must be JSON-serialisable to be compared (${describeSafely(error)})`,
        error,
      );
    }
  }

  // ── strategies ───────────────────────────────────────────────────────────

  async #decide(variants: readonly HarmonyVariant[], services: HarmonyServices): Promise<Pick> {
    const options = this.options;
    switch (options.strategy) {
      case 'majority':
        return majority(variants);
      case 'weighted':
        return weighted(
          variants,
          variants.map((v) => {
            const c = this.#call('confidence', () => options.confidence(v.output, v.branch));
            if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
              throw this.#failure(
                `confidence of branch "${v.branch}" must be a finite number ≥ 0, got ${describeSafely(c)}`,
              );
            }
            return c;
          }),
        );
      case 'priority':
        return priority(variants, options.order);
      case 'judge':
        return this.#judge(options.judge, options.onJudgeFailure ?? 'majority', variants, services);
      case 'custom': {
        let raw: unknown;
        try {
          raw = await options.resolve(variants, services.context);
        } catch (error) {
          throw this.#failure(`resolve threw: ${describeSafely(error)}`, error);
        }
        const choice = this.#choice(raw, variants.length, false);
        if (typeof choice === 'string') throw this.#failure(`resolve returned ${choice}`);
        return { ...choice, rationale: choice.rationale ?? 'Decided by the custom resolver.', tie: false };
      }
    }
  }

  async #judge(
    judge: string,
    onFailure: 'majority' | 'fail',
    variants: readonly HarmonyVariant[],
    services: HarmonyServices,
  ): Promise<Pick> {
    let error: unknown;
    try {
      const raw = await services.judge(judge, {
        intent: services.context.intent,
        path: this.#path,
        variants,
      });
      const choice = this.#choice(raw, variants.length, true);
      if (typeof choice !== 'string') return { ...choice, rationale: choice.rationale as string, tie: false };
      error = new MacroError('INVALID_AGENT_OUTPUT', `Judge "${judge}" returned ${choice} at ${this.#path}`, {
        path: this.#path,
      });
    } catch (caught) {
      // A cancelled run or a timed-out group is not a judge failure: nothing is decided.
      if (services.signal.aborted) throw services.signal.reason;
      error = caught;
    }
    if (onFailure === 'fail') throw this.#failure(`judge "${judge}" failed: ${describeSafely(error)}`, error);
    const vote = majority(variants);
    return {
      ...vote,
      rationale: `Judge "${judge}" failed (${describeSafely(error)}); fell back to majority vote. ${vote.rationale}`,
      fallback: { strategy: 'majority', error: errorRecordOf(error) },
    };
  }

  /** A valid choice, or a description of what is wrong with `raw`. */
  #choice(raw: unknown, count: number, needsRationale: boolean): HarmonyChoice | string {
    try {
      return this.#readChoice(raw, count, needsRationale);
    } catch (error) {
      return `a value that cannot be read (${describeSafely(error)})`; // a revoked proxy, a throwing getter
    }
  }

  #readChoice(raw: unknown, count: number, needsRationale: boolean): HarmonyChoice | string {
    // Only the answer's own properties count: nothing is read from its prototype chain.
    const answer = isRecord(raw)
      ? {
          winner: own(raw, 'winner'),
          output: own(raw, 'output'),
          rationale: own(raw, 'rationale'),
          scores: own(raw, 'scores'),
        }
      : raw;
    const parsed = ChoiceSchema.safeParse(answer);
    if (!parsed.success) {
      return `an invalid choice (${formatIssues(parsed.error.issues, CHOICE_ISSUES)})`;
    }
    const { winner, rationale, scores } = parsed.data;
    const merged = isRecord(raw) && Object.hasOwn(raw, 'output');
    if ((winner === undefined) === !merged) return 'both or neither of { winner } and { output }';
    if (winner !== undefined && winner >= count) return `winner ${winner}, but there are ${count} variants`;
    if (needsRationale && (rationale === undefined || rationale.trim() === '')) return 'no rationale';
    if (scores !== undefined && scores.length !== count)
      return `${scores.length} scores for ${count} variants`;
    const base: { rationale?: string; scores?: readonly number[] } = {};
    if (rationale !== undefined) base.rationale = rationale;
    if (scores !== undefined) base.scores = scores;
    return winner === undefined
      ? { ...base, output: (answer as { output: unknown }).output }
      : { ...base, winner };
  }

  #call<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw this.#failure(`${what} threw: ${describeSafely(error)}`, error);
    }
  }

  #failure(detail: string, cause?: unknown): MacroError {
    if (isHarmonyFailure(cause)) return cause;
    return new MacroError('HARMONY_FAILED', `Harmony could not decide at ${this.#path}: ${detail}`, {
      cause: recordable(cause),
      path: this.#path,
    });
  }
}

/** What a strategy decided, before it becomes a record. */
type Pick = (
  | { readonly winner: number; readonly output?: undefined }
  | { readonly output: unknown; readonly winner?: undefined }
) & {
  readonly rationale: string;
  readonly tie: boolean;
  readonly scores?: readonly number[];
  readonly fallback?: { readonly strategy: 'majority'; readonly error: ErrorRecord };
};

/** Members of each group, groups in order of first appearance. */
function membersByGroup(variants: readonly HarmonyVariant[]): HarmonyVariant[][] {
  const groups: HarmonyVariant[][] = [];
  for (const v of variants) {
    const group = groups[v.group];
    if (group === undefined) groups[v.group] = [v];
    else group.push(v);
  }
  return groups;
}

/** The groups with the highest total; ties keep the earliest group first. */
function best(totals: readonly number[]): number[] {
  let top = Number.NEGATIVE_INFINITY;
  for (const t of totals) if (t > top) top = t;
  return totals.flatMap((t, g) => (t === top ? [g] : []));
}

/** The largest group wins; a tie goes to the group whose first branch comes first. */
function majority(variants: readonly HarmonyVariant[]): Pick {
  const groups = membersByGroup(variants);
  const votes = groups.map((g) => g.length);
  const leaders = best(votes);
  const group = groups[leaders[0] as number] as HarmonyVariant[];
  const winner = (group[0] as HarmonyVariant).index;
  const scores = variants.map((v) => votes[v.group] as number);
  const others = variants.filter((v) => v.group !== group[0]?.group);
  const rationale =
    leaders.length > 1
      ? `No majority: ${leaders.map((g) => `(${names(groups[g] as HarmonyVariant[])})`).join(' and ')} have ${plural(votes[leaders[0] as number] as number, 'vote')} each; the tie goes to the earliest branch, ${group[0]?.branch}.`
      : `${group.length} of ${variants.length} variants agree (${names(group)}); ${names(others)} ${others.length === 1 ? 'differs' : 'differ'}.`;
  return { winner, scores, rationale, tie: leaders.length > 1 };
}

/**
 * The group with the largest summed confidence wins (ties: earliest branch); within it,
 * the variant with the highest confidence (ties: earliest branch).
 */
function weighted(variants: readonly HarmonyVariant[], confidence: readonly number[]): Pick {
  const groups = membersByGroup(variants);
  const totals = groups.map((g) => g.reduce((sum, v) => sum + (confidence[v.index] as number), 0));
  const leaders = best(totals);
  const group = groups[leaders[0] as number] as HarmonyVariant[];
  const winner = group.reduce((a, b) =>
    (confidence[b.index] as number) > (confidence[a.index] as number) ? b : a,
  );
  const total = totals[leaders[0] as number] as number;
  const rationale =
    leaders.length > 1
      ? `No single leader: ${leaders.map((g) => `(${names(groups[g] as HarmonyVariant[])})`).join(' and ')} have total confidence ${total} each; the tie goes to the earliest branch, ${group[0]?.branch}.`
      : `(${names(group)}) has the highest total confidence, ${total} (others: ${totals.filter((_, g) => g !== leaders[0]).join(', ')}); ${winner.branch} is its most confident variant.`;
  return { winner: winner.index, scores: confidence, rationale, tie: leaders.length > 1 };
}

/** The variant of the first branch in `order` that succeeded; unlisted branches rank last, in branch order. */
function priority(variants: readonly HarmonyVariant[], order: readonly string[]): Pick {
  const rank = (v: HarmonyVariant) => {
    const r = order.indexOf(v.branch);
    return r === -1 ? order.length + v.index : r;
  };
  const winner = variants.reduce((a, b) => (rank(b) < rank(a) ? b : a));
  const rationale = order.includes(winner.branch)
    ? `${winner.branch} ranks highest in the priority order (${order.join(' > ')}) among the branches that succeeded.`
    : `No branch in the priority order (${order.join(' > ')}) succeeded; ${winner.branch} is the first branch by position.`;
  return { winner: winner.index, rationale, tie: false };
}
