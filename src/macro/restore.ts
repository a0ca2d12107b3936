/**
 * Restoring, in a resumed run, the stages that finished before it was interrupted: each
 * is replayed (start and end events with status `restored`, its record and its output)
 * instead of run again.
 * @internal
 * @module
 */
import { snapshot } from '../internal/snapshot.js';
import type { RestorePoint } from './checkpoints.js';
import type { CompiledNode } from './compiled.js';
import { groupOutput } from './group-output.js';
import type { Journal } from './journal.js';
import type { Rebuild, RestoreContext } from './stage-kind.js';
import type { StageRecord } from './types.js';

export class Restorer implements RestoreContext {
  readonly #journal: Journal;
  /** Stages left to restore, by path. */
  readonly #stages: Map<string, StageRecord>;

  /** Takes over, into `journal`, what the resumed run had recorded before it was interrupted. */
  constructor(journal: Journal, restore: RestorePoint) {
    this.#journal = journal;
    this.#stages = restore.stages;
    journal.seq = restore.seq;
    const { journal: stored } = restore;
    for (const entry of stored.timeline) journal.timeline.push(entry);
    for (const error of stored.errors) journal.errors.push(error);
    for (const verdict of stored.verdicts) journal.verdicts.push(verdict);
    for (const artefact of stored.artefacts) journal.artefacts.push(artefact);
    for (const decision of stored.decisions) journal.decisions.push(decision);
    for (const record of restore.stages.values())
      if (record.usage !== undefined) journal.ledger().restore(record);
  }

  /** Whether a stored stage waits at `path`. */
  has(path: string): boolean {
    return this.#stages.has(path);
  }

  /** The stored stage of `node`, if it can be restored (see restorable). */
  storedFor(node: CompiledNode): StageRecord | undefined {
    const stored = this.#stages.get(node.path);
    return stored !== undefined && this.#restorable(node, stored) ? stored : undefined;
  }

  /**
   * Replays a stage that finished before the run was interrupted: start and end events
   * (status `restored`, also for its finished children), its record and its output.
   * Each stored stage is restored once; a retry after that runs it again.
   */
  restore(node: CompiledNode, record: StageRecord): unknown {
    const journal = this.#journal;
    const { path, kind, rule } = node;
    this.#stages.delete(path);
    journal.emit({ type: 'stage:start', ...journal.base(path), kind, attempt: record.attempts });
    const outputs = rule.restoreChildren?.(node, this) ?? [];
    // A group checkpointed without its output (see groupAttempt) gets it back from its children.
    const derived = !('output' in record) && rule.derivesOutput(node);
    const output = derived ? (rule.rebuild as Rebuild<CompiledNode>).output(outputs) : record.output;
    const at = journal.now();
    const recorded = 'output' in record ? snapshot(output) : groupOutput(journal, node, output);
    if (!journal.ended) journal.stages[path] = { ...record, output: recorded, status: 'restored' };
    journal.span('stage', path, kind, 'restored', record.attempts, at, at);
    journal.emit({
      type: 'stage:end',
      ...journal.base(path),
      kind,
      attempt: record.attempts,
      status: 'restored',
      durationMs: 0,
    });
    return output;
  }

  // ── what a kind's restoreChildren uses (RestoreContext) ──

  storedPaths(): Iterable<string> {
    return this.#stages.keys();
  }

  stored(path: string): StageRecord | undefined {
    return this.#stages.get(path);
  }

  restoreEach(nodes: readonly CompiledNode[]): unknown[] {
    const outputs: unknown[] = [];
    for (const child of nodes) {
      const stored = this.#stages.get(child.path);
      outputs.push(
        stored !== undefined && stored.kind === child.kind ? this.restore(child, stored) : undefined,
      );
    }
    return outputs;
  }

  /**
   * Whether a stored stage can be restored: a group stored without its output only when
   * every child it rebuilds that output from is stored (and restorable) too; otherwise
   * it runs again, and its stored children are restored one by one.
   */
  #restorable(node: CompiledNode, record: StageRecord): boolean {
    if (record.kind !== node.kind) return false;
    const { rule } = node;
    if ('output' in record || !rule.derivesOutput(node)) return true;
    // Children known only once it runs again (a forEach's elements): they are then restored one by one.
    const sources = rule.rebuild?.sources?.(node);
    const restorable = (child: CompiledNode) => {
      const stored = this.#stages.get(child.path);
      return stored !== undefined && this.#restorable(child, stored);
    };
    return sources?.every(restorable) ?? false;
  }
}
