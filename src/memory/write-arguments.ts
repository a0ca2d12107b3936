/**
 * The checks of what the built-in adapters are given to write (`beginRun`, `saveCheckpoint`,
 * `saveResult`, `appendAudit`), shared so that they refuse the same input with the same
 * error (`INVALID_OPTIONS`, naming the field and what it must be), before any query. What
 * is checked is the document's own enumerable fields (what JSON stores), each field's
 * type at the top level: the types a resume reads them back by (see `checkStoredRun`,
 * which also checks their contents). What the engine writes always passes; a caller's
 * malformed header, checkpoint or result is refused at once rather than stored and found
 * corrupt when a resume reads it. A revoked proxy or a throwing getter is refused with its
 * error as `cause`.
 *
 * A header and a result (once a run) are copied, their own fields read once: the adapter
 * stores the copy, so what was checked is what is stored. A checkpoint (once a stage) is
 * not: a plain object's fields are read where they are, a few type tests with no message
 * made and nothing allocated (~3 ns); anything else is copied and its copy checked. A
 * field that reads differently when read again (a getter) is refused when the check sees
 * it change, but not once checked: the adapter reads a checkpoint's and an audit record's
 * fields again when it stores them. The checks return the error rather than throw it:
 * SqliteMemory's writes are not async, and reject.
 * @internal
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { briefly } from '../internal/safe.js';
import type { MacroResult } from '../model/result.js';
import type { AuditRecord, RunHeader, RunState } from './memory-adapter.js';

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
/** Absent when a stage failed with a `SUSPENDED` error of its own (not a SuspendedError): nothing waits then. */
const SUSPENSION: Field = [
  'suspension',
  (value) =>
    value === undefined ||
    (object(value) &&
      typeof (value as Record<string, unknown>)['path'] === 'string' &&
      typeof (value as Record<string, unknown>)['token'] === 'string'),
  'absent, or an object with a string path and token (the result is suspended)',
];

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
 * `header`, given to `<adapter>.beginRun`, as a copy of its own fields to store; or why it
 * cannot be written (`INVALID_OPTIONS` naming the field and what it must be).
 */
export function checkedHeader(adapter: string, header: unknown): RunHeader | MacroError {
  return checkedCopy('run header', `${adapter}.beginRun`, header, HEADER) as RunHeader | MacroError;
}

/** `result`, given to `<adapter>.saveResult`, as a copy of its own fields to store; or why it cannot be written. */
export function checkedResult(adapter: string, result: unknown): MacroResult | MacroError {
  const where = `${adapter}.saveResult`;
  const copy = checkedCopy('result', where, result, RESULT);
  if (copy instanceof MacroError) return copy;
  const status = copy['status'];
  const more =
    status === 'succeeded'
      ? undefined
      : invalidFields('result', where, copy, status === 'suspended' ? SUSPENDED : NOT_SUCCEEDED);
  return more ?? (copy as unknown as MacroResult);
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
  const fine = isCheckpoint(checkpoint); // read once: a getter may answer otherwise the next time
  if (fine && nonEmpty(runId) && isEmptyList(audit)) return undefined;
  const where = `${adapter}.saveCheckpoint`;
  if (!nonEmpty(runId)) {
    return new MacroError(
      'INVALID_OPTIONS',
      `Invalid run id given to ${where}: expected ${A_NAME}, got ${briefly(runId)}`,
    );
  }
  const invalid = fine ? undefined : invalidDocument('checkpoint', where, checkpoint, CHECKPOINT);
  return invalid ?? invalidAudit(where, audit);
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
    let record: unknown;
    try {
      record = (records as unknown[])[i];
    } catch (error) {
      return unreadable('audit records', where, error);
    }
    if (!passes(record, AUDIT)) {
      const invalid = invalidDocument(`audit record [${i}]`, where, record, AUDIT);
      if (invalid !== undefined) return invalid;
    }
  }
  return undefined;
}

const NOT_SUCCEEDED: readonly Field[] = [ERROR];
const SUSPENDED: readonly Field[] = [ERROR, SUSPENSION];

/**
 * Whether `value` is a plain object whose fields pass what {@link CHECKPOINT} tests (written
 * out); false when reading it throws, for {@link invalidDocument} to say why.
 */
function isCheckpoint(value: unknown): boolean {
  try {
    if (!isPlain(value)) return false;
    const c = value as Record<string, unknown>;
    return (
      counted(c['seq']) &&
      finite(c['at']) &&
      Array.isArray(c['stages']) &&
      listIfAny(c['timeline']) &&
      listIfAny(c['errors']) &&
      listIfAny(c['verdicts']) &&
      listIfAny(c['artefacts']) &&
      listIfAny(c['decisions']) &&
      c['toJSON'] === undefined
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

/**
 * A plain object (its prototype Object's, or none): its fields are its own or Object's, and
 * JSON stores what reading them gives unless it has a `toJSON`.
 */
function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Whether `document` is a plain object whose `fields` pass their tests (read as they are); false when reading throws. */
function passes(document: unknown, fields: readonly Field[]): boolean {
  try {
    if (!isPlain(document)) return false;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as Field;
      if (!field[1]((document as Record<string, unknown>)[field[0]])) return false;
    }
    return (document as { toJSON?: unknown }).toJSON === undefined;
  } catch {
    return false;
  }
}

/**
 * Why `document`, which a check read as it is and refused (or could not, not being a plain
 * object), cannot be written: a copy of its own fields is checked. When the copy passes, a
 * plain object changed while it was read (a getter), and is refused; another is written.
 */
function invalidDocument(
  what: string,
  where: string,
  document: unknown,
  fields: readonly Field[],
): MacroError | undefined {
  const copy = checkedCopy(what, where, document, fields);
  if (copy instanceof MacroError) return copy;
  let plain: boolean;
  try {
    plain = isPlain(document);
  } catch (error) {
    return unreadable(what, where, error);
  }
  if (!plain) return undefined;
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid ${what} given to ${where}: its fields read differently each time (a getter)`,
  );
}

/** A copy of `document`'s own enumerable fields once they pass `fields`' tests; or why it cannot be written. */
function checkedCopy(
  what: string,
  where: string,
  document: unknown,
  fields: readonly Field[],
): Record<string, unknown> | MacroError {
  let copy: Record<string, unknown>;
  try {
    if (!object(document)) {
      return new MacroError(
        'INVALID_OPTIONS',
        `Invalid ${what} given to ${where}: expected an object, got ${briefly(document)}`,
      );
    }
    copy = { ...(document as object) }; // each own field read once, as JSON would
  } catch (error) {
    // A revoked proxy, or a getter that throws: the write cannot read what it would store.
    return unreadable(what, where, error);
  }
  if (Object.hasOwn(copy, 'toJSON')) {
    return new MacroError(
      'INVALID_OPTIONS',
      `Invalid ${what} given to ${where}: it has a "toJSON" field, which JSON would store instead of it`,
    );
  }
  return invalidFields(what, where, copy, fields) ?? copy;
}

/** Why `copy` (`what`, given to `where`; its own fields, read once) does not pass `fields`' tests. */
function invalidFields(
  what: string,
  where: string,
  copy: Record<string, unknown>,
  fields: readonly Field[],
): MacroError | undefined {
  try {
    for (const [key, test, expected] of fields) {
      const value = copy[key];
      if (!test(value)) {
        return new MacroError(
          'INVALID_OPTIONS',
          `Invalid ${what} given to ${where}: "${key}" must be ${expected}, got ${briefly(value)}`,
        );
      }
    }
  } catch (error) {
    return unreadable(what, where, error); // a field that is a revoked proxy: Array.isArray throws
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

/** The checked copy to store, or throws why the document is refused (for an async write). */
export function accepted<T>(checked: T | MacroError): T {
  if (checked instanceof MacroError) throw checked;
  return checked;
}

/** What `<adapter>.saveCheckpoint` rejects with for a run it has no header of. */
export function neverBegun(adapter: string, runId: string): MacroError {
  return new MacroError('PERSISTENCE_FAILED', `${adapter} saveCheckpoint: run "${runId}" was never begun`);
}
