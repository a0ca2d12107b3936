/**
 * What `MacroQueue.enqueue` takes beside the macro and its context, checked in the
 * producer's process: a bad value is refused where it was written, not on a worker later.
 * @internal
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { describe, MacroError } from '../errors.js';
import { assertJsonSerialisable } from '../internal/json.js';
import { kindOf } from '../internal/safe.js';
import { parseContext, parseOptions, RunOptionsSchema } from '../macro/run-input.js';
import type { MacroContextInput } from '../model/context.js';
import { KEEP_SECONDS, type RunJobData } from './keys.js';

/** Options of {@link MacroQueue.enqueue}. */
export interface EnqueueOptions {
  /**
   * The run's id (and the job's): enqueueing an id already queued adds nothing (BullMQ
   * keeps job ids unique), which makes a retried enqueue safe. 1 to 256 characters, no
   * `:`, not an integer (BullMQ's rule). @default a random UUID
   */
  readonly runId?: string;
  /** Input of the first stage; it travels as JSON. @default context.intent */
  readonly input?: unknown;
  /** Time budget of the run in ms, counted from when a worker starts it. @default no budget */
  readonly timeoutMs?: number;
  /** Absolute deadline of the run (epoch ms). */
  readonly deadline?: number;
  /** BullMQ priority, a whole number from 1 (the highest) to 2,097,152; unset or 0 runs before any prioritised job. */
  readonly priority?: number;
  /** Start no earlier than this many ms from now. */
  readonly delayMs?: number;
  /**
   * Whether the worker writes the run's events to Redis for `MacroQueue.events`. `false`
   * for runs whose events nobody follows: the worker subscribes nothing to the run, so the
   * engine builds none of its events but `run:end`, and writes none (~5 KB and a stream
   * entry per turn of a 10-stage run); `result()` and `cancel()` work as before, and
   * `events(runId)` rejects with `INVALID_OPTIONS`. Workers older than this option ignore
   * it and write the events: update the workers first. @default true
   */
  readonly events?: boolean;
}

/** BullMQ's lowest priority (2^21); 0 is none. */
const LOWEST_PRIORITY = 2_097_152;

// input, timeoutMs and deadline as `run()` takes them; Infinity (no budget) is left out of the job: it is not JSON.
const EnqueueOptionsSchema = RunOptionsSchema.pick({ input: true, timeoutMs: true, deadline: true }).extend({
  runId: z
    .string()
    .min(1)
    .max(256)
    .refine((id) => !id.includes(':'), { message: 'Expected no ":" (it separates Redis key parts)' })
    // BullMQ's own rule: a job id that reads as an integer would be taken for one of its own.
    .refine((id) => String(Number.parseInt(id, 10)) !== id, {
      message: 'Expected an id that is not an integer',
    })
    .optional(),
  priority: z.number().int().min(0).max(LOWEST_PRIORITY).optional(),
  delayMs: z.number().finite().min(0).optional(),
  events: z.boolean().optional(),
});

/** A job to add: its run's id, its data and BullMQ's options for it. */
export interface RunJob {
  readonly runId: string;
  readonly data: RunJobData;
  readonly options: JobsOptions;
}

/**
 * The job of a run of `macro`: its options checked (zod's copy is what is used), its context
 * checked as the workers will parse its JSON, its input checked for JSON, so that what a
 * worker or BullMQ would refuse is refused here, with its place named.
 * @throws {MacroError} `INVALID_OPTIONS` for the macro's name, an option or the input,
 * `INVALID_CONTEXT` for the context.
 */
export function runJob(
  macro: unknown,
  context: MacroContextInput,
  options: EnqueueOptions | undefined,
  keepSeconds: number,
): RunJob {
  if (typeof macro !== 'string' || macro.length === 0) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Expected the macro's name to be a non-empty string, got ${kindOf(macro)}`,
    );
  }
  const parsed = parseOptions('enqueue options', options ?? {}, EnqueueOptionsSchema);
  const { runId = randomUUID(), input, timeoutMs, deadline, priority, delayMs, events } = parsed;
  const data: { -readonly [K in keyof RunJobData]: RunJobData[K] } = {
    macro,
    context: workersView(context, macro),
  };
  if (input !== undefined) {
    try {
      assertJsonSerialisable(input);
    } catch (error) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Cannot enqueue a run whose input is not JSON: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    data.input = input;
  }
  if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) data.timeoutMs = timeoutMs;
  if (deadline !== undefined) data.deadline = deadline;
  if (keepSeconds !== KEEP_SECONDS) data.keepSeconds = keepSeconds;
  if (events === false) data.events = false;
  return {
    runId,
    data,
    options: {
      jobId: runId,
      // Only a run that could not start is tried again (memory unreachable): a stage's
      // failure is in the result, and its retries belong to the stage's policy.
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: keepSeconds },
      removeOnFail: { age: keepSeconds },
      ...(priority === undefined || priority === 0 ? {} : { priority }),
      ...(delayMs === undefined ? {} : { delay: delayMs }),
    },
  };
}

/**
 * The context as the workers will see it, its JSON read back (what a key holding `undefined`
 * or a `Map` becomes there), checked as they will parse it.
 * @throws {MacroError} `INVALID_CONTEXT`: JSON cannot hold it, or the workers would refuse it.
 */
function workersView(context: MacroContextInput, macro: string): MacroContextInput {
  let text: string | undefined;
  try {
    text = JSON.stringify(context);
  } catch (error) {
    throw new MacroError(
      'INVALID_CONTEXT',
      `Cannot enqueue a run whose context is not JSON: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  // undefined (no JSON at all): parseContext names what is wrong with it.
  const view = text === undefined ? context : (JSON.parse(text) as MacroContextInput);
  parseContext(view, macro);
  return view;
}
