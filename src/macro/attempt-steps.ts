/**
 * The steps of an agent stage's attempt, phase by phase: a phase runs synchronously until
 * it waits (for its returned promise, or the call or gates it started with `invokeInto` /
 * `checkGatesInto`), and the attempt goes on from that wait's callback, holding no async
 * frame or promise chain of its own. @internal
 * @module
 */
import type { MacroError } from '../errors.js';
import type { AbortScope, Watcher } from '../internal/abort-scope.js';
import type { Sink } from '../internal/deferred.js';
import { noop } from '../internal/noop.js';
import { snapshot } from '../internal/snapshot.js';
import {
  applyQaPass,
  type ExecutionStage,
  type PhaseContext,
  type PipelineState,
} from '../protocol/execution.js';
import { gatesFailed, isThenable } from '../protocol/quality-gates.js';
import { agentFailure, answerOf } from './agent-call.js';
import {
  ARTEFACTS,
  type AttemptHost,
  BESIDES,
  CALL,
  EMPTY_FEEDBACK,
  ENDED,
  endOnceStored,
  FAILING,
  failLater,
  GATE_PASS,
  GATE_PASS_SHIFT,
  GATES,
  IN_EXECUTE,
  intoProblem,
  NONE,
  OWN_SCOPE,
  PHASE,
  REPORTED,
  reportLater,
  returnedBesides,
  STARTING,
  UNREAD,
  WAIT,
} from './attempt-state.js';
import type { CompiledAgentStage } from './compiled.js';
import { normalise } from './failure.js';
import type { GateCheck } from './gates.js';
import type { Invocation } from './invocation.js';
import { stageInput } from './stage-io.js';
import { timedScope } from './stage-scope.js';
import type { Artefact, GateVerdict } from './types.js';

/**
 * One attempt's steps, reported to a sink: the pipeline state its phases receive and the
 * watcher of what the current phase waits for; AgentAttempt adds the PhaseContext. @internal
 */
export abstract class AttemptSteps implements PipelineState, Watcher<unknown> {
  output: unknown = undefined;
  agent: string;
  passed = true;
  verdicts: readonly GateVerdict[] = EMPTY_FEEDBACK;
  qaPasses = 0;

  /** The stage's input: the group's value until `start()` maps it. */
  input: unknown;
  readonly attempt: number;

  readonly #host: AttemptHost;
  readonly #node: CompiledAgentStage;
  readonly #sink: Sink;
  readonly #index: number;
  /** The attempt's scope: the one it started under, or its own child when the stage has a time budget. */
  #scope: AbortScope;
  /** The running phase's scope: `#scope`, or its own child when the phase has a time budget. */
  #phaseScope: AbortScope;
  #startedAt = UNREAD;
  #phaseStartedAt = UNREAD;
  #phase = 0; // index of the running phase in the pipeline
  /** What the attempt waits for (WAIT bits) and its flags. */
  #bits = STARTING;
  #invocation: Invocation | undefined = undefined; // the pending into-call's (it knows its agent)

  constructor(
    host: AttemptHost,
    node: CompiledAgentStage,
    input: unknown,
    parent: AbortScope,
    attempt: number,
    sink: Sink,
    index: number,
  ) {
    this.#host = host;
    this.#node = node;
    this.input = input;
    this.#scope = parent;
    this.#phaseScope = parent;
    this.attempt = attempt;
    this.#sink = sink;
    this.#index = index;
    this.agent = node.agent.id;
  }

  /** Starts the attempt: `stage:start`, the input mapper, then the phases until one waits. */
  start(): void {
    const host = this.#host;
    const node = this.#node;
    this.#startedAt = host.journal.stageStarted(node, this.attempt);
    if (node.timeoutMs !== undefined) {
      this.#scope = this.#phaseScope = timedScope(this.#scope, node.timeoutMs, node.path);
      this.#bits |= OWN_SCOPE;
    }
    try {
      this.input = stageInput(node, this.input, host.context);
    } catch (caught) {
      this.failStage(caught);
    }
    try {
      // The clock is read once per step (~80 ns a reading): the first phase starts as the stage does.
      if ((this.#bits & ENDED) === 0) this.step(0, this.#startedAt);
    } catch (caught) {
      this.fault(caught);
    }
    this.#bits &= ~STARTING;
  }

  /** Runs the phases from index `from` (`at`: the clock reading the next one starts at). */
  private step(from: number, at: number): void {
    const host = this.#host;
    const node = this.#node;
    const phases = node.pipeline;
    let now = at;
    for (let p = from; p < phases.length; p++) {
      const phase = phases[p] as ExecutionStage;
      let runs: boolean;
      try {
        runs = phase.shouldRun(this, this.asContext());
      } catch (caught) {
        this.failStage(caught);
        return;
      }
      if (!runs) continue;
      this.#phase = p;
      this.#phaseStartedAt = host.journal.phaseStarted(node.path, phase, this.attempt, now);
      if (p > 0 && this.#scope.aborted) {
        // Aborted since the phase before ended (while the stage waited for its turn, or by a
        // listener of its end): this one is recorded as failed, not run.
        this.failPhase(this.#scope.reason);
        return;
      }
      const budget = node.phaseTimeoutsMs?.get(phase.name);
      if (budget !== undefined) this.#phaseScope = timedScope(this.#scope, budget, node.path, phase.name);
      this.#bits |= IN_EXECUTE;
      try {
        const returned = phase.execute(this, this.asContext());
        if (returned !== undefined && isThenable(returned)) this.waitFor(returned);
      } catch (caught) {
        this.#bits &= ~IN_EXECUTE;
        // Already failing (its into-call failed at once): that first failure is recorded.
        if ((this.#bits & WAIT) !== FAILING) this.failPhase(caught);
        return;
      }
      this.#bits &= ~IN_EXECUTE;
      if ((this.#bits & WAIT) !== NONE) return; // goes on in fulfilled() or rejected()
      if (this.#phaseScope.aborted) {
        this.failPhase(this.#phaseScope.reason);
        return;
      }
      now = this.phaseEnded();
    }
    this.pipelineEnded(now);
  }

  /** Waits for the promise a phase returned: after its into-call, if it started one. */
  private waitFor(returned: PromiseLike<unknown>): void {
    const promise = returned instanceof Promise ? returned : Promise.resolve(returned);
    if ((this.#bits & WAIT) === NONE) {
      this.#bits = (this.#bits & ~WAIT) | PHASE;
      this.#phaseScope.watch(promise, this);
    } else if ((this.#bits & WAIT) !== FAILING) {
      promise.catch(noop); // observed now, so that a rejection before the call is done is not unhandled
      returnedBesides.set(this, promise);
      this.#bits |= BESIDES;
    } else promise.catch(noop);
  }

  fulfilled(value: unknown): void {
    const wait = this.#bits & WAIT;
    if (wait === NONE || wait === FAILING) return; // late: the attempt has already failed
    this.#bits = (this.#bits & ~WAIT) | NONE;
    try {
      if (wait === CALL) {
        const invocation = this.#invocation as Invocation;
        this.#invocation = undefined;
        this.output = answerOf(invocation, value, this.#node);
        this.agent = invocation.callee.id;
      } else if (wait === GATES) applyQaPass(this, value as GateCheck);
      // Aborted by what took the answer (an output schema's transform): no later phase runs.
      if (this.#phaseScope.aborted) throw this.#phaseScope.reason;
    } catch (caught) {
      this.failPhase(caught);
      return;
    }
    // Once the turn's budget is spent, it goes on in a later turn, or as soon as its scope
    // aborts; the answer came in time either way, so the phase it ends then succeeds.
    if (this.#host.turns.admit(this, this.#scope)) this.proceed();
  }

  /** Goes on once a wait is over (see fulfilled). */
  proceed(): void {
    try {
      this.resume();
    } catch (caught) {
      this.fault(caught);
    }
  }

  rejected(error: unknown): void {
    const wait = this.#bits & WAIT;
    if (wait === NONE || wait === FAILING) return;
    this.#bits = (this.#bits & ~WAIT) | FAILING;
    let failure = error;
    if (wait === CALL) {
      const invocation = this.#invocation as Invocation;
      invocation.close();
      failure = agentFailure(error, invocation.callee, this.#node.path, this.#phaseScope);
    }
    // In a microtask of its own: an abort calls this synchronously, and the stage's events
    // must not be emitted from inside `abort()`, nor its sink told (a fail-fast join would
    // abort again) while the aborting code runs.
    failLater(this, failure);
  }

  /** Goes on once a wait is over: with the phase's own promise, or the next phase. */
  private resume(): void {
    if ((this.#bits & BESIDES) !== 0) {
      const returned = returnedBesides.get(this) as Promise<unknown>;
      returnedBesides.delete(this);
      this.#bits = (this.#bits & ~(WAIT | BESIDES)) | PHASE;
      this.#phaseScope.watch(returned, this);
      return;
    }
    this.step(this.#phase + 1, this.phaseEnded());
  }

  /** Ends the running phase (its scope has not aborted, or aborted after it was done); returns its end time. */
  private phaseEnded(): number {
    const scope = this.#phaseScope;
    if (scope !== this.#scope) {
      scope.dispose();
      this.#phaseScope = this.#scope;
    }
    const phase = this.#node.pipeline[this.#phase] as ExecutionStage;
    return this.#host.journal.phaseSucceeded(this.#node.path, phase, this.attempt, this.#phaseStartedAt);
  }

  /** Every phase has run: the gates' final word, then the stage's record, checkpoint and end. */
  private pipelineEnded(endedAt: number): void {
    this.#bits |= ENDED;
    const host = this.#host;
    const node = this.#node;
    try {
      if (!this.passed) throw gatesFailed(node.path, this.verdicts);
      if ((this.#bits & ARTEFACTS) !== 0) host.journal.delivered(node.path, this.artefacts);
    } catch (caught) {
      this.failStage(caught);
      return;
    }
    if ((this.#bits & OWN_SCOPE) !== 0) this.#scope.dispose();
    const output = this.output;
    const record = host.journal.stageSucceeded(
      node,
      this.attempt,
      snapshot(output),
      this.agent,
      this.#startedAt,
      endedAt,
    );
    const storing = host.checkpoint(record);
    if (storing === undefined) {
      host.journal.stageEnded(record, record.endedAt);
      this.report(true, output);
      return;
    }
    this.#bits |= REPORTED; // by endOnceStored
    endOnceStored(storing, host.journal, record, this.#sink, this.#index, output);
  }

  /** Records the running phase's failure, then the stage's (public for failLater). @internal */
  failPhase(caught: unknown): void {
    if ((this.#bits & ENDED) !== 0) return; // the stage has ended: a phase fails once, before that
    const phase = this.#node.pipeline[this.#phase] as ExecutionStage;
    const { path } = this.#node;
    let error: MacroError;
    try {
      error = normalise(caught, path, this.#phaseScope);
      this.#host.journal.phaseFailed(path, phase, this.attempt, error, this.#phaseStartedAt);
    } catch (fault) {
      this.fault(fault);
      return;
    }
    this.failStage(error);
  }

  /** Records the stage's failure and reports it; what its pending call reports from now on is dropped. */
  private failStage(caught: unknown): void {
    this.#bits = (this.#bits & ~WAIT) | FAILING | ENDED;
    this.#invocation?.close();
    let error: MacroError;
    try {
      if (this.#phaseScope !== this.#scope) {
        this.#phaseScope.dispose();
        this.#phaseScope = this.#scope;
      }
      if ((this.#bits & OWN_SCOPE) !== 0) this.#scope.dispose(); // its timer; aborted stays aborted
      error = normalise(caught, this.#node.path, this.#scope);
      this.#host.journal.stageFailed(this.#node, this.attempt, error, this.#startedAt);
    } catch (fault) {
      this.report(false, fault); // the engine's own fault, on the way to recording this one
      return;
    }
    this.report(false, error);
  }

  /** A fault of the engine's own (a host method threw): recorded as the stage's failure if it can be, and reported. */
  private fault(caught: unknown): void {
    if ((this.#bits & ENDED) === 0) this.failStage(caught);
    this.#bits = (this.#bits & ~WAIT) | FAILING | ENDED;
    this.report(false, caught); // nothing, if failStage has reported
  }

  /** Tells the sink how the attempt ended, once; in a microtask while `start()` runs. */
  private report(ok: boolean, value: unknown): void {
    if ((this.#bits & REPORTED) !== 0) return;
    this.#bits |= REPORTED;
    // As a promise would: never from inside the caller's loop (a chain would recurse).
    if ((this.#bits & STARTING) !== 0) reportLater(this.#sink, this.#index, ok, value);
    else if (ok) this.#sink.ok(this.#index, value);
    else this.#sink.fail(this.#index, value);
  }

  abstract artefacts: Artefact[]; // AgentAttempt keeps them in `artefactsOf`, calling `delivering`
  /** Notes that the attempt has an artefacts list (a flag, not a lookup per stage). */
  protected delivering(): void {
    this.#bits |= ARTEFACTS;
  }
  /** The attempt as its phases' context: the subclass, AgentAttempt. */
  protected abstract asContext(): PhaseContext;

  protected get host(): AttemptHost {
    return this.#host;
  }
  protected get node(): CompiledAgentStage {
    return this.#node;
  }
  protected get phaseScope(): AbortScope {
    return this.#phaseScope;
  }

  /** Waits for the into-call `invocation` (made by the subclass): the phase ends once it has answered (see fulfilled). */
  protected waitForCall(invocation: Invocation): void {
    const scope = this.#phaseScope;
    this.#invocation = invocation;
    this.#bits = (this.#bits & ~WAIT) | CALL;
    if (scope.aborted) this.rejected(scope.reason);
    else this.#host.caller.watch(invocation.callee, this.input, invocation, scope, this);
  }

  /** Starts a QA pass's wait on pending gates (see fulfilled). */
  protected waitForGates(checked: Promise<GateCheck>): void {
    this.#bits = (this.#bits & ~WAIT) | GATES;
    this.#phaseScope.watch(checked, this);
  }

  /** The number of the next QA pass in this attempt (the pass number of its verdicts). */
  protected nextGatePass(): number {
    this.#bits += GATE_PASS;
    return this.#bits >>> GATE_PASS_SHIFT;
  }

  /** Why invokeInto or checkGatesInto cannot start now, or undefined if it can. */
  protected intoProblem(state: PipelineState): string | undefined {
    return intoProblem(state === this, this.#bits);
  }

  protected get phaseName(): string {
    return (this.#node.pipeline[this.#phase] as ExecutionStage).name;
  }

  /** Whether the pipeline is over (calls from work a phase left behind are refused). */
  protected get ended(): boolean {
    return (this.#bits & ENDED) !== 0;
  }
}
