import type { MacroResult } from '../macro/types.js';
import type { AuditRecord, ListRunsOptions, MemoryAdapter, RunSummary } from './memory-adapter.js';

/**
 * A {@link MemoryAdapter} that keeps everything in process memory. Results are
 * stored as JSON text, so what is loaded is what a durable adapter would return.
 * @param options.maxRuns Oldest runs are evicted past this many. @default 1000
 */
export class InMemoryMemory implements MemoryAdapter {
  readonly #results = new Map<string, { summary: RunSummary; json: string }>();
  readonly #audit = new Map<string, AuditRecord[]>();
  readonly #maxRuns: number;

  constructor(options: { maxRuns?: number } = {}) {
    this.#maxRuns = options.maxRuns ?? 1000;
  }

  async saveResult(result: MacroResult): Promise<void> {
    const json = JSON.stringify(result);
    this.#results.delete(result.runId);
    this.#results.set(result.runId, {
      json,
      summary: {
        runId: result.runId,
        macro: result.macro,
        producedBy: result.producedBy,
        status: result.status,
        startedAt: result.startedAt,
        endedAt: result.endedAt,
      },
    });
    while (this.#results.size > this.#maxRuns) {
      const oldest = this.#results.keys().next().value as string;
      this.#results.delete(oldest);
      this.#audit.delete(oldest);
    }
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    const entry = this.#results.get(runId);
    return entry === undefined ? undefined : (JSON.parse(entry.json) as MacroResult);
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    for (const record of records) {
      const list = this.#audit.get(record.runId);
      const copy = JSON.parse(JSON.stringify(record)) as AuditRecord;
      if (list === undefined) this.#audit.set(record.runId, [copy]);
      else list.push(copy);
    }
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    return [...(this.#audit.get(runId) ?? [])];
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const limit = options.limit ?? 100;
    for (const { summary } of [...this.#results.values()].reverse()) {
      if (options.macro !== undefined && summary.macro !== options.macro) continue;
      if (options.status !== undefined && summary.status !== options.status) continue;
      out.push(summary);
      if (out.length >= limit) break;
    }
    return out;
  }
}
