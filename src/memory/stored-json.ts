/**
 * The JSON text the SQL adapters store checkpoints and results as: a timeline span and a
 * stage record are tuples with times relative to the document's own, about a third of
 * their objects' length (`["phase","m/s0","draft","succeeded",1,0,5]` for `{ scope, path,
 * name, status, attempt, startedAt, endedAt, durationMs }`). A 10-stage run's result went
 * from 5.2 KB to 2.1 KB, its checkpoints from 576 B to ~220 B each; on SQLite one run's
 * stage took 0.7x the time (0.42x in a 1,000-stage run), 10,000 concurrent runs ~0.85x.
 * Reading gives back what JSON would have: the same text, keys in order. A span or record
 * a tuple cannot hold exactly (see `packSpan`, `packRecord`) is stored as the object it
 * is, and a list in a span's or record's place is wrapped in one more list; rows of older
 * versions (objects only) read as they are.
 * @internal
 * @module
 */
import type { MacroResult, StageRecord, TimelineEntry } from '../model/result.js';
import type { Checkpoint } from './memory-adapter.js';

/** A span as stored: scope, path, name, status, attempt, start and end relative to the base, then its usage when it has one. */
type PackedSpan = [unknown, unknown, unknown, unknown, unknown, number, number, unknown?];

/**
 * A stage record as stored: path, id, kind, status, attempts, start and end relative to the
 * base, then its other fields (output, error, agent…) in two objects, those before
 * `attempts` and those after (`null` for none), so the keys read back in their order.
 */
type PackedRecord = [unknown, unknown, unknown, unknown, unknown, number, number, Fields?, Fields?];
type Fields = Record<string, unknown> | null;

/** `checkpoint` as JSON, its spans and records relative to its `at`; throws what `JSON.stringify` throws. */
export function checkpointJson(checkpoint: Checkpoint): string {
  return JSON.stringify(packDocument(checkpoint, 'at', packList));
}

/** `result` as JSON, its spans and records relative to its `startedAt`; throws what `JSON.stringify` throws. */
export function resultJson(result: MacroResult): string {
  return JSON.stringify(packResult(result));
}

/**
 * `result` with its spans and records packed (what {@link resultJson} writes, before it is
 * made text): for a store that makes the JSON itself. Reads each field once; throws what a
 * getter throws.
 */
export function packResult(result: MacroResult): unknown {
  return packDocument(result, 'startedAt', (stages, base) => packRecords(stages, base));
}

/** `document`, its `stages` packed by `packStages` and its timeline's spans relative to its `baseKey` field. */
function packDocument(
  document: object,
  baseKey: 'at' | 'startedAt',
  packStages: (stages: unknown, base: number, pack: typeof packRecord) => unknown,
): unknown {
  if (!isPlain(document) || hasToJson(document)) return document;
  // One read of each own field, as JSON makes: a getter is not asked twice.
  const doc: Record<string, unknown> = { ...document };
  const base = doc[baseKey];
  if (!Number.isSafeInteger(base)) return doc;
  if (Object.hasOwn(doc, 'stages')) doc['stages'] = packStages(doc['stages'], base as number, packRecord);
  if (Object.hasOwn(doc, 'timeline')) doc['timeline'] = packList(doc['timeline'], base as number, packSpan);
  return doc;
}

/** A checkpoint read back from {@link checkpointJson}'s text (or an older version's). */
export function parseCheckpoint(json: string): Checkpoint {
  const checkpoint = JSON.parse(json) as { -readonly [K in keyof Checkpoint]: unknown };
  const base = checkpoint?.at;
  if (!Number.isSafeInteger(base)) return checkpoint as Checkpoint;
  if (Array.isArray(checkpoint.stages)) unpackEach(checkpoint.stages, base as number, 9, unpackRecord);
  if (Array.isArray(checkpoint.timeline)) unpackEach(checkpoint.timeline, base as number, 8, unpackSpan);
  return checkpoint as Checkpoint;
}

/** A result read back from {@link resultJson}'s text (or an older version's). */
export function parseResult(json: string): MacroResult {
  return unpackResult(JSON.parse(json));
}

/**
 * What {@link packResult} made, parsed from its JSON, as the result it was: unpacked in
 * place. A value of an older version (a plain result) comes back as it is.
 */
export function unpackResult(parsed: unknown): MacroResult {
  const result = parsed as { -readonly [K in keyof MacroResult]: unknown } | null;
  const base = result?.startedAt;
  if (result === null || !Number.isSafeInteger(base)) return result as MacroResult;
  const stages = result.stages;
  if (isPlain(stages)) {
    const records = stages as Record<string, unknown>;
    for (const path of Object.keys(records)) {
      records[path] = unpacked(records[path], base as number, 9, unpackRecord);
    }
  }
  if (Array.isArray(result.timeline)) unpackEach(result.timeline, base as number, 8, unpackSpan);
  return result as MacroResult;
}

/** The list with each element packed; the value itself when it is not a plain array. */
function packList(list: unknown, base: number, pack: (element: unknown, base: number) => unknown): unknown {
  if (!Array.isArray(list) || Object.getPrototypeOf(list) !== Array.prototype || hasToJson(list)) return list;
  const packed: unknown[] = [];
  for (let i = 0; i < list.length; i++) packed.push(pack(list[i], base));
  return packed;
}

/** What an element that stays as it is becomes: itself, or a list wrapped in one more (read back unwrapped). */
function asIs(element: unknown): unknown {
  // A tuple is never shorter than 7: a list of one is a list kept as it was.
  return Array.isArray(element) ? [element] : element;
}

/** The records keyed by path, each packed; the object itself when it is not a plain one. */
function packRecords(stages: unknown, base: number): unknown {
  if (!isPlain(stages) || hasToJson(stages)) return stages;
  const packed: Record<string, unknown> = {};
  for (const path in stages) {
    // Not a key an assignment would take as the prototype, nor an inherited one: as it is.
    if (path === '__proto__' || !Object.hasOwn(stages, path)) return stages;
    packed[path] = packRecord((stages as Record<string, unknown>)[path], base);
  }
  return packed;
}

/**
 * The span as a tuple when the tuple reads back as exactly what JSON would: a plain object
 * with the eight fields (and `usage`) and nothing else, integer times, a duration that is
 * their difference. Anything else is stored as it is.
 */
function packSpan(span: unknown, base: number): unknown {
  if (!isPlain(span)) return asIs(span);
  const { scope, path, name, status, attempt, startedAt, endedAt, durationMs, usage } = span as Record<
    string,
    unknown
  >;
  const keys = spanKeys(span);
  if (keys === 0 || !fits(scope, path, name, status, attempt, startedAt, endedAt, durationMs, base))
    return span;
  const start = (startedAt as number) - base;
  const end = (endedAt as number) - base;
  if (keys === 9 && written(usage)) {
    // JSON would call its toJSON (an object's, or a BigInt's from its prototype) with the
    // key "usage", in a tuple with "7".
    if (toJsonCalled(usage)) return span;
    return [scope, path, name, status, attempt, start, end, usage];
  }
  return [scope, path, name, status, attempt, start, end];
}

/** A record's fields a tuple holds by position, in the order the engine makes them. */
const RECORD_KEYS = ['path', 'id', 'kind', 'status', 'attempts', 'startedAt', 'endedAt', 'durationMs'];

/** The record as a tuple when it reads back as what JSON would (see {@link PackedRecord}); else as it is. */
function packRecord(record: unknown, base: number): unknown {
  if (!isPlain(record)) return asIs(record);
  const { path, id, kind, status, attempts, startedAt, endedAt, durationMs } = record as Record<
    string,
    unknown
  >;
  if (!fits(path, id, kind, status, attempts, startedAt, endedAt, durationMs, base)) return record;
  let before: Fields = null;
  let after: Fields = null;
  // The record's keys must be RECORD_KEYS in order, others only after `status` (read
  // back before `attempts`) or at the end: then they read back in their places.
  let known = 0;
  for (const key in record) {
    // A toJSON would be called by JSON, not stored: such a record is stored as it is.
    if (!Object.hasOwn(record, key) || key === '__proto__' || key === 'toJSON') return record;
    if (key === RECORD_KEYS[known]) {
      known++;
      continue;
    }
    if (known !== 4 && known !== RECORD_KEYS.length) return record;
    const value = (record as Record<string, unknown>)[key];
    if (known === 4) {
      before ??= {};
      before[key] = value;
    } else {
      after ??= {};
      after[key] = value;
    }
  }
  if (known !== RECORD_KEYS.length) return record;
  const start = (startedAt as number) - base;
  const end = (endedAt as number) - base;
  // Literals of their final length: a push onto the seven grew the array's store to 26
  // slots (~220 B a record, a checkpoint's and again the result's).
  if (after !== null)
    return [path, id, kind, status, attempts, start, end, before, after] satisfies PackedRecord;
  if (before !== null) return [path, id, kind, status, attempts, start, end, before] satisfies PackedRecord;
  return [path, id, kind, status, attempts, start, end] satisfies PackedRecord;
}

/**
 * Whether a tuple's first seven elements can hold these fields exactly: five that JSON
 * writes in a tuple as in an object, then the start and end relative to `base`.
 */
function fits(
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
  e: unknown,
  startedAt: unknown,
  endedAt: unknown,
  durationMs: unknown,
  base: number,
): boolean {
  return (
    primitive(a) &&
    primitive(b) &&
    primitive(c) &&
    primitive(d) &&
    primitive(e) &&
    relative(startedAt, endedAt, durationMs, base)
  );
}

/** Whether JSON writes the value at all in an object (not `undefined`, a function or a symbol). */
function written(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/**
 * Whether the value is one JSON writes the same in a tuple as in an object: a string, a
 * number, a boolean or null (an object's toJSON would be called with another key).
 */
function primitive(value: unknown): boolean {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || value === null;
}

/** Whether the times are integers that stay exact relative to `base`, and the duration their difference. */
function relative(startedAt: unknown, endedAt: unknown, durationMs: unknown, base: number): boolean {
  return (
    Number.isSafeInteger(startedAt) &&
    Number.isSafeInteger(endedAt) &&
    durationMs === (endedAt as number) - (startedAt as number) &&
    Number.isSafeInteger((startedAt as number) - base) &&
    Number.isSafeInteger((endedAt as number) - base)
  );
}

/** Whether JSON would write what `value.toJSON()` returns instead of `value`: then it is stored as it is. */
function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/** Whether JSON calls a toJSON of `value`: it looks for one on objects and BigInts only. */
function toJsonCalled(value: unknown): boolean {
  const type = typeof value;
  return ((type === 'object' && value !== null) || type === 'bigint') && hasToJson(value as object);
}

/** A plain object (not an array, a class instance, a proxy of one, or another realm's object). */
function isPlain(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** A span's fields, in the order the engine makes them (then `usage`, when it has one). */
const SPAN_KEYS = [
  'scope',
  'path',
  'name',
  'status',
  'attempt',
  'startedAt',
  'endedAt',
  'durationMs',
  'usage',
];

/**
 * How many fields the span has when its enumerable keys are {@link SPAN_KEYS} in order and
 * its own (8, or 9 with `usage`), else 0: a tuple keeps that order.
 */
function spanKeys(span: object): number {
  let i = 0;
  for (const key in span) {
    if (key !== SPAN_KEYS[i] || !Object.hasOwn(span, key)) return 0;
    i++;
  }
  return i >= 8 ? i : 0;
}

/** Whether `value` is a tuple of at most `max` elements with its relative times at 5 and 6 (so at least 7). */
function isPacked(value: unknown, max: number): boolean {
  return (
    Array.isArray(value) &&
    value.length <= max &&
    typeof value[5] === 'number' &&
    typeof value[6] === 'number'
  );
}

/** Replaces, in place, each element of `list` with what {@link unpacked} makes of it. */
function unpackEach<T>(
  list: unknown[],
  base: number,
  max: number,
  unpack: (tuple: T, base: number) => unknown,
): void {
  for (let i = 0; i < list.length; i++) list[i] = unpacked(list[i], base, max, unpack);
}

/** A tuple's object; a list wrapped in one more (see `asIs`) unwrapped; anything else as it is. */
function unpacked<T>(
  element: unknown,
  base: number,
  max: number,
  unpack: (tuple: T, base: number) => unknown,
) {
  if (isPacked(element, max)) return unpack(element as T, base);
  return Array.isArray(element) && element.length === 1 ? element[0] : element;
}

function unpackSpan(tuple: PackedSpan, base: number): TimelineEntry {
  const startedAt = base + tuple[5];
  const endedAt = base + tuple[6];
  const span: { -readonly [K in keyof TimelineEntry]?: unknown } = {
    scope: tuple[0],
    path: tuple[1],
    name: tuple[2],
    status: tuple[3],
    attempt: tuple[4],
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
  };
  if (tuple.length === 8) span.usage = tuple[7];
  return span as unknown as TimelineEntry;
}

function unpackRecord(tuple: PackedRecord, base: number): StageRecord {
  const startedAt = base + tuple[5];
  const endedAt = base + tuple[6];
  // Spread defines the other fields (an own `__proto__` too); `...null` adds nothing.
  return {
    path: tuple[0],
    id: tuple[1],
    kind: tuple[2],
    status: tuple[3],
    ...fields(tuple[7]),
    attempts: tuple[4],
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
    ...fields(tuple[8]),
  } as unknown as StageRecord;
}

/** A packed record's other fields, when they are an object. */
function fields(value: unknown): object | null {
  return typeof value === 'object' ? value : null;
}
