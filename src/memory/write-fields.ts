/**
 * What the documents the built-in adapters write must be (see write-arguments.ts, which
 * checks them): a table of each one's top-level fields, each with its test and what an error
 * says it expects; and the fast paths, the same tests by name, which the engine's documents
 * pass with no message made.
 * @internal
 * @module
 */
import type { AuditRecord, RunState } from './memory-adapter.js';

/** A test of one field of a written document, and what it expects, as an error says it. */
export type Field = readonly [key: string, test: (value: unknown) => boolean, expected: string];

/** A non-empty string. */
export const nonEmpty = (value: unknown) => typeof value === 'string' && value !== '';
const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
const counted = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const list = (value: unknown) => Array.isArray(value);
/** Absent, or an array: checkpoints of earlier versions lack some of their lists, and read back. */
const listIfAny = (value: unknown) => value === undefined || Array.isArray(value);
/** An object that is no array (a record). */
export const object = (value: unknown) =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a name field expects, as an error says it. */
export const A_NAME = 'a non-empty string';
const A_TIME = 'a finite number (epoch ms)';
const A_COUNT = `an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;

/** A run header's fields. */
export const HEADER: readonly Field[] = [
  ['runId', nonEmpty, A_NAME],
  ['macro', nonEmpty, A_NAME],
  ['context', object, 'an object'],
  ['startedAt', finite, A_TIME],
];

/** A checkpoint's fields. */
export const CHECKPOINT: readonly Field[] = [
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

/** A result's fields, whatever its status. */
export const RESULT: readonly Field[] = [
  ['runId', nonEmpty, A_NAME],
  ['macro', nonEmpty, A_NAME],
  ['producedBy', nonEmpty, A_NAME],
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
/** Absent in results of earlier versions, where a stage's own `SUSPENDED` error ended a run suspended with nothing waiting. */
const suspensionIfAny = (value: unknown) =>
  value === undefined ||
  (object(value) &&
    typeof (value as Record<string, unknown>)['path'] === 'string' &&
    typeof (value as Record<string, unknown>)['token'] === 'string');
const SUSPENSION: Field = [
  'suspension',
  suspensionIfAny,
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

/** An audit record's fields. */
export const AUDIT: readonly Field[] = [
  ['runId', nonEmpty, A_NAME],
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

/** The fields a result that did not succeed has too. */
export const NOT_SUCCEEDED: readonly Field[] = [ERROR];
/** The fields a suspended result has too. */
export const SUSPENDED: readonly Field[] = [ERROR, SUSPENSION];

/** A copy of `document`'s own enumerable fields, each read once; `undefined` for no object, or one that cannot be read. */
export function ownCopy(document: unknown): Record<string, unknown> | undefined {
  try {
    return object(document) ? { ...(document as object) } : undefined;
  } catch {
    return undefined;
  }
}

// The fast paths below test the fields by name, as the tables above do by key: a keyed
// read of a varying key from objects of varying shapes cost ~1 µs a run.

/** Whether a header's copy passes what {@link HEADER} tests; false when a field cannot be tested (a revoked proxy). */
export function isHeader(c: Record<string, unknown>): boolean {
  try {
    return (
      nonEmpty(c['runId']) &&
      nonEmpty(c['macro']) &&
      object(c['context']) &&
      finite(c['startedAt']) &&
      c['toJSON'] === undefined
    );
  } catch {
    return false;
  }
}

/**
 * Whether a result's copy passes what {@link RESULT} tests, and an error and suspension as its
 * status needs; false when a field cannot be tested (a revoked proxy).
 */
export function isResult(c: Record<string, unknown>): boolean {
  try {
    const status = c['status'];
    return (
      nonEmpty(c['runId']) &&
      nonEmpty(c['macro']) &&
      nonEmpty(c['producedBy']) &&
      typeof status === 'string' &&
      Object.hasOwn(RESULT_STATUSES, status) &&
      finite(c['startedAt']) &&
      finite(c['endedAt']) &&
      finite(c['durationMs']) &&
      object(c['labels']) &&
      object(c['stages']) &&
      object(c['qa']) &&
      Array.isArray(c['timeline']) &&
      Array.isArray(c['artefacts']) &&
      Array.isArray(c['errors']) &&
      Array.isArray(c['macros']) &&
      Array.isArray(c['decisions']) &&
      c['toJSON'] === undefined &&
      (status === 'succeeded' ||
        (object(c['error']) && (status !== 'suspended' || suspensionIfAny(c['suspension']))))
    );
  } catch {
    return false;
  }
}

/**
 * Whether `value` is a plain object whose fields pass what {@link CHECKPOINT} tests (written
 * out); false when reading it throws, for the slow path in write-arguments.ts to say why.
 */
export function isCheckpoint(value: unknown): boolean {
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
export function isEmptyList(value: unknown): boolean {
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
export function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Whether `document` is a plain object whose `fields` pass their tests (read as they are); false when reading throws. */
export function passes(document: unknown, fields: readonly Field[]): boolean {
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
