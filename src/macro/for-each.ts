/**
 * One attempt of a forEach stage: its elements (the input, or what `items` makes of it),
 * each run through the element stage at `<path>[i]`, at most `concurrency` at a time;
 * then the array of their outputs, a `merge` of it, or the Harmony Protocol's choice.
 * @internal
 * @module
 */
import { CancelledError, describe, MacroError, wrapUserError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { Deferred, type Sink } from '../internal/deferred.js';
import { inMicrotask } from '../internal/microtask.js';
import { Harmony } from '../protocol/harmony.js';
import { isThenable } from '../protocol/quality-gates.js';
import type { CompiledForEach, CompiledNode } from './compiled.js';
import { elementNode, keptElements } from './element-node.js';
import { normalise } from './failure.js';
import { harmonise, merge, SLICE_MASK } from './fan-in.js';
import type { GroupHost, GroupOutcome } from './stage-kind.js';
import type { StageRecord } from './types.js';

/** Runs the elements of `node` on `input`; settles with the outcome. */
export async function forEachAttempt(
  host: GroupHost,
  node: CompiledForEach,
  input: unknown,
  parent: AbortScope,
  attempt: number,
  outcome: GroupOutcome,
): Promise<unknown> {
  const items = await elementsOf(host, node, input, parent);
  const failFast = node.failure === 'fail-fast';
  const scope = failFast ? parent.child() : parent;
  const fan = new FanOut(host, node, items, scope, failFast);
  try {
    fan.pump();
    await fan.ended;
  } finally {
    if (scope !== parent) scope.dispose();
  }
  const { outputs, failures } = fan;
  // Cut short (an abort, or fail-fast): elements that never started have no say.
  if (fan.cutShort) throw fan.firstError;
  if (node.harmony !== undefined) {
    if (items.length === 0) {
      throw new MacroError('HARMONY_FAILED', `No element to choose from at ${node.path}: the list is empty`, {
        path: node.path,
      });
    }
    const harmony = new Harmony(
      node.harmony,
      node.path,
      items.map((_, i) => ({ id: `${node.id}[${i}]`, path: `${node.path}[${i}]` })),
      node.minSuccesses ?? items.length,
    );
    return harmonise(host, node.path, harmony, { outputs, failures, scope: parent, attempt });
  }
  if (fan.failed) throw fan.firstError;
  if (node.merge !== undefined) {
    return merge(host, node.path, node.merge, outputs, parent);
  }
  // The record keeps the elements' recorded snapshots, as a parallel group's does its branches'.
  const recorded = new Array<unknown>(items.length);
  const { stages } = host.journal;
  const { paths } = fan;
  for (let i = 0; i < items.length; i++) recorded[i] = (stages[paths[i] as string] as StageRecord).output;
  outcome.keep(Object.freeze(recorded));
  return outputs;
}

/** The elements of one attempt: the input or `items(input)`, copied once (later changes do not reach the run). */
async function elementsOf(
  host: GroupHost,
  node: CompiledForEach,
  input: unknown,
  scope: AbortScope,
): Promise<readonly unknown[]> {
  let items: unknown = input;
  if (node.items !== undefined) {
    try {
      items = node.items(input, host.context);
      if (isThenable(items)) items = await scope.race(Promise.resolve(items));
    } catch (error) {
      if (scope.aborted) throw normalise(error, node.path, scope);
      throw wrapUserError(error, node.path, 'items');
    }
  }
  try {
    if (Array.isArray(items)) return Array.from(items as readonly unknown[]);
  } catch (error) {
    throw wrapUserError(error, node.path, 'reading the elements');
  }
  throw new MacroError(
    'STAGE_FAILED',
    `forEach needs an array of elements at ${node.path}, got ${describe(items)}${
      node.items === undefined ? ' (give it an `items` mapper)' : ' from items'
    }`,
    { path: node.path },
  );
}

/**
 * Starts elements while fewer than `concurrency` are in flight; each end starts the next.
 * Settles once every started element has ended and no more will start.
 */
class FanOut implements Sink {
  /** Element outputs by index; holes where an element failed or never started. */
  readonly outputs: unknown[];
  /** Element failures by index. */
  readonly failures = new Map<number, unknown>();
  /** Element paths by index: the strings their records are keyed by (hashed once, looked up again at the end). */
  readonly paths: string[];
  firstError: unknown;
  failed = false;
  /** Some elements never started: one failed under fail-fast, or the scope was aborted. */
  cutShort = false;
  readonly #host: GroupHost;
  readonly #node: CompiledForEach;
  readonly #items: readonly unknown[];
  readonly #scope: AbortScope;
  readonly #failFast: boolean;
  /** The forEach's kept element stages (looked up once per attempt, not per element). */
  readonly #kept: CompiledNode[];
  readonly #done = new Deferred();
  #next = 0;
  #running = 0;
  #pumping = false;

  constructor(
    host: GroupHost,
    node: CompiledForEach,
    items: readonly unknown[],
    scope: AbortScope,
    failFast: boolean,
  ) {
    this.#host = host;
    this.#node = node;
    this.#items = items;
    this.#scope = scope;
    this.#failFast = failFast;
    this.#kept = keptElements(node);
    this.outputs = new Array(items.length);
    this.paths = new Array(items.length);
  }

  /** Settles once the fan-out has ended; never rejects. */
  get ended(): Promise<unknown> {
    return this.#done.promise;
  }

  /** Starts what may start now; ends the fan-out when nothing runs and nothing more will. */
  pump(): void {
    if (this.#pumping) return; // an element that reported while it was being started
    this.#pumping = true;
    const items = this.#items;
    const limit = this.#node.concurrency;
    try {
      while (this.#running < limit && this.#next < items.length && !this.#stopped()) {
        const i = this.#next++;
        this.#running++;
        try {
          const element = elementNode(this.#node, i, this.#kept);
          this.paths[i] = element.path;
          this.#host.startStage(element, items[i], this.#scope, this, i);
        } catch (error) {
          this.fail(i, error); // an engine fault: the element fails with it, never hangs
        }
        // A microtask between slices: elements that settle at once end before the next
        // slice starts, so a huge list is not all in flight at the same time.
        if ((i & SLICE_MASK) === SLICE_MASK && this.#next < items.length) {
          inMicrotask(() => this.pump());
          return;
        }
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#running === 0 && (this.#next === items.length || this.#stopped())) this.#done.ok(0, undefined);
  }

  ok(index: number, value: unknown): void {
    this.outputs[index] = value;
    this.#ended();
  }

  fail(index: number, error: unknown): void {
    this.failures.set(index, error);
    if (!this.failed) {
      this.failed = true;
      this.firstError = error;
      if (this.#failFast) {
        this.#scope.abort(
          new CancelledError(
            this.#node.path,
            `element ${this.#node.path}[${index}] failed (fail-fast)`,
            'Elements',
          ),
        );
      }
    }
    this.#ended();
  }

  /** An element has ended: the next one starts, or the fan-out ends once none runs. */
  #ended(): void {
    this.#running--;
    // Once every element has started (most ends), no pump: one check instead of its loop.
    if (this.#next < this.#items.length) this.pump();
    else if (this.#running === 0) this.#done.ok(0, undefined);
  }

  /** Whether no more elements start: one failed under fail-fast, or the scope was aborted. */
  #stopped(): boolean {
    if (!(this.#failFast && this.failed) && !this.#scope.aborted) return false;
    this.cutShort = true;
    if (!this.failed) {
      // Cut short before an element failed: the group fails with the abort's reason.
      this.failed = true;
      this.firstError = this.#scope.reason;
    }
    return true;
  }
}
