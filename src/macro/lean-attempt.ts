/**
 * A lean stage attempt (see `leanPipeline`): the object that watches its agent call
 * and finishes the stage in that call's callbacks, reporting the end to a sink.
 * @internal
 * @module
 */
import type { AbortScope, Watcher } from '../internal/abort-scope.js';
import type { Sink } from '../internal/deferred.js';
import type { LeanPipeline } from '../protocol/execution.js';
import { agentFailure } from './agent-call.js';
import type { CompiledAgentStage } from './compile.js';
import type { RunExecution } from './executor.js';
import type { Invocation } from './invocation.js';

/**
 * A lean stage attempt, watching its agent call: on success the engine checks the
 * output, runs the QA pass and finishes the stage (or hands it to the generic loop);
 * on failure (or an abort) it records the phase and stage failures; either way the
 * end goes to its sink. Only the first of these counts. @internal
 */
export class LeanAttempt implements Watcher<unknown> {
  readonly exec: RunExecution;
  readonly node: CompiledAgentStage;
  readonly lean: LeanPipeline;
  /** The stage's input, after its `input` mapper. */
  readonly input: unknown;
  readonly attempt: number;
  readonly startedAt: number;
  /** When the draft phase started. */
  readonly phaseStartedAt: number;
  /** The attempt's scope: `parent`, or its own child when the stage has a time budget. */
  readonly scope: AbortScope;
  readonly parent: AbortScope;
  readonly invocation: Invocation;
  readonly sink: Sink;
  readonly index: number;
  #settled = false;

  constructor(
    exec: RunExecution,
    node: CompiledAgentStage,
    lean: LeanPipeline,
    input: unknown,
    attempt: number,
    startedAt: number,
    phaseStartedAt: number,
    scope: AbortScope,
    parent: AbortScope,
    invocation: Invocation,
    sink: Sink,
    index: number,
  ) {
    this.exec = exec;
    this.node = node;
    this.lean = lean;
    this.input = input;
    this.attempt = attempt;
    this.startedAt = startedAt;
    this.phaseStartedAt = phaseStartedAt;
    this.scope = scope;
    this.parent = parent;
    this.invocation = invocation;
    this.sink = sink;
    this.index = index;
  }

  fulfilled(output: unknown): void {
    // Late: the scope aborted first, and the attempt has failed with that.
    if (this.#settled) return;
    this.#settled = true;
    this.invocation.close();
    try {
      this.exec.leanDrafted(this, output);
    } catch (error) {
      this.sink.fail(this.index, error); // a fault of the engine's own: reported, never lost
    }
  }

  rejected(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.invocation.close();
    const failure = agentFailure(error, this.node.agent, this.node.path, this.scope);
    // In a microtask of its own: an abort calls this synchronously, and the stage's
    // events must not be emitted from inside `abort()`, nor its sink told (a fail-fast
    // join would abort again) while the aborting code runs.
    queueMicrotask(() =>
      this.sink.fail(this.index, this.exec.leanFailed(this, this.lean.draft, this.phaseStartedAt, failure)),
    );
  }
}

/** Reports `error` to `sink` in a microtask, as a rejection would arrive. */
export function reportLater(sink: Sink, index: number, error: unknown): void {
  queueMicrotask(() => sink.fail(index, error));
}
