import { jsonCopy as copy, jsonSize } from '../internal/json.js';
import type { MacroResult } from '../macro/types.js';
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunSummary,
  StoredRun,
} from './memory-adapter.js';

interface Entry {
  summary: RunSummary;
  header: string | undefined;
  /** Kept by reference and copied on load: the engine never changes a checkpoint it handed over. */
  checkpoints: Checkpoint[];
  /** Kept by reference too, checked to be JSON-serialisable when saved, copied on load. */
  result: MacroResult | undefined;
}

/**
 * A {@link MemoryAdapter} that keeps everything in process memory, for tests and for
 * runs that need not survive the process. What is loaded is a JSON round trip, as a
 * durable adapter would return it. Headers and audit records are stored as JSON.
 * Checkpoints and results are kept by reference and copied only when loaded: turning a
 * 10,000-stage result into JSON at the end of every run cost more than the run's own
 * bookkeeping, and results are rarely loaded. Both are still checked when saved, so one
 * that `JSON.stringify` rejects (a BigInt, a cycle, a throwing getter or `toJSON`) fails
 * the write and stores nothing, as in a durable adapter (see `assertResultSerialisable`). Results are typed read-only: the stored one is the
 * object the run returned, so changing that object (or an output inside it) afterwards
 * changes what is loaded later. Loaded copies are the caller's to change.
 * @param options.maxRuns Oldest runs (by start) are evicted past this many. @default 1000
 */
export class InMemoryMemory implements MemoryAdapter {
  readonly #runs = new Map<string, Entry>();
  readonly #audit = new Map<string, AuditRecord[]>();
  readonly #maxRuns: number;

  constructor(options: { maxRuns?: number } = {}) {
    this.#maxRuns = options.maxRuns ?? 1000;
  }

  async beginRun(header: RunHeader): Promise<void> {
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
      this.#runs.set(header.runId, { summary, header: json, checkpoints: [], result: undefined });
      this.#evict();
    } else {
      entry.summary = summary;
      entry.header = json;
      entry.checkpoints = [];
      entry.result = undefined;
    }
  }

  async saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    const entry = this.#runs.get(runId);
    if (entry?.header === undefined) throw new Error(`Run "${runId}" was never begun`);
    // Both may throw as JSON.stringify would: then nothing is stored.
    checkCheckpoint(checkpoint);
    const records = audit.map(copy);
    entry.checkpoints.push(checkpoint);
    entry.summary = { ...entry.summary, updatedAt: checkpoint.at };
    this.#push(records);
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const entry = this.#runs.get(runId);
    if (entry === undefined) return undefined;
    const stored: { -readonly [K in keyof StoredRun]: StoredRun[K] } = {
      checkpoints: entry.checkpoints.length === 0 ? [] : copyCheckpoints(entry.checkpoints),
    };
    if (entry.header !== undefined) stored.header = JSON.parse(entry.header) as RunHeader;
    if (entry.result !== undefined) stored.result = copy(entry.result);
    return stored;
  }

  async saveResult(result: MacroResult): Promise<void> {
    assertResultSerialisable(result); // throws as JSON.stringify would: then nothing is stored
    const summary: RunSummary = {
      runId: result.runId,
      macro: result.macro,
      producedBy: result.producedBy,
      status: result.status,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      updatedAt: result.endedAt,
    };
    const entry = this.#runs.get(result.runId);
    if (entry === undefined) {
      this.#runs.set(result.runId, { summary, header: undefined, checkpoints: [], result });
      this.#evict();
    } else {
      entry.summary = summary;
      entry.result = result;
      entry.checkpoints = [];
    }
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    const result = this.#runs.get(runId)?.result;
    return result === undefined ? undefined : copy(result);
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    this.#push(records.map(copy));
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    return [...(this.#audit.get(runId) ?? [])];
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const limit = options.limit ?? 100;
    for (const { summary } of [...this.#runs.values()].reverse()) {
      if (out.length >= limit) break;
      if (options.macro !== undefined && summary.macro !== options.macro) continue;
      if (options.status !== undefined && summary.status !== options.status) continue;
      out.push(summary);
    }
    return out;
  }

  #push(records: readonly AuditRecord[]): void {
    for (const record of records) {
      const list = this.#audit.get(record.runId);
      if (list === undefined) this.#audit.set(record.runId, [record]);
      else list.push(record);
    }
  }

  #evict(): void {
    while (this.#runs.size > this.#maxRuns) {
      const oldest = this.#runs.keys().next().value as string;
      this.#runs.delete(oldest);
      this.#audit.delete(oldest);
    }
  }
}

/**
 * Throws what `JSON.stringify(result)` would throw, walking only the values that come
 * from agents and user code (outputs, artefacts, verdicts, decisions…). The run's own
 * bookkeeping, its timeline and the fields of its stage records besides their outputs,
 * is strings and numbers by type, and makes up most of a large result: it is not walked.
 */
function assertResultSerialisable(result: MacroResult): void {
  const top = result as unknown as Record<string, unknown>;
  for (const key in top) {
    if (key === 'timeline') continue;
    if (key === 'stages') {
      for (const path in result.stages) jsonSize(result.stages[path]?.output);
    } else jsonSize(top[key]);
  }
}

/** Throws what `JSON.stringify(checkpoint)` would throw, walking what {@link assertResultSerialisable} walks. */
function checkCheckpoint(checkpoint: Checkpoint): void {
  const top = checkpoint as unknown as Record<string, unknown>;
  for (const key in top) {
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
