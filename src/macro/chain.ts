/**
 * The driver of a sequence (a `sequence` group, or a macro's own stages): each stage's
 * end, reported here, starts the next one, so a lean stage in a chain costs no promise
 * and no `await` of its own, and the chain waits on one promise for all of its stages.
 * @internal
 * @module
 */
import type { AbortScope } from '../internal/abort-scope.js';
import { Deferred, type Sink } from '../internal/deferred.js';
import type { CompiledNode } from './compiled.js';

/** What starts a stage and reports its end to `sink`: the executor. */
export interface StageStarter {
  startStage(node: CompiledNode, input: unknown, scope: AbortScope, sink: Sink, index: number): void;
}

export class Chain implements Sink {
  readonly #starter: StageStarter;
  readonly #children: readonly CompiledNode[];
  readonly #scope: AbortScope;
  readonly #done: Sink;
  #next = 0;

  /**
   * Starts the first of `children` on `input`. Its end is told to `done` (as piece 0): by
   * default a Deferred, whose promise is {@link ended}.
   */
  constructor(
    starter: StageStarter,
    children: readonly CompiledNode[],
    input: unknown,
    scope: AbortScope,
    done: Sink = new Deferred(),
  ) {
    this.#starter = starter;
    this.#children = children;
    this.#scope = scope;
    this.#done = done;
    this.ok(-1, input);
  }

  /**
   * The last stage's output; rejects with the first stage failure, after which no stage
   * starts. Only for a chain made without a sink of its own.
   */
  get ended(): Promise<unknown> {
    if (this.#done instanceof Deferred) return this.#done.promise;
    throw new TypeError('This chain reports its end to its sink: it has no promise');
  }

  /** Stage `index` ended with `value`: the next stage starts on it (or the chain ends). */
  ok(index: number, value: unknown): void {
    const next = index + 1;
    // A report from a stage that is not the latest one started is an engine fault; ignored
    // rather than starting a stage twice.
    if (next !== this.#next) return;
    this.#next = next + 1;
    const child = this.#children[next];
    if (child === undefined) {
      this.#done.ok(0, value);
      return;
    }
    try {
      this.#starter.startStage(child, value, this.#scope, this, next);
    } catch (error) {
      this.#done.fail(0, error); // an engine fault: the chain fails with it, never hangs
    }
  }

  fail(_index: number, error: unknown): void {
    this.#next = -1; // nothing more starts
    this.#done.fail(0, error);
  }
}
