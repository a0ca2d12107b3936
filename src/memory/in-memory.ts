import { MacroError } from '../errors.js';
import { jsonCopy as copy, jsonSize } from '../internal/json.js';
import { readOptions } from '../internal/options.js';
import { briefly } from '../internal/safe.js';
import type { MacroResult } from '../model/result.js';
import { listRunsOptions, runIdOf } from './call-arguments.js';
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunSummary,
  StoredRun,
} from './memory-adapter.js';
import {
  accepted,
  checkedHeader,
  checkedResult,
  invalidAudit,
  invalidCheckpoint,
  neverBegun,
  refuse,
} from './write-arguments.js';

/** Options of {@link InMemoryMemory}. */
export interface InMemoryMemoryOptions {
  /**
   * Finished runs kept: past this many, the oldest to finish is evicted. Runs still
   * running are never evicted and do not count. A positive integer, or `Infinity`.
   * @default 1000
   */
  readonly maxRuns?: number;
  /**
   * Estimated JSON size, in characters, of what is kept for finished runs (results,
   * headers, audit trails): past it, the oldest finished runs are evicted. A positive
   * integer, or `Infinity`. @default 67108864 (64 MiB)
   */
  readonly maxBytes?: number;
}

/** What an {@link InMemoryMemory} holds (see {@link InMemoryMemory.size}). */
export interface InMemoryMemorySize {
  /** Runs begun and not finished: never evicted, not counted by the bounds. */
  readonly running: number;
  /** Finished runs kept, counted against `maxRuns`. */
  readonly finished: number;
  /** Estimated JSON size of the finished runs kept, counted against `maxBytes`. */
  readonly bytes: number;
}

const OPTIONS = ['maxRuns', 'maxBytes'] as const;

interface Entry {
  /** As of its last header or result; `listRuns` gives a copy with `updatedAt`. */
  summary: RunSummary;
  /** The time of the last write (a field, not a new summary per checkpoint). */
  updatedAt: number;
  header: string | undefined;
  /** Kept by reference and copied on load: the engine never changes a checkpoint it handed over. */
  checkpoints: Checkpoint[];
  /** Kept by reference too, checked to be JSON-serialisable when saved, copied on load. */
  result: MacroResult | undefined;
  /** Estimated JSON size of the finished run (result, header, audit trail); 0 while running. */
  bytes: number;
}

interface AuditTrail {
  readonly records: AuditRecord[];
  /** Length of the records' JSON. */
  bytes: number;
}

/**
 * A {@link MemoryAdapter} that keeps everything in process memory, for tests and for
 * runs that need not survive the process. What is loaded is a JSON round trip, as a
 * durable adapter would return it. Headers and audit records are stored as JSON.
 * Checkpoints and results are kept by reference and copied only when loaded: turning a
 * 10,000-stage result into JSON at the end of every run cost more than the run's own
 * bookkeeping, and results are rarely loaded. Both are still checked when saved, so one
 * that `JSON.stringify` rejects (a BigInt, a cycle, a throwing getter or `toJSON`) fails
 * the write and stores nothing, as in a durable adapter: one walk over the values that
 * come from agents and user code (outputs, artefacts, verdicts, decisions…), which also
 * estimates the result's size. Results are typed read-only: the stored one is the object
 * the run returned, so changing that object (or an output inside it) afterwards changes
 * what is loaded later. Loaded copies are the caller's to change.
 *
 * **Bounds.** A run is `running` from `beginRun` until its result is saved; running runs
 * (header, checkpoints, audit records) are never evicted and count against no bound, so
 * any number of concurrent runs can checkpoint. Finished runs are kept, in the order
 * they finished, until either bound is exceeded:
 * - `maxRuns` (default 1,000) finished runs;
 * - `maxBytes` (default 64 MiB) of estimated JSON: the result's strings and keys by
 *   length (UTF-16 code units), a fixed estimate per number, `true`/`false`/`null` and
 *   bracket, and per stage record and timeline entry for the run's own bookkeeping
 *   (which is not walked), plus the header's and audit records' JSON. The estimate is
 *   within about 5% of the result's `JSON.stringify` length, and the heap a kept result
 *   takes measured 1.0–1.1 times its estimate (less when outputs share objects or
 *   strings, which JSON repeats), so the default keeps the history to about 64–70 MiB of
 *   heap while still holding 1,000 results of some 60 KB.
 * Then the oldest finished runs are evicted (with their audit trails) until both hold.
 * A result whose own estimate exceeds `maxBytes` is kept while it is the newest finished
 * run, without evicting anything for it (the run has just returned that object, so
 * keeping it costs nothing while its caller holds it), and is the first evicted when the
 * next run finishes. {@link InMemoryMemory.size} tells what is held.
 *
 * @throws {MacroError} `INVALID_OPTIONS` for an unknown option or a bound that is not a
 *   positive integer or `Infinity`.
 */
export class InMemoryMemory implements MemoryAdapter {
  /** Every run, in the order it was begun (or first saved): the order of `listRuns`. */
  readonly #runs = new Map<string, Entry>();
  /** The finished runs, in the order they finished: the order of eviction. */
  readonly #finished = new Map<string, Entry>();
  readonly #audit = new Map<string, AuditTrail>();
  readonly #maxRuns: number;
  readonly #maxBytes: number;
  /** Sum of the finished runs' `bytes`. */
  #bytes = 0;
  /** The newest finished run when its estimate alone exceeds `maxBytes`: kept beyond the bound. */
  #oversized: Entry | undefined;

  constructor(options: InMemoryMemoryOptions = {}) {
    const { maxRuns, maxBytes } = readOptions('InMemoryMemory options', options, OPTIONS);
    this.#maxRuns = bound('maxRuns', maxRuns, 1000);
    this.#maxBytes = bound('maxBytes', maxBytes, 64 * 1024 * 1024);
  }

  /** How many runs are held, and the estimated size of the finished ones (see the class). */
  get size(): InMemoryMemorySize {
    return {
      running: this.#runs.size - this.#finished.size,
      finished: this.#finished.size,
      bytes: this.#bytes,
    };
  }

  async beginRun(given: RunHeader): Promise<void> {
    const header = accepted(checkedHeader('InMemoryMemory', given));
    const json = JSON.stringify(header);
    const summary: RunSummary = {
      runId: header.runId,
      macro: header.macro,
      producedBy: header.macro,
      status: 'running',
      startedAt: header.startedAt,
      updatedAt: header.startedAt,
    };
    const entry = this.#runs.get(header.runId);
    if (entry === undefined) {
      this.#runs.set(header.runId, {
        summary,
        updatedAt: header.startedAt,
        header: json,
        checkpoints: [],
        result: undefined,
        bytes: 0,
      });
    } else {
      this.#unfinish(entry);
      entry.summary = summary;
      entry.updatedAt = header.startedAt;
      entry.header = json;
      entry.checkpoints = [];
      entry.result = undefined;
    }
  }

  async saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    refuse(invalidCheckpoint('InMemoryMemory', runId, checkpoint, audit));
    const entry = this.#runs.get(runId);
    if (entry?.header === undefined) throw neverBegun('InMemoryMemory', runId);
    // Both may throw as JSON.stringify would: then nothing is stored.
    checkCheckpoint(checkpoint);
    // Most checkpoints carry no audit record: no copy, and no look at the bounds, then.
    const records = audit.length === 0 ? undefined : audit.map(copyRecord);
    entry.checkpoints.push(checkpoint);
    entry.updatedAt = checkpoint.at;
    if (records !== undefined) this.#push(records);
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const entry = this.#runs.get(runIdOf('InMemoryMemory', 'loadRun', runId));
    if (entry === undefined) return undefined;
    const stored: { -readonly [K in keyof StoredRun]: StoredRun[K] } = {
      checkpoints: copyCheckpoints(entry.checkpoints),
    };
    if (entry.header !== undefined) stored.header = JSON.parse(entry.header) as RunHeader;
    if (entry.result !== undefined) stored.result = copy(entry.result);
    return stored;
  }

  async saveResult(given: MacroResult): Promise<void> {
    const result = accepted(checkedResult('InMemoryMemory', given));
    const size = resultSize(result); // throws as JSON.stringify would: then nothing is stored
    const summary: RunSummary = {
      runId: result.runId,
      macro: result.macro,
      producedBy: result.producedBy,
      status: result.status,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      updatedAt: result.endedAt,
    };
    let entry = this.#runs.get(result.runId);
    if (entry === undefined) {
      entry = { summary, updatedAt: result.endedAt, header: undefined, checkpoints: [], result, bytes: 0 };
      this.#runs.set(result.runId, entry);
    } else {
      this.#unfinish(entry);
      entry.summary = summary;
      entry.updatedAt = result.endedAt;
      entry.result = result;
      // A suspended run is resumed from its checkpoints: they stay until it ends.
      if (result.status !== 'suspended') entry.checkpoints = [];
    }
    // Waiting for a resume, maybe for days: kept whole, counted as running, never evicted.
    if (result.status === 'suspended') return;
    entry.bytes = size + (entry.header?.length ?? 0) + (this.#audit.get(result.runId)?.bytes ?? 0);
    this.#finished.set(result.runId, entry);
    this.#bytes += entry.bytes;
    // The previous oversized result is evicted once a newer run has finished.
    if (this.#oversized !== undefined) this.#delete(this.#oversized);
    this.#oversized = entry.bytes > this.#maxBytes ? entry : undefined;
    this.#evict();
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    const result = this.#runs.get(runIdOf('InMemoryMemory', 'loadResult', runId))?.result;
    return result === undefined ? undefined : copy(result);
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    refuse(invalidAudit('InMemoryMemory.appendAudit', records));
    this.#push(records.map(copyRecord));
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    return [...(this.#audit.get(runIdOf('InMemoryMemory', 'readAudit', runId))?.records ?? [])];
  }

  /** @throws {MacroError} `INVALID_OPTIONS` for options `listRuns` cannot use (see {@link ListRunsOptions}). */
  async listRuns(options?: ListRunsOptions): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const { macro, status, limit } = listRunsOptions('InMemoryMemory', options);
    for (const { summary, updatedAt } of [...this.#runs.values()].reverse()) {
      if (out.length >= limit) break;
      if (macro !== undefined && summary.macro !== macro) continue;
      if (status !== undefined && summary.status !== status) continue;
      out.push({ ...summary, updatedAt }); // a copy: the caller's to change
    }
    return out;
  }

  /** Appends records already copied; `bytes` holds their JSON's length. */
  #push(records: readonly { record: AuditRecord; bytes: number }[]): void {
    for (const { record, bytes } of records) {
      const trail = this.#audit.get(record.runId);
      if (trail === undefined) this.#audit.set(record.runId, { records: [record], bytes });
      else {
        trail.records.push(record);
        trail.bytes += bytes;
      }
      const entry = this.#finished.get(record.runId);
      if (entry !== undefined) {
        entry.bytes += bytes;
        this.#bytes += bytes;
      }
    }
    // Every other method leaves both bounds holding: this evicts only if a finished run's trail grew.
    this.#evict();
  }

  /** Takes a finished run out of the bounds' count, as it runs (or is saved) again. */
  #unfinish(entry: Entry): void {
    this.#finished.delete(entry.summary.runId);
    this.#bytes -= entry.bytes; // 0 for a running run
    entry.bytes = 0;
    if (this.#oversized === entry) this.#oversized = undefined;
  }

  #delete(entry: Entry): void {
    const { runId } = entry.summary;
    this.#runs.delete(runId);
    this.#finished.delete(runId);
    this.#audit.delete(runId);
    this.#bytes -= entry.bytes;
    // `#oversized` is left alone: `saveResult` replaces it after deleting it, and `#evict` never deletes it.
  }

  /**
   * Evicts the oldest finished runs while a bound is exceeded (an oversized newest run excepted).
   * The oversized run is never the one evicted: it is the newest, so were it the oldest it
   * would be alone, and one run whose bytes are left out of the count exceeds neither bound.
   */
  #evict(): void {
    while (
      this.#finished.size > this.#maxRuns ||
      this.#bytes - (this.#oversized?.bytes ?? 0) > this.#maxBytes
    ) {
      this.#delete(this.#finished.values().next().value as Entry);
    }
  }
}

/** `value` as a bound: a positive integer or `Infinity`, `fallback` when absent. */
function bound(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) > 0)) {
    return value as number;
  }
  throw new MacroError(
    'INVALID_OPTIONS',
    `Invalid InMemoryMemory option ${name}: expected a positive integer or Infinity, got ${briefly(value)}`,
  );
}

/** An audit record's JSON round trip, and the length of its JSON. */
function copyRecord(record: AuditRecord): { record: AuditRecord; bytes: number } {
  const json = JSON.stringify(record);
  return { record: JSON.parse(json) as AuditRecord, bytes: json.length };
}

/**
 * Estimated JSON characters of a stage record besides its output and path (kind, status,
 * attempts, agent, three times): 130–150 for the engine's records.
 */
const STAGE_RECORD = 140;
/** Estimated JSON characters of a timeline entry (scope, path, name, status, times): 130–170. */
const TIMELINE_ENTRY = 150;

/**
 * Throws what `JSON.stringify(result)` would throw, walking only the values that come
 * from agents and user code (outputs, artefacts, verdicts, decisions…), and returns the
 * estimated length of its JSON. The run's own bookkeeping, its timeline and the fields of
 * its stage records besides their outputs, is strings and numbers by type, and makes up
 * most of a large result: it is not walked but estimated per record and entry.
 */
function resultSize(result: MacroResult): number {
  const top = result as unknown as Record<string, unknown>;
  let size = 0;
  for (const key in top) {
    if (key === 'timeline') size += result.timeline.length * TIMELINE_ENTRY;
    else if (key === 'stages') {
      const { stages } = result;
      for (const path in stages) {
        // The path twice: the key and the record's own.
        size += jsonSize(stages[path]?.output) + STAGE_RECORD + 2 * path.length;
      }
    } else size += jsonSize(top[key]) + key.length;
  }
  return size;
}

/** Throws what `JSON.stringify(checkpoint)` would throw, walking what {@link resultSize} walks. */
function checkCheckpoint(checkpoint: Checkpoint): void {
  const top = checkpoint as unknown as Record<string, unknown>;
  for (const key in top) {
    // Not walked, to save time: the timeline, and the stage records but for their outputs.
    // They are the engine's strings and numbers, in which a walk would find nothing to reject.
    if (key === 'stages') {
      const { stages } = checkpoint;
      for (let i = 0; i < stages.length; i++) jsonSize((stages[i] as (typeof stages)[number]).output);
    } else if (key !== 'timeline') jsonSize(top[key]);
  }
}

/**
 * The checkpoints' JSON round trip. They were checked when saved, but are kept by
 * reference: should a value in one have been changed since into one `JSON.stringify`
 * rejects, that checkpoint is left out (its stages run again on resume) rather than
 * making the whole run unloadable.
 */
function copyCheckpoints(checkpoints: readonly Checkpoint[]): Checkpoint[] {
  try {
    return copy(checkpoints as Checkpoint[]);
  } catch {
    const copies: Checkpoint[] = [];
    for (const checkpoint of checkpoints) {
      try {
        copies.push(copy(checkpoint));
      } catch {
        // changed since it was saved: left out
      }
    }
    return copies;
  }
}
