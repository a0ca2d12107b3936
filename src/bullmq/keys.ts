/**
 * What the producer and the workers of one queue agree on: the job's data, the Redis keys
 * of a run's event stream and cancellation, and how an event travels as JSON.
 * @internal
 * @module
 */
import type { MacroEvent } from '../events.js';
import type { MacroContextInput } from '../model/context.js';

/** The queue name used when none is given. */
export const DEFAULT_QUEUE = 'macro-orchestrator';

/** A job: one run to start (or, redelivered, to resume). The job id is the run id. */
export interface RunJobData {
  readonly macro: string;
  readonly context: MacroContextInput;
  /** Present when the producer gave an input (`undefined` is not JSON). */
  readonly input?: unknown;
  readonly timeoutMs?: number;
  readonly deadline?: number;
  /** How long the run's event stream stays after it ends, in seconds, when not {@link KEEP_SECONDS}. */
  readonly keepSeconds?: number;
  /** `false` when the producer asked for no events (`EnqueueOptions.events`): the worker writes none. */
  readonly events?: false;
}

declare const packed: unique symbol;

/**
 * A run's result as its job's return value: the `MacroResult` with its timeline spans and
 * stage records as tuples, times relative to its start (the form SQL memory stores; a
 * 10-stage run's is 2.1 KB of JSON against 5.2 KB, and BullMQ writes it twice). Read it
 * with `MacroQueue.result(runId)`.
 */
export type PackedResult = { readonly [packed]: true };

/** The Redis keys of one queue's runs (under BullMQ's prefix and the queue's name). */
export function runKeys(prefix: string, queue: string) {
  const base = `${prefix}:${queue}:mo`;
  return {
    /** A run's events, a Redis stream of `{ c: <json array> }` entries, one per turn (see event-stream.ts; older workers wrote `b` and `e` entries). */
    events: (runId: string) => `${base}:events:${runId}`,
    /** Set when a run is cancelled: a worker that starts it later finds it. */
    cancelled: (runId: string) => `${base}:cancelled:${runId}`,
    /** The channel cancellations are published on (the run id as message). */
    cancelChannel: `${base}:cancel`,
  };
}

export type RunKeys = ReturnType<typeof runKeys>;

/** How long a finished run's job and event stream stay in Redis by default, and a cancellation mark always, in seconds. */
export const KEEP_SECONDS = 24 * 3600;

/** `seconds` when it is a whole number of seconds ≥ 1 (what Redis's EXPIRE takes), else `undefined`. */
export function keepFor(seconds: unknown): number | undefined {
  return Number.isSafeInteger(seconds) && (seconds as number) >= 1 ? (seconds as number) : undefined;
}

/**
 * An event as JSON: a BigInt becomes the string `"12n"`; an event JSON cannot hold at all
 * (a cycle or a throwing getter in an output) is sent without its outputs and results,
 * marked `lossy: true`, so its place in the sequence is kept.
 */
export function eventJson(event: MacroEvent): string {
  try {
    // Without a replacer first: calling one per value costs more than the rest of the
    // stringify; only a BigInt (a TypeError) needs it.
    return JSON.stringify(event);
  } catch {}
  try {
    return JSON.stringify(event, (_, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
  } catch {
    const { output: _o, result: _r, ...rest } = event as MacroEvent & { output?: unknown; result?: unknown };
    try {
      return JSON.stringify({ ...rest, lossy: true });
    } catch {
      const { type, runId, seq, at, path, labels } = event;
      try {
        // Its labels too (a stream leaves out labels that did not change: the next event needs them).
        return JSON.stringify({ type, runId, seq, at, path, labels, lossy: true });
      } catch {
        return JSON.stringify({ type, runId, seq, at, path, lossy: true });
      }
    }
  }
}
