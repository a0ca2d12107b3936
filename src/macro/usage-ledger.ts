/**
 * A run's token usage as its agents report it (`invocation.usage`): summed per agent and
 * model for the run, per stage (`StageRecord.usage`) and per stage attempt (the timeline's
 * stage spans). Made on the first report, so a run whose agents report none carries nothing.
 * @internal
 * @module
 */
import { BudgetExceededError, MacroError } from '../errors.js';
import { clip, safeGet, safeText } from '../internal/safe.js';
import type { UsageProgress } from '../model/progress.js';
import type { ModelPrice, RunUsage, TokenUsage, UsageRow, UsageTotals } from '../model/usage.js';
import type { StageRecord, TimelineEntry } from './types.js';

/** What a run may use (`RunOptions.budget`). */
interface RunTokenBudget {
  readonly maxTokens?: number | undefined;
  readonly maxCostUsd?: number | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Row = Mutable<UsageRow>;
type Counts = Record<(typeof COUNTS)[number], number>;
const COUNTS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens'] as const;

/** Adds `calls` calls' `counts` and `cost` to `totals`. */
function addInto(
  totals: Mutable<UsageTotals>,
  counts: Counts,
  cost: number | undefined,
  calls: number,
): void {
  totals.calls += calls;
  for (const field of COUNTS) totals[field] += counts[field];
  if (cost !== undefined) totals.costUsd = (totals.costUsd ?? 0) + cost;
}

/** Rows by agent and model. */
class Rows {
  readonly #rows = new Map<string, Row>();

  add(agent: string, model: string | undefined, counts: Counts, cost: number | undefined, calls = 1): void {
    const key = model === undefined ? agent : `${agent}\u0000${model}`;
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = { agent, model, calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0 };
      this.#rows.set(key, row);
    }
    addInto(row, counts, cost, calls);
  }

  /** The totals and rows so far (copies: later reports do not change them). */
  total(): RunUsage {
    const byAgent = [...this.#rows.values()].map((row) => ({ ...row }));
    return { ...sum(byAgent), byAgent };
  }
}

/** Sums reported usage per agent and model, for the run, its stages and their attempts. @internal */
export class UsageLedger {
  readonly #run = new Rows();
  readonly #stages = new Map<string, Rows>();
  readonly #attempts = new Map<string, Mutable<UsageTotals>>();
  readonly #prices: Readonly<Record<string, ModelPrice>>;
  /** Total tokens so far. */
  #used = 0;
  /** Total cost so far, of the calls on priced models. */
  #costUsd = 0;

  constructor(prices: Readonly<Record<string, ModelPrice>> = {}) {
    this.#prices = prices;
  }

  /** Tokens used so far. */
  get tokens(): number {
    return this.#used;
  }
  /** What the priced calls cost so far, in US dollars. */
  get costUsd(): number {
    return this.#costUsd;
  }

  /** The error of a run (`macro`) past its `budget`, or undefined while it is within it. */
  overBudget(budget: RunTokenBudget, macro: string): BudgetExceededError | undefined {
    const { maxTokens, maxCostUsd } = budget;
    if (maxTokens !== undefined && this.#used > maxTokens) {
      return new BudgetExceededError(macro, 'tokens', this.#used, maxTokens);
    }
    if (maxCostUsd !== undefined && this.#costUsd > maxCostUsd) {
      return new BudgetExceededError(macro, 'costUsd', this.#costUsd, maxCostUsd);
    }
    return undefined;
  }

  /**
   * Adds one call's `usage` by `agent` at `path` in its `attempt`; returns the counts as
   * checked (for the `usage` progress event). Throws `INVALID_OPTIONS` naming the field and
   * `path` when a count is not a whole number ≥ 0.
   */
  add(agent: string, usage: TokenUsage, path: string, attempt: number): UsageProgress {
    const counts = checkedCounts(usage, path);
    const model = readField(usage, 'model', path);
    if (model !== undefined && typeof model !== 'string') {
      throw new MacroError('INVALID_OPTIONS', `invocation.usage at ${path}: model must be a string`, {
        path,
      });
    }
    const cost = this.#count(agent, model, counts, path);
    const key = `${path}\u0000${attempt}`;
    let tally = this.#attempts.get(key);
    if (tally === undefined) {
      tally = { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0 };
      this.#attempts.set(key, tally);
    }
    addInto(tally, counts, cost, 1);
    return { type: 'usage', model, ...counts };
  }

  /**
   * Counts a stage record's usage, stored by an earlier process, into the run's (a resumed
   * run's totals and budget include the tokens its finished stages spent), with their calls;
   * costs are priced again with this run's prices. Rows that are not well-formed are left
   * out: stored data is read, never trusted.
   */
  restore(record: StageRecord): void {
    try {
      const rows = safeGet(safeGet(record, 'usage'), 'byAgent');
      if (!Array.isArray(rows)) return;
      for (const row of rows as unknown[]) {
        const agent = safeGet(row, 'agent');
        const model = safeGet(row, 'model');
        const calls = safeGet(row, 'calls');
        if (typeof agent !== 'string' || (model !== undefined && typeof model !== 'string')) continue;
        if (!Number.isSafeInteger(calls) || (calls as number) < 1) continue;
        let counts: Counts;
        try {
          counts = checkedCounts(row, record.path);
        } catch {
          continue;
        }
        this.#count(agent, model, counts, record.path, calls as number);
      }
    } catch {
      // a revoked proxy or a throwing getter in stored data: what was read before it counts
    }
  }

  /**
   * Puts the usage of `record`'s stage, and of its attempt, on the record and the stage span
   * just recorded. The attempt's tally is used up: a stage run again (its parent retried)
   * counts its attempt 1 afresh.
   */
  attach(record: StageRecord, timeline: readonly TimelineEntry[]): void {
    const stage = this.#stages.get(record.path);
    if (stage === undefined) return;
    // Added only to records and spans with usage: the common ones keep their shape.
    (record as Mutable<StageRecord>).usage = stage.total();
    const key = `${record.path}\u0000${record.attempts}`;
    const tally = this.#attempts.get(key);
    if (tally === undefined) return;
    this.#attempts.delete(key);
    const span = timeline[timeline.length - 1];
    if (span?.scope === 'stage' && span.path === record.path && span.attempt === record.attempts)
      (span as Mutable<TimelineEntry>).usage = tally;
  }

  /** The run's totals and rows so far (copies). */
  total(): RunUsage {
    return this.#run.total();
  }

  /** Adds a call to the run's and its stage's rows; returns its cost, if its model has a price. */
  #count(
    agent: string,
    model: string | undefined,
    counts: Counts,
    path: string,
    calls = 1,
  ): number | undefined {
    const price =
      model === undefined || !Object.hasOwn(this.#prices, model) ? undefined : this.#prices[model];
    const cost = price === undefined ? undefined : costOf(counts, price);
    this.#run.add(agent, model, counts, cost, calls);
    let stage = this.#stages.get(path);
    if (stage === undefined) {
      stage = new Rows();
      this.#stages.set(path, stage);
    }
    stage.add(agent, model, counts, cost, calls);
    this.#used += counts.totalTokens;
    if (cost !== undefined) this.#costUsd += cost;
    return cost;
  }
}

/** The totals of `rows` (a cost only where some row has one). */
function sum(rows: readonly UsageRow[]): UsageTotals {
  const total = (field: (typeof COUNTS)[number] | 'calls') => rows.reduce((n, row) => n + row[field], 0);
  const totals = {
    calls: total('calls'),
    inputTokens: total('inputTokens'),
    outputTokens: total('outputTokens'),
    totalTokens: total('totalTokens'),
    cachedInputTokens: total('cachedInputTokens'),
  };
  return rows.some((row) => row.costUsd !== undefined)
    ? { ...totals, costUsd: rows.reduce((n, row) => n + (row.costUsd ?? 0), 0) }
    : totals;
}

function checkedCounts(usage: unknown, path: string): Counts {
  if (typeof usage !== 'object' || usage === null) {
    throw new MacroError('INVALID_OPTIONS', `invocation.usage at ${path} expects an object of token counts`, {
      path,
    });
  }
  const counts = { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0 };
  let totalGiven = false;
  for (const field of COUNTS) {
    const value = readField(usage, field, path);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `invocation.usage at ${path}: ${field} must be a whole number ≥ 0, got ${shown(value)}`,
        { path },
      );
    }
    counts[field] = value as number;
    if (field === 'totalTokens') totalGiven = true;
  }
  if (!totalGiven) counts.totalTokens = counts.inputTokens + counts.outputTokens;
  return counts;
}

/** One field of a usage report, read once; a getter that throws (a revoked proxy) is `INVALID_OPTIONS`. */
function readField(usage: object, field: string, path: string): unknown {
  try {
    return (usage as Record<string, unknown>)[field];
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `invocation.usage at ${path}: ${field} cannot be read`, {
      path,
      cause: error,
    });
  }
}

/** A bad count as the message shows it: numbers as they are (NaN too), text quoted. */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? JSON.stringify(clip(value)) : safeText(value);
}

/** A call's cost: cached input at its own price (if given), the rest of the input and the output at theirs. */
function costOf(counts: Counts, price: ModelPrice): number {
  const cached = Math.min(counts.cachedInputTokens, counts.inputTokens);
  const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion;
  const input = (counts.inputTokens - cached) * price.inputPerMillion + cached * cachedPrice;
  return (input + counts.outputTokens * price.outputPerMillion) / 1_000_000;
}
