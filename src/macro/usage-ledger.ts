/**
 * A run's token usage as its agents report it (`invocation.usage`), summed per agent and
 * model; made on the first report, so a run whose agents report none carries nothing.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { clip, safeText } from '../internal/safe.js';
import type { ModelPrice, RunUsage, TokenUsage, UsageRow } from '../model/usage.js';

type Row = { -readonly [K in keyof UsageRow]: UsageRow[K] };
const COUNTS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens'] as const;

/** Sums reported usage per agent and model. @internal */
export class UsageLedger {
  readonly #rows = new Map<string, Row>();
  readonly #prices: Readonly<Record<string, ModelPrice>>;
  /** Total tokens so far. */
  #used = 0;
  /** Total cost so far, of the calls on priced models. */
  #costUsd = 0;

  constructor(prices: Readonly<Record<string, ModelPrice>> = {}) {
    this.#prices = prices;
  }

  /** What the priced calls cost so far, in US dollars. */
  get costUsd(): number {
    return this.#costUsd;
  }

  /**
   * Adds one call's `usage` by `agent`; returns the run's total tokens since. Throws
   * `INVALID_OPTIONS` naming the field and `path` when a count is not a whole number ≥ 0.
   */
  add(agent: string, usage: TokenUsage, path: string): number {
    const counts = checkedCounts(usage, path);
    const model = readField(usage, 'model', path);
    if (model !== undefined && typeof model !== 'string') {
      throw new MacroError('INVALID_OPTIONS', `invocation.usage at ${path}: model must be a string`, {
        path,
      });
    }
    const key = model === undefined ? agent : `${agent}\u0000${model}`;
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = { agent, model, calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0 };
      this.#rows.set(key, row);
    }
    row.calls += 1;
    row.inputTokens += counts.inputTokens;
    row.outputTokens += counts.outputTokens;
    row.totalTokens += counts.totalTokens;
    row.cachedInputTokens += counts.cachedInputTokens;
    const price =
      model === undefined || !Object.hasOwn(this.#prices, model) ? undefined : this.#prices[model];
    if (price !== undefined) {
      const cost = costOf(counts, price);
      row.costUsd = (row.costUsd ?? 0) + cost;
      this.#costUsd += cost;
    }
    this.#used += counts.totalTokens;
    return this.#used;
  }

  /** The totals and rows so far (copies: later reports do not change them). */
  total(): RunUsage {
    const byAgent = [...this.#rows.values()].map((row) => ({ ...row }));
    const sum = (field: (typeof COUNTS)[number] | 'calls') => byAgent.reduce((n, row) => n + row[field], 0);
    const totals = {
      calls: sum('calls'),
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
      totalTokens: sum('totalTokens'),
      cachedInputTokens: sum('cachedInputTokens'),
    };
    return byAgent.some((row) => row.costUsd !== undefined)
      ? { ...totals, costUsd: this.#costUsd, byAgent }
      : { ...totals, byAgent };
  }
}

function checkedCounts(usage: unknown, path: string): Record<(typeof COUNTS)[number], number> {
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
function costOf(counts: Record<(typeof COUNTS)[number], number>, price: ModelPrice): number {
  const cached = Math.min(counts.cachedInputTokens, counts.inputTokens);
  const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion;
  const input = (counts.inputTokens - cached) * price.inputPerMillion + cached * cachedPrice;
  return (input + counts.outputTokens * price.outputPerMillion) / 1_000_000;
}
