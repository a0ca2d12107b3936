/**
 * The fan-in of a parallel group: its branches report here as they end (directly, for
 * lean agent stages, so a branch in flight holds no promise chain of its own),
 * and the group waits on one promise until every branch has ended.
 * @internal
 * @module
 */
import { CancelledError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { Deferred, type Sink } from '../internal/deferred.js';
import type { CompiledParallel } from './compiled.js';

export class Join implements Sink {
  /** Branch outputs by index; holes where a branch failed. */
  readonly outputs: unknown[];
  /** Branch failures by index. */
  readonly failures = new Map<number, unknown>();
  /** The first failure, if any. */
  firstError: unknown;
  failed = false;
  readonly #node: CompiledParallel;
  /** Aborted at the first failure under fail-fast; undefined under settle. */
  readonly #failFast: AbortScope | undefined;
  readonly #done = new Deferred();
  #pending: number;

  constructor(node: CompiledParallel, failFast: AbortScope | undefined) {
    this.#node = node;
    this.#failFast = failFast;
    this.#pending = node.children.length;
    this.outputs = new Array(this.#pending);
    if (this.#pending === 0) this.#done.ok(0, undefined);
  }

  /** Settles once every branch has ended, successfully or not; never rejects. */
  get ended(): Promise<unknown> {
    return this.#done.promise;
  }

  ok(index: number, value: unknown): void {
    this.outputs[index] = value;
    this.#settled();
  }

  fail(index: number, error: unknown): void {
    this.failures.set(index, error);
    if (!this.failed) {
      this.failed = true;
      this.firstError = error;
      const path = this.#node.children[index]?.path;
      this.#failFast?.abort(
        new CancelledError(this.#node.path, `sibling ${path} failed (fail-fast)`, 'Branches'),
      );
    }
    this.#settled();
  }

  #settled(): void {
    if (--this.#pending === 0) this.#done.ok(0, undefined);
  }
}
