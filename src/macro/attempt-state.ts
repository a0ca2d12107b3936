/**
 * The encoding of an agent attempt's state (what it waits for, its flags: one small
 * integer, since a stage in flight holds the attempt) and the callbacks it makes outside
 * its own methods.
 * @internal
 * @module
 */
import type { Agent } from '../agents/agent.js';
import type { Sink } from '../internal/deferred.js';
import { inMicrotask } from '../internal/microtask.js';
import type { TurnBudget } from '../scheduling/turn-budget.js';
import type { AgentCaller } from './agent-call.js';
import type { GateHost } from './gates.js';
import type { InvocationHost } from './invocation.js';
import type { Journal } from './journal.js';
import type { Artefact, GateVerdict, StageRecord } from './types.js';

/** What an attempt needs from its run: its journal, agents and checkpoints. @internal */
export interface AttemptHost extends InvocationHost, GateHost {
  readonly journal: Journal;
  readonly caller: AgentCaller;
  /** Queues the stage's checkpoint; returns the write to wait for under `'sync'` durability. */
  checkpoint(record: StageRecord): Promise<void> | undefined;
  agent(id: string): Agent | undefined;
  /** The turn budget a stage goes on under once its wait is over. */
  readonly turns: TurnBudget;
}

export const EMPTY_FEEDBACK: readonly GateVerdict[] = Object.freeze([]);

// What the attempt waits for (#wait), in the low bits of #bits.
export const NONE = 0;
/** The promise the current phase returned. */
export const PHASE = 1;
/** The agent call the phase started with invokeInto. */
export const CALL = 2;
/** The gates the phase started with checkGatesInto. */
export const GATES = 3;
/** A failure, reported in a microtask: the phase neither goes on nor waits for anything else. */
export const FAILING = 4;
export const WAIT = 7;

// Flags, in #bits above the wait: one small integer rather than a field each, since a
// stage in flight holds this object (every field is 8 bytes per stage).
/** The synchronous part of a phase's `execute` is running: invokeInto and checkGatesInto may start. */
export const IN_EXECUTE = 8;
/** `start()` has not returned: an end reported now would reach the caller inside its own loop. */
export const STARTING = 16;
/** The pipeline is over: calls from work a phase left behind are refused. */
export const ENDED = 32;
/** The sink has been told: nothing is reported twice. */
export const REPORTED = 64;
/** The stage has a time budget, so #scope is its own child of the scope it started under. */
export const OWN_SCOPE = 128;
/** A promise the phase returned besides its into-call waits in `returnedBesides`. */
export const BESIDES = 256;
/** The attempt's artefacts list is in `artefactsOf` (a flag: a WeakMap lookup costs ~60 instructions a stage). */
export const ARTEFACTS = 512;
/** QA passes started, counted in #bits from this bit up (2^21 passes before it overflows a Smi). */
export const GATE_PASS_SHIFT = 10;
export const GATE_PASS = 1 << GATE_PASS_SHIFT;

/**
 * A time field before its first clock reading: no number, so that V8 keeps the field
 * tagged and holds the reading's boxed number, which the stage's record and spans share,
 * rather than a box of its own that each of them copies (see journal.ts).
 */
export const UNREAD = undefined as unknown as number;

/** Why invokeInto or checkGatesInto cannot start in an attempt whose state is `bits`, or undefined if it can. */
export function intoProblem(ownState: boolean, bits: number): string | undefined {
  if (!ownState) return "takes the pipeline state the phase's execute received";
  if ((bits & IN_EXECUTE) === 0) {
    return "must be called from the synchronous part of a phase's execute (use invoke or checkGates after an await)";
  }
  return (bits & WAIT) !== NONE ? 'can start one call or QA pass per phase' : undefined;
}

// Closures the attempt needs only sometimes are made by these module functions: written
// inline in a method, a closure's captured variables would be allocated in a context on
// every call of that method, whether or not the closure is made (once per stage).

/** Fails `attempt`'s running phase with `failure` in a microtask. */
export function failLater(attempt: { failPhase(caught: unknown): void }, failure: unknown): void {
  inMicrotask(() => attempt.failPhase(failure));
}

/** Tells `sink` how an attempt ended, in a microtask. */
export function reportLater(sink: Sink, index: number, ok: boolean, value: unknown): void {
  inMicrotask(() => (ok ? sink.ok(index, value) : sink.fail(index, value)));
}

/** Under `'sync'` durability: `stage:end` once the checkpoint is stored (the write never rejects), then the sink. */
export function endOnceStored(
  storing: Promise<void>,
  journal: Journal,
  record: StageRecord,
  sink: Sink,
  index: number,
  output: unknown,
): void {
  void storing.then(() => {
    journal.stageEnded(record, journal.now());
    sink.ok(index, output);
  });
}

/**
 * The promise a phase returned besides its into-call, waited for once that call is done:
 * beside the attempt, not in a field of it, since almost no phase does both.
 */
export const returnedBesides = new WeakMap<object, Promise<unknown>>();

/** The artefacts a stage's phases deliver, made on first use (most stages deliver none), beside the attempt. */
export const artefactsOf = new WeakMap<object, Artefact[]>();
