/**
 * One pass of a run over a macro (its own, or a fallback): its stages, then its gates,
 * to an {@link Outcome}. Driven by callbacks, not an async frame: a run holds no suspended
 * function while its stages wait, only this object (the two async frames and the promises
 * that did this were ~1.7 KB of every live run).
 * @internal
 * @module
 */
import type { AsyncResource } from 'node:async_hooks';
import type { AbortScope, Hold, Watcher } from '../internal/abort-scope.js';
import type { Sink } from '../internal/deferred.js';
import { inMicrotask } from '../internal/microtask.js';
import { statusOf } from '../model/stage-status.js';
import { Chain, type StageStarter } from './chain.js';
import type { CompiledMacro, CompiledNode } from './compiled.js';
import { failedOutcome, type Outcome } from './failure.js';
import { checkMacroGates, type GateHost } from './gates.js';
import { macroEnded, macroStarted } from './run-events.js';

/** The run a pass belongs to: where its stages start, its gates judge, and its end is told. */
export interface PassHost extends StageStarter, GateHost {
  /** The run's async context (made in it): the pass's end goes on in it. */
  readonly asyncContext: AsyncResource;
  now(): number;
  /** The pass of `macro` ended with `outcome`. */
  passEnded(macro: CompiledMacro, outcome: Outcome): void;
  /** An engine fault on the way (a host method threw): the run rejects with it. */
  fault(error: unknown): void;
}

/** Where a pass is: its stages run, its gates run, or it has ended. */
const STAGES = 0;
const GATES = 1;
const ENDED = 2;

/**
 * Runs `macro`'s stages on `input` under `scope`, then its gates, and tells the host how
 * it ended. Once `scope` aborts, the stages get one more turn to end (they end within
 * microtasks, unless an engine fault lost one): then the pass ends with the abort.
 */
export class MacroPass implements Sink, Watcher<never> {
  readonly #host: PassHost;
  readonly #macro: CompiledMacro;
  readonly #scope: AbortScope;
  /**
   * The run's async context: the pass's end runs in it, as the awaits it replaced did, not
   * in the one whose code reported the last stage's end (a canceller's, say). Listeners
   * of `macro:end` and `run:end`, and the memory's final writes, see the run's stores.
   */
  readonly #context: AsyncResource;
  #startedAt = 0;
  #state = STAGES;
  #hold: Hold | undefined;

  constructor(host: PassHost, macro: CompiledMacro, scope: AbortScope) {
    this.#host = host;
    this.#macro = macro;
    this.#scope = scope;
    this.#context = host.asyncContext;
  }

  /** Emits `macro:start` and starts the first stage on `input`. */
  start(input: unknown): void {
    const host = this.#host;
    const { name } = this.#macro;
    this.#startedAt = host.now();
    macroStarted(host.journal, name, this.#startedAt);
    new Chain(host, this.#macro.children, input, this.#scope, this);
    // Reported at once (a stage could not start): no wait, no hold.
    if (this.#state === STAGES) this.#hold = this.#scope.hold(this);
  }

  /** The last stage ended with `value`: the gates, if any, then the outcome. (Sink, of the chain.) */
  ok(_index: number, value: unknown): void {
    if (this.#stagesEnded()) this.#later(true, value);
  }

  /** A stage failed, and with it the macro. (Sink, of the chain.) */
  fail(_index: number, error: unknown): void {
    if (this.#stagesEnded()) this.#later(false, error);
  }

  fulfilled(): void {} // a hold settles only by an abort

  /** The run aborted while the stages run: they get one more turn to end. (Watcher, of the hold.) */
  rejected(): void {
    if (this.#state === STAGES) setImmediate(giveUp, this); // a module function and an argument: no closure
  }

  /** The turn after the abort is over: the pass ends with it, if its stages have not. @internal */
  giveUp(): void {
    if (this.#stagesEnded()) this.#later(false, this.#scope.reason);
  }

  /** Marks the stages ended, once; false if they had (a second report, or the grace over first). */
  #stagesEnded(): boolean {
    if (this.#state !== STAGES) return false;
    this.#state = GATES;
    if (this.#hold !== undefined) this.#scope.release(this.#hold);
    return true;
  }

  /**
   * Goes on from the stages' end two microtasks later, in the run's context, as the awaits
   * it replaced did (the grace's reaction, then the await): not from inside the last stage's
   * report, and a cancel that a listener of that stage's end queued as far back still
   * decides the outcome.
   */
  #later(ok: boolean, value: unknown): void {
    inMicrotask(() => inMicrotask(() => this.#context.runInAsyncScope(this.#stagesDone, this, ok, value)));
  }

  /** The stages ended (`ok`: with the last one's output `value`; else failed with it): the gates, then the outcome. */
  #stagesDone(ok: boolean, value: unknown): void {
    if (!ok) {
      this.#failed(value);
      return;
    }
    const macro = this.#macro;
    if (macro.gates.length === 0) {
      this.#succeeded();
      return;
    }
    let gates: Promise<void>;
    try {
      gates = checkMacroGates(this.#host, macro.gates, value, macro.name, this.#scope, 1);
    } catch (error) {
      gates = Promise.reject(error);
    }
    gates.then(
      () => this.#succeeded(),
      (error: unknown) => this.#failed(error),
    );
  }

  #succeeded(): void {
    const scope = this.#scope;
    let outcome: Outcome;
    try {
      // Cancelled (or out of time) while the macro ran, even if its last stage then ended:
      // the abort decides the run's status (see docs/failure-semantics.md, Precedence).
      outcome = scope.aborted
        ? failedOutcome(scope.reason, this.#macro.name, scope)
        : { status: 'succeeded', output: this.#recordedOutput(this.#macro.children) };
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.#ended(outcome);
  }

  #failed(caught: unknown): void {
    const scope = this.#scope;
    let outcome: Outcome;
    try {
      // Once the run is cancelled or out of time, that decides its status, even when a
      // settle-mode branch had already failed for another reason.
      outcome = failedOutcome(scope.aborted ? scope.reason : caught, this.#macro.name, scope);
    } catch (fault) {
      this.#state = ENDED;
      this.#host.fault(fault);
      return;
    }
    this.#ended(outcome);
  }

  /** Records the macro's span and `macro:end`, then tells the host. */
  #ended(outcome: Outcome): void {
    if (this.#state === ENDED) return;
    this.#state = ENDED;
    this.#report(outcome);
  }

  #report(outcome: Outcome): void {
    const host = this.#host;
    try {
      const { name } = this.#macro;
      const startedAt = this.#startedAt;
      const endedAt = host.now();
      const status = outcome.status === 'succeeded' ? 'succeeded' : statusOf(outcome.error);
      host.journal.timeline.push({
        scope: 'macro',
        path: name,
        name,
        status,
        attempt: 1,
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
      });
      const error = outcome.status === 'succeeded' ? undefined : outcome.error;
      macroEnded(host.journal, name, endedAt, status, endedAt - startedAt, error);
    } catch (error) {
      host.fault(error);
      return;
    }
    // A microtask after `macro:end`, as the run's await of the pass took: a cancel that a
    // listener of it queued stops a fallback from starting.
    inMicrotask(() => host.passEnded(this.#macro, outcome));
  }

  /** The recorded output of a macro: its last stage's recorded snapshot (a macro has at least one stage). */
  #recordedOutput(children: readonly CompiledNode[]): unknown {
    return this.#host.journal.record(children[children.length - 1] as CompiledNode).output;
  }
}

/** What the Immediate after an abort calls. */
function giveUp(pass: MacroPass): void {
  pass.giveUp();
}
