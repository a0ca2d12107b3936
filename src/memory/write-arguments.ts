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
import type { RunHeader } from './memory-adapter.js';
import {
  A_NAME,
  AUDIT,
  CHECKPOINT,
  type Field,
  HEADER,
  isCheckpoint,
  isEmptyList,
  isHeader,
  isPlain,
  isResult,
  NOT_SUCCEEDED,
  nonEmpty,
  object,
  ownCopy,
  passes,
  RESULT,
  SUSPENDED,
} from './write-fields.js';

/**
 * `header`, given to `<adapter>.beginRun`, as a copy of its own fields to store; or why it
 * cannot be written (`INVALID_OPTIONS` naming the field and what it must be).
 */
export function checkedHeader(adapter: string, header: unknown): RunHeader | MacroError {
  const copy = ownCopy(header);
  if (copy !== undefined && isHeader(copy)) return copy as unknown as RunHeader;
  return refusal('run header', `${adapter}.beginRun`, header, HEADER);
}

/** `result`, given to `<adapter>.saveResult`, as a copy of its own fields to store; or why it cannot be written. */
export function checkedResult(adapter: string, result: unknown): MacroResult | MacroError {
  const copy = ownCopy(result);
  if (copy !== undefined && isResult(copy)) return copy as unknown as MacroResult;
  const where = `${adapter}.saveResult`;
  const checked = checkedCopy('result', where, result, RESULT);
  if (checked instanceof MacroError) return checked;
  const status = checked['status'];
  if (status === 'succeeded') return changed('result', where);
  const more = status === 'suspended' ? SUSPENDED : NOT_SUCCEEDED;
  return invalidFields('result', where, checked, more) ?? changed('result', where);
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

/** Why `document`, refused by a fast path, cannot be written: what its copy's check says, or that it changed. */
function refusal(what: string, where: string, document: unknown, fields: readonly Field[]): MacroError {
  const checked = checkedCopy(what, where, document, fields);
  return checked instanceof MacroError ? checked : changed(what, where);
}

/** A document that failed a check once and passed it when read again. */
function changed(what: string, where: string): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid ${what} given to ${where}: its fields read differently each time (a getter)`,
  );
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
  return plain ? changed(what, where) : undefined;
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
    // Indexed, no destructuring: a header and a result pass through here once a run.
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as Field;
      const value = copy[field[0]];
      if (!field[1](value)) {
        return new MacroError(
          'INVALID_OPTIONS',
          `Invalid ${what} given to ${where}: "${field[0]}" must be ${field[2]}, got ${briefly(value)}`,
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
