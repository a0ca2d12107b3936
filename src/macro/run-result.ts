/**
 * A run's `MacroResult`, built from its journal once the run has settled.
 * @internal
 * @module
 */
import { type ErrorRecord, type MacroError, SuspendedError, toErrorRecord } from '../errors.js';
import { latestVerdictsPass } from '../protocol/quality-gates.js';
import type { Outcome } from './failure.js';
import type { Journal } from './journal.js';
import type { MacroResult, Suspension } from './types.js';

/** Every field of every variant of a result. */
type MacroResultFields = MacroResult & { output: unknown; error: ErrorRecord; suspension: Suspension };

/** What a result says besides its journal's records. */
export interface ResultParts {
  /** The macro run was asked for. */
  readonly macro: string;
  /** The macro that produced the outcome (a fallback's name, if one did). */
  readonly producedBy: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: Outcome;
  /** The run's first persistence failure, if a write failed for good. */
  readonly persistenceFailure: MacroError | undefined;
}

/** The run's result, built once, in place (a spread per field group copied the whole object per run). */
export function buildResult(journal: Journal, parts: ResultParts): MacroResult {
  const { verdicts } = journal;
  const { startedAt, endedAt, outcome, persistenceFailure } = parts;
  const built: { -readonly [K in keyof MacroResultFields]?: MacroResultFields[K] } = {
    runId: journal.runId,
    macro: parts.macro,
    producedBy: parts.producedBy,
    labels: parts.labels,
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
    stages: journal.stages,
    timeline: journal.timeline,
    qa: { passed: verdicts.length === 0 || latestVerdictsPass(verdicts), verdicts },
    artefacts: journal.artefacts,
    errors: journal.errors,
    macros: journal.macros,
    decisions: journal.decisions,
    status: outcome.status,
  };
  if (outcome.status === 'succeeded') built.output = outcome.output;
  else built.error = toErrorRecord(outcome.error);
  if (outcome.status === 'suspended' && outcome.error instanceof SuspendedError) {
    const { path, payload, token } = outcome.error;
    built.suspension = { path: path as string, payload, token };
  }
  if (persistenceFailure !== undefined)
    built.persistence = { ok: false, error: toErrorRecord(persistenceFailure) };
  if (journal.usage !== undefined) built.usage = journal.usage.total();
  return built as MacroResult; // every field a variant needs was set just above
}
