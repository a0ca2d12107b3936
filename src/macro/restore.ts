/**
 * Restoring, in a resumed run, the stages that finished before it was interrupted: each
 * is replayed (start and end events with status `restored`, its record and its output)
 * instead of run again.
 * @internal
 * @module
 */
import { snapshot } from '../internal/snapshot.js';
import type { RestorePoint } from './checkpoints.js';
import type { CompiledForEach, CompiledNode } from './compiled.js';
import { elementNode } from './element-node.js';
import { derivesOutput, groupOutput } from './group-output.js';
import type { Journal } from './journal.js';
import type { StageRecord } from './types.js';

export class Restorer {
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
    const { path, kind } = node;
    this.#stages.delete(path);
    journal.emit({ type: 'stage:start', ...journal.base(path), kind, attempt: record.attempts });
    let outputs: unknown[] = [];
    if (node.kind === 'forEach') outputs = this.#restoreElements(node);
    else if (node.kind !== 'agent' && node.kind !== 'approval') {
      for (const child of node.children) {
        const stored = this.#stages.get(child.path);
        outputs.push(
          stored !== undefined && stored.kind === child.kind ? this.restore(child, stored) : undefined,
        );
      }
      // The stages of the fallbacks a sub-macro took (its record holds the output they made).
      if (node.kind === 'macro') {
        for (const fallback of node.fallbacks) {
          for (const child of fallback.children) {
            const stored = this.#stages.get(child.path);
            if (stored !== undefined && stored.kind === child.kind) this.restore(child, stored);
          }
        }
      }
    }
    // A group checkpointed without its output (see GroupAttempt) gets it back from its children.
    const output =
      'output' in record || !derivesOutput(node)
        ? record.output
        : node.kind === 'parallel' || node.kind === 'forEach'
          ? outputs
          : outputs[outputs.length - 1];
    const at = journal.now();
    const recorded =
      node.kind !== 'agent' &&
      node.kind !== 'forEach' &&
      node.kind !== 'route' &&
      node.kind !== 'approval' &&
      !('output' in record)
        ? groupOutput(journal, node, output)
        : snapshot(output);
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

  /**
   * Restores the stored elements of a forEach restored whole (as the child of a group
   * restored whole); returns their outputs by index.
   */
  #restoreElements(node: CompiledForEach): unknown[] {
    const prefix = `${node.path}[`;
    const indices: number[] = [];
    for (const path of this.#stages.keys()) {
      if (!path.startsWith(prefix)) continue;
      // `m/each[3]`, not `m/each[3]/inner`: a nested path has more after the index.
      const index = Number(path.slice(prefix.length, -1));
      if (path.endsWith(']') && Number.isInteger(index) && index >= 0) indices.push(index);
    }
    indices.sort((a, b) => a - b);
    const outputs: unknown[] = [];
    for (const index of indices) {
      const element = elementNode(node, index);
      const stored = this.#stages.get(element.path) as StageRecord;
      if (stored.kind === element.kind) outputs[index] = this.restore(element, stored);
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
    if ('output' in record || !derivesOutput(node)) return true;
    // A forEach's elements are known once it runs again: its stored elements are then
    // restored one by one.
    if (node.kind === 'forEach' || node.kind === 'approval') return false;
    return node.children.every((child) => {
      const stored = this.#stages.get(child.path);
      return stored !== undefined && this.#restorable(child, stored);
    });
  }
}
