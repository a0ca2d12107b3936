/**
 * Token usage: what an agent reports for one call (`invocation.usage`), and a run's totals
 * (`MacroResult.usage`), overall and per agent and model.
 * @module
 */

/** Tokens one agent call used, as the agent reports them; every count a whole number ≥ 0. */
export interface TokenUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Input plus output when left out. */
  readonly totalTokens?: number;
  /** Input tokens read from the provider's cache (already counted in `inputTokens`). */
  readonly cachedInputTokens?: number;
  /** The model that answered, if the agent knows it. */
  readonly model?: string;
}

/** What a model's tokens cost, in US dollars per million tokens. */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  /** Cached input tokens' price; they cost `inputPerMillion` when left out. */
  readonly cachedInputPerMillion?: number;
}

/** Token counts summed over calls. */
export interface UsageTotals {
  /** Calls that reported usage. */
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  readonly cachedInputTokens: number;
  /** What the tokens cost in US dollars, for the calls whose model has a price (`OrchestratorOptions.prices`). */
  readonly costUsd?: number;
}

/** One agent's usage on one model (`model` undefined when the agent did not name it). */
export interface UsageRow extends UsageTotals {
  readonly agent: string;
  readonly model: string | undefined;
}

/** A run's token usage: its totals, and a row per agent and model in first-use order. */
export interface RunUsage extends UsageTotals {
  readonly byAgent: readonly UsageRow[];
}
