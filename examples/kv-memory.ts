/**
 * A custom `MemoryAdapter` on a key-value store: the shape of an adapter for Redis,
 * DynamoDB, Cloudflare KV or a document database, here over an in-process `Map` so that it
 * runs anywhere. It stores JSON strings only, as a remote store would, and passes the
 * published contract suite (examples/kv-memory.contract.ts, under `node --test`).
 *
 * Keys: `run:<id>` holds a run's summary, header, checkpoints and result; `audit:<id>` its
 * audit trail; `runs` the run ids in the order they were begun (what `listRuns` walks).
 * Updates read, change and write keys, so this adapter makes one write at a time (`#one`):
 * writes of different runs share the `runs` key. A store shared by processes wants its own
 * atomic appends (Redis `RPUSH`, a DynamoDB list append) and the lease methods
 * (docs/memory.md).
 */
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MacroResult,
  MemoryAdapter,
  RunHeader,
  RunSummary,
  StoredRun,
} from '../src/index.js';

/** The store: string values under string keys, every call asynchronous (a network round trip). */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** A {@link KeyValueStore} in process memory. */
export function mapStore(): KeyValueStore {
  const map = new Map<string, string>();
  return {
    get: async (key) => map.get(key),
    set: async (key, value) => {
      map.set(key, value);
    },
  };
}

/** What `run:<id>` holds. */
interface RunEntry {
  summary: RunSummary;
  header?: RunHeader;
  checkpoints: Checkpoint[];
  result?: MacroResult;
}

/** A {@link MemoryAdapter} keeping everything, as JSON, in a {@link KeyValueStore}. */
export class KeyValueMemory implements MemoryAdapter {
  readonly store: KeyValueStore;
  /** The write in progress: the next waits for it. */
  #last: Promise<unknown> = Promise.resolve();

  constructor(store: KeyValueStore = mapStore()) {
    this.store = store;
  }

  /** Runs `write` after the writes before it, whether they succeeded or not. */
  #one(write: () => Promise<void>): Promise<void> {
    const next = this.#last.then(write, write);
    this.#last = next.catch(() => {});
    return next;
  }

  beginRun(header: RunHeader): Promise<void> {
    return this.#one(() => this.#beginRun(header));
  }

  saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    return this.#one(() => this.#saveCheckpoint(runId, checkpoint, audit));
  }

  saveResult(result: MacroResult): Promise<void> {
    return this.#one(() => this.#saveResult(result));
  }

  appendAudit(records: readonly AuditRecord[]): Promise<void> {
    return this.#one(() => this.#appendAuditOf(records));
  }

  async #beginRun(header: RunHeader): Promise<void> {
    const json = JSON.parse(JSON.stringify(header)) as RunHeader; // throws before anything is written
    const summary: RunSummary = {
      runId: header.runId,
      macro: header.macro,
      producedBy: header.macro,
      status: 'running',
      startedAt: header.startedAt,
      updatedAt: header.startedAt,
    };
    // Begun again: its checkpoints and result are gone, it is running again.
    await this.#indexed(header.runId);
    await this.#put({ summary, header: json, checkpoints: [] });
  }

  async #saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    const entry = await this.#entry(runId);
    if (entry?.header === undefined) throw new Error(`Run "${runId}" was never begun`);
    // Both are made JSON before either is written: one that cannot be stores nothing.
    const stored = JSON.parse(JSON.stringify(checkpoint)) as Checkpoint;
    const records = JSON.stringify(audit);
    entry.checkpoints.push(stored);
    entry.summary = { ...entry.summary, updatedAt: checkpoint.at };
    await this.#put(entry);
    await this.#appendAudit(runId, JSON.parse(records) as AuditRecord[]);
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const entry = await this.#entry(runId);
    if (entry === undefined) return undefined;
    const { header, checkpoints, result } = entry;
    return {
      checkpoints,
      ...(header === undefined ? {} : { header }),
      ...(result === undefined ? {} : { result }),
    };
  }

  async #saveResult(result: MacroResult): Promise<void> {
    const json = JSON.parse(JSON.stringify(result)) as MacroResult;
    const summary: RunSummary = {
      runId: result.runId,
      macro: result.macro,
      producedBy: result.producedBy,
      status: result.status,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      updatedAt: result.endedAt,
    };
    await this.#indexed(result.runId);
    const entry = (await this.#entry(result.runId)) ?? { summary, checkpoints: [] };
    // A suspended run is resumed from its checkpoints: they stay until its final result.
    const checkpoints = result.status === 'suspended' ? entry.checkpoints : [];
    await this.#put({ ...entry, summary, checkpoints, result: json });
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    return (await this.#entry(runId))?.result;
  }

  async #appendAuditOf(records: readonly AuditRecord[]): Promise<void> {
    const copies = JSON.parse(JSON.stringify(records)) as AuditRecord[];
    const byRun = new Map<string, AuditRecord[]>();
    for (const record of copies) byRun.set(record.runId, [...(byRun.get(record.runId) ?? []), record]);
    for (const [runId, ofRun] of byRun) await this.#appendAudit(runId, ofRun);
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    return JSON.parse((await this.store.get(`audit:${runId}`)) ?? '[]') as AuditRecord[];
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const ids = JSON.parse((await this.store.get('runs')) ?? '[]') as string[];
    const out: RunSummary[] = [];
    for (let i = ids.length - 1; i >= 0 && out.length < (options.limit ?? 100); i--) {
      const summary = (await this.#entry(ids[i] as string))?.summary;
      if (summary === undefined) continue;
      if (options.macro !== undefined && summary.macro !== options.macro) continue;
      if (options.status !== undefined && summary.status !== options.status) continue;
      out.push(summary);
    }
    return out;
  }

  async #entry(runId: string): Promise<RunEntry | undefined> {
    const json = await this.store.get(`run:${runId}`);
    return json === undefined ? undefined : (JSON.parse(json) as RunEntry);
  }

  #put(entry: RunEntry): Promise<void> {
    return this.store.set(`run:${entry.summary.runId}`, JSON.stringify(entry));
  }

  /** Adds `runId` to the list `listRuns` walks, once: where it was first begun or saved. */
  async #indexed(runId: string): Promise<void> {
    if ((await this.store.get(`run:${runId}`)) !== undefined) return;
    const ids = JSON.parse((await this.store.get('runs')) ?? '[]') as string[];
    await this.store.set('runs', JSON.stringify([...ids, runId]));
  }

  async #appendAudit(runId: string, records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.store.set(`audit:${runId}`, JSON.stringify([...(await this.readAudit(runId)), ...records]));
  }
}
