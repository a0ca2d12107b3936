/**
 * Finding what JSON cannot store (a BigInt, a cycle, a throwing getter or `toJSON`) in a
 * checkpoint or a result, and leaving just that out, so that one bad value fails alone
 * and everything else is stored. Used only after a write failed: the happy path never
 * walks a value for this.
 * @internal
 * @module
 */
import { describe, PersistenceError, toErrorRecord } from '../errors.js';
import { assertJsonSerialisable } from '../internal/json.js';
import type { AuditRecord, Checkpoint } from '../memory/memory-adapter.js';
import type { MacroResult, StageRecord } from './types.js';

/** Why `value` cannot be stored as JSON, or `undefined` when it can. */
export function unstorable(value: unknown): string | undefined {
  try {
    assertJsonSerialisable(value);
    return undefined;
  } catch (error) {
    return describe(error);
  }
}

/** A stage record without its output. */
export function withoutOutput(record: StageRecord): StageRecord {
  const { output: _output, ...rest } = record;
  return rest;
}

/** The items of `list` that can be stored; each one left out is reported to `leftOut`. */
function storableItems<T>(
  list: readonly T[],
  where: string,
  leftOut: (where: string, why: string) => void,
): T[] {
  const kept: T[] = [];
  for (let i = 0; i < list.length; i++) {
    const why = unstorable(list[i]);
    if (why === undefined) kept.push(list[i] as T);
    else leftOut(`${where}[${i}]`, why);
  }
  return kept;
}

/**
 * `checkpoint` and `audit` without what cannot be stored: stages whose output cannot be
 * stored are left out whole (a resumed run runs them again), and so are such journal
 * items and audit records. `undefined` when everything can be stored: then the write
 * failed for another reason.
 */
export function storableCheckpoint(
  checkpoint: Checkpoint,
  audit: readonly AuditRecord[],
): { checkpoint: Checkpoint; audit: AuditRecord[]; errors: PersistenceError[] } | undefined {
  const errors: PersistenceError[] = [];
  const stages: StageRecord[] = [];
  for (const stage of checkpoint.stages) {
    const why = unstorable(stage.output);
    if (why === undefined) stages.push(stage);
    else {
      errors.push(
        new PersistenceError(
          'saveCheckpoint',
          undefined,
          `the output of stage ${stage.path} is not JSON-serialisable (${why}); the stage is not stored, and runs again if the run is resumed`,
          stage.path,
        ),
      );
    }
  }
  const leftOut = (where: string, why: string) =>
    errors.push(
      new PersistenceError(
        'saveCheckpoint',
        undefined,
        `${where} is not JSON-serialisable (${why}); left out`,
      ),
    );
  const clean: Checkpoint = {
    seq: checkpoint.seq,
    at: checkpoint.at,
    stages,
    timeline: checkpoint.timeline,
    errors: checkpoint.errors,
    verdicts: storableItems(checkpoint.verdicts, 'verdicts', leftOut),
    artefacts: storableItems(checkpoint.artefacts, 'artefacts', leftOut),
    decisions: storableItems(checkpoint.decisions, 'decisions', leftOut),
  };
  const records = storableItems(audit, 'audit', leftOut);
  return errors.length === 0 ? undefined : { checkpoint: clean, audit: records, errors };
}

/**
 * The audit records that can be stored, and the error naming those left out;
 * `undefined` when every record can be stored.
 */
export function storableAudit(
  records: readonly AuditRecord[],
): { value: AuditRecord[]; error: PersistenceError } | undefined {
  const left: string[] = [];
  const value = storableItems(records, 'audit', (where, why) => left.push(`${where} (${why})`));
  if (left.length === 0) return undefined;
  return {
    value,
    error: new PersistenceError(
      'appendAudit',
      undefined,
      `not JSON-serialisable, so left out: ${left.join('; ')}`,
    ),
  };
}

/**
 * `result` without what cannot be stored (stage outputs, the output, artefacts,
 * verdicts, decisions), its `persistence` naming what was left out, and that error;
 * `undefined` when everything can be stored.
 */
export function storableResult(
  result: MacroResult,
): { value: MacroResult; error: PersistenceError } | undefined {
  const left: string[] = [];
  const stages: Record<string, StageRecord> = {};
  for (const path in result.stages) {
    const record = result.stages[path] as StageRecord;
    const why = unstorable(record.output);
    if (why === undefined) stages[path] = record;
    else {
      stages[path] = withoutOutput(record);
      left.push(`stages["${path}"].output (${why})`);
    }
  }
  const leftOut = (where: string, why: string) => left.push(`${where} (${why})`);
  const artefacts = storableItems(result.artefacts, 'artefacts', leftOut);
  const verdicts = storableItems(result.qa.verdicts, 'qa.verdicts', leftOut);
  const decisions = storableItems(result.decisions, 'decisions', leftOut);
  const outputWhy = result.status === 'succeeded' ? unstorable(result.output) : undefined;
  if (outputWhy !== undefined) left.push(`output (${outputWhy})`);
  if (left.length === 0) return undefined;
  const error = new PersistenceError(
    'saveResult',
    undefined,
    `not JSON-serialisable, so stored without them: ${left.join('; ')}`,
  );
  const stored = {
    ...result,
    stages,
    artefacts,
    qa: { ...result.qa, verdicts },
    decisions,
    persistence: { ok: false as const, error: toErrorRecord(error) },
  };
  if (outputWhy !== undefined) delete (stored as { output?: unknown }).output;
  return { value: stored as MacroResult, error };
}
