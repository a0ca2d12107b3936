/**
 * The checks of what the built-in adapters are given to write (`beginRun`, `saveCheckpoint`,
 * `saveResult`, `appendAudit`), shared so that they refuse the same input with the same
 * error (`INVALID_OPTIONS`, naming the field and what it must be), before any query: by the
 * top-level fields a stored run is read back by (see `checkStoredRun`). What the engine
 * writes always passes; a caller's malformed header, checkpoint or result is refused at
 * once rather than stored and found corrupt when a resume reads it. A revoked proxy or a
 * throwing getter is refused with its error as `cause`.
 *
 * Only a document's own fields are looked at, a few type tests each (~30 ns a checkpoint,
 * on the per-stage path); their contents are checked by being made JSON. The checks
 * return the error rather than throw it: SqliteMemory's writes are not async, and reject.
 * @internal
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { briefly } from '../internal/safe.js';
import type { AuditRecord, RunState } from './memory-adapter.js';

/** A test of one field of a written document, and what it expects, as an error says it. */
type Field = readonly [key: string, test: (value: unknown) => boolean, expected: string];

const nonEmpty = (value: unknown) => typeof value === 'string' && value !== '';
const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
const counted = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const list = (value: unknown) => Array.isArray(value);
/** Absent, or an array: checkpoints of earlier versions lack some of their lists, and read back. */
const listIfAny = (value: unknown) => value === undefined || Array.isArray(value);
const object = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

const NAME: Field[1] = nonEmpty;
const A_NAME = 'a non-empty string';
const A_TIME = 'a finite number (epoch ms)';
const A_COUNT = `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;

const HEADER: readonly Field[] = [
  ['runId', NAME, A_NAME],
  ['macro', NAME, A_NAME],
  ['context', object, 'an object'],
  ['startedAt', finite, A_TIME],
];

const CHECKPOINT: readonly Field[] = [
  ['seq', counted, A_COUNT],
  ['at', finite, A_TIME],
  ['stages', list, 'an array'],
  ...['timeline', 'errors', 'verdicts', 'artefacts', 'decisions'].map(
    (key): Field => [key, listIfAny, 'an array (or absent)'],
  ),
];

/** The statuses a result may have (a record, so a new one must be added). */
const RESULT_STATUSES: Readonly<Record<Exclude<RunState, 'running'>, true>> = {
  succeeded: true,
  partial: true,
  failed: true,
  cancelled: true,
  suspended: true,
};

const RESULT: readonly Field[] = [
  ['runId', NAME, A_NAME],
  ['macro', NAME, A_NAME],
  ['producedBy', NAME, A_NAME],
  [
    'status',
    (value) => typeof value === 'string' && Object.hasOwn(RESULT_STATUSES, value),
    `one of ${Object.keys(RESULT_STATUSES).join(', ')}`,
  ],
  ['startedAt', finite, A_TIME],
  ['endedAt', finite, A_TIME],
  ['durationMs', finite, 'a finite number'],
  ['labels', object, 'an object'],
  ['stages', object, 'an object keyed by stage path'],
  ['qa', object, 'an object'],
  ...['timeline', 'artefacts', 'errors', 'macros', 'decisions'].map((key): Field => [key, list, 'an array']),
];

/** What a result that did not succeed says why with; a suspended one also where it waits. */
const ERROR: Field = ['error', object, 'an error record (the result did not succeed)'];
const SUSPENSION: Field = ['suspension', object, 'an object (the result is suspended)'];

/** Every kind of {@link AuditRecord} (a record, so a new one must be added). */
const AUDIT_KINDS: Readonly<Record<AuditRecord['kind'], true>> = {
  decision: true,
  route: true,
  retry: true,
  fallback: true,
  failure: true,
  gate: true,
};

const AUDIT: readonly Field[] = [
  ['runId', NAME, A_NAME],
  ['seq', counted, A_COUNT],
  ['at', finite, A_TIME],
  [
    'kind',
    (value) => typeof value === 'string' && Object.hasOwn(AUDIT_KINDS, value),
    `one of ${Object.keys(AUDIT_KINDS).join(', ')}`,
  ],
  ['path', (value) => typeof value === 'string', 'a string'],
  ['data', object, 'an object'],
];

/**
 * Why `header`, given to `<adapter>.beginRun`, cannot be written: `INVALID_OPTIONS` naming
 * the field and what it must be; `undefined` when it can.
 */
export function invalidHeader(adapter: string, header: unknown): MacroError | undefined {
  if (passes(header, HEADER)) return undefined;
  return invalidFields('run header', `${adapter}.beginRun`, header, HEADER);
}

/**
 * Why this `saveCheckpoint` call cannot be written (its run id, the checkpoint's fields, or
 * an audit record's), or `undefined` when it can.
 */
export function invalidCheckpoint(
  adapter: string,
  runId: unknown,
  checkpoint: unknown,
  audit: unknown,
): MacroError | undefined {
  // The engine's checkpoints, once a stage: a few type tests, no message made, nothing allocated.
  if (nonEmpty(runId) && isCheckpoint(checkpoint) && isEmptyList(audit)) return undefined;
  const where = `${adapter}.saveCheckpoint`;
  if (!nonEmpty(runId)) {
    return new MacroError(
      'INVALID_OPTIONS',
      `Invalid run id given to ${where}: expected ${A_NAME}, got ${briefly(runId)}`,
    );
  }
  return invalidFields('checkpoint', where, checkpoint, CHECKPOINT) ?? invalidAudit(where, audit);
}

/** Why `result`, given to `<adapter>.saveResult`, cannot be written, or `undefined` when it can. */
export function invalidResult(adapter: string, result: unknown): MacroError | undefined {
  if (passes(result, RESULT) && passes(result, ifNotSucceeded(result))) return undefined;
  const where = `${adapter}.saveResult`;
  return (
    invalidFields('result', where, result, RESULT) ??
    invalidFields('result', where, result, ifNotSucceeded(result))
  );
}

/** Why `records`, given to `<where>` as audit records, cannot be written, or `undefined` when they can. */
export function invalidAudit(where: string, records: unknown): MacroError | undefined {
  let length: number;
  try {
    if (!Array.isArray(records)) {
      return new MacroError(
        'INVALID_OPTIONS',
        `Invalid audit records given to ${where}: expected an array, got ${briefly(records)}`,
      );
    }
    length = records.length;
  } catch (error) {
    return unreadable('audit records', where, error);
  }
  for (let i = 0; i < length; i++) {
    const record = (records as unknown[])[i];
    if (!passes(record, AUDIT)) return invalidFields(`audit record [${i}]`, where, record, AUDIT);
  }
  return undefined;
}

/** The fields a result (read before, and checked) that did not succeed must have too. */
function ifNotSucceeded(result: unknown): readonly Field[] {
  let status: unknown;
  try {
    status = (result as { status: unknown }).status;
  } catch {
    return NO_FIELDS; // a getter that throws only now: the write meets it in turn
  }
  if (status === 'succeeded') return NO_FIELDS;
  return status === 'suspended' ? SUSPENDED : NOT_SUCCEEDED;
}
const NO_FIELDS: readonly Field[] = [];
const NOT_SUCCEEDED: readonly Field[] = [ERROR];
const SUSPENDED: readonly Field[] = [ERROR, SUSPENSION];

/**
 * Whether `value` is a checkpoint whose fields pass (what {@link CHECKPOINT} tests, written
 * out); false when reading it throws, for {@link invalidFields} to say why.
 */
function isCheckpoint(value: unknown): boolean {
  try {
    if (!object(value)) return false;
    const c = value as Record<string, unknown>;
    return (
      counted(c['seq']) &&
      finite(c['at']) &&
      Array.isArray(c['stages']) &&
      listIfAny(c['timeline']) &&
      listIfAny(c['errors']) &&
      listIfAny(c['verdicts']) &&
      listIfAny(c['artefacts']) &&
      listIfAny(c['decisions'])
    );
  } catch {
    return false;
  }
}

/** Whether `value` is an empty array (most checkpoints carry no audit record); false when it cannot be read. */
function isEmptyList(value: unknown): boolean {
  try {
    return Array.isArray(value) && value.length === 0;
  } catch {
    return false;
  }
}

/** Whether `document` is an object whose `fields` pass their tests; false when reading it throws. */
function passes(document: unknown, fields: readonly Field[]): boolean {
  try {
    if (!object(document)) return false;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as Field;
      if (!field[1]((document as Record<string, unknown>)[field[0]])) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Why `document` (`what`, given to `where`) is not an object whose `fields` pass their tests. */
function invalidFields(
  what: string,
  where: string,
  document: unknown,
  fields: readonly Field[],
): MacroError | undefined {
  try {
    if (!object(document)) {
      return new MacroError(
        'INVALID_OPTIONS',
        `Invalid ${what} given to ${where}: expected an object, got ${briefly(document)}`,
      );
    }
    for (const [key, test, expected] of fields) {
      const value = (document as Record<string, unknown>)[key];
      if (!test(value)) {
        return new MacroError(
          'INVALID_OPTIONS',
          `Invalid ${what} given to ${where}: "${key}" must be ${expected}, got ${briefly(value)}`,
        );
      }
    }
  } catch (error) {
    // A revoked proxy, or a getter that throws: the write cannot read what it would store.
    return unreadable(what, where, error);
  }
  return undefined;
}

function unreadable(what: string, where: string, error: unknown): MacroError {
  return new MacroError('INVALID_OPTIONS', `Cannot read the ${what} given to ${where}: ${describe(error)}`, {
    cause: error,
  });
}

/** Throws `invalid` when there is one: the first line of an async write (a sync one rejects with it). */
export function refuse(invalid: MacroError | undefined): void {
  if (invalid !== undefined) throw invalid;
}

/** What `<adapter>.saveCheckpoint` rejects with for a run it has no header of. */
export function neverBegun(adapter: string, runId: string): MacroError {
  return new MacroError('PERSISTENCE_FAILED', `${adapter} saveCheckpoint: run "${runId}" was never begun`);
}
