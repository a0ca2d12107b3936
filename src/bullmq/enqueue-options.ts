/**
 * What `MacroQueue.enqueue` takes beside the macro and its context, checked in the
 * producer's process: a bad value is refused where it was written, not on a worker later.
 * @internal
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { MacroError } from '../errors.js';
import { checkOptionKeys, kindOf } from '../internal/options.js';
import { invalidOptions, parseContext } from '../macro/run-input.js';
import type { MacroContextInput } from '../model/context.js';
import { KEEP_SECONDS, type RunJobData } from './keys.js';

/** Options of {@link MacroQueue.enqueue}. */
export interface EnqueueOptions {
  /**
   * The run's id (and the job's): enqueueing an id already queued adds nothing (BullMQ
   * keeps job ids unique), which makes a retried enqueue safe. 1 to 256 characters, no
   * `:`. @default a random UUID
   */
  readonly runId?: string;
  /** Input of the first stage; it travels as JSON. @default context.intent */
  readonly input?: unknown;
  /** Time budget of the run in ms, counted from when a worker starts it. @default no budget */
  readonly timeoutMs?: number;
  /** Absolute deadline of the run (epoch ms). */
  readonly deadline?: number;
  /** BullMQ priority, a whole number from 1 (the highest) to 2,097,152; unset runs before any prioritised job. */
  readonly priority?: number;
  /** Start no earlier than this many ms from now. */
  readonly delayMs?: number;
  /**
   * Whether the worker writes the run's events to Redis for `MacroQueue.events`. `false`
   * for runs whose events nobody follows: the worker then neither builds nor writes them
   * (~5 KB and a stream entry per turn of a 10-stage run), `result()` and `cancel()` work
   * as before, and `events(runId)` rejects with `INVALID_OPTIONS`. @default true
   */
  readonly events?: boolean;
}

/** BullMQ's lowest priority (2^21). */
const LOWEST_PRIORITY = 2_097_152;

const EnqueueOptionsSchema = z.strictObject({
  runId: z
    .string()
    .min(1)
    .max(256)
    .refine((id) => !id.includes(':'), { message: 'Expected no ":" (it separates Redis key parts)' })
    .optional(),
  input: z.unknown().optional(),
  // Infinity (no budget) is not JSON: it is left out of the job.
  timeoutMs: z.number().positive().or(z.literal(Number.POSITIVE_INFINITY)).optional(),
  deadline: z.number().finite().optional(),
  priority: z.number().int().min(1).max(LOWEST_PRIORITY).optional(),
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
 * The job of a run of `macro`, its options checked (and its context, as the worker will
 * parse it) and its data made JSON once here, so that what BullMQ cannot write is refused
 * with its place named.
 * @throws {MacroError} `INVALID_OPTIONS` for the macro's name or an option (named),
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
  checkOptionKeys('enqueue options', options, Object.keys(EnqueueOptionsSchema.shape));
  // The parsed copy is what is used: a getter is read once, by the check.
  const parsed = EnqueueOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw invalidOptions('enqueue options', parsed.error);
  parseContext(context, macro);
  const { runId = randomUUID(), input, timeoutMs, deadline, priority, delayMs, events } = parsed.data;
  const data: { -readonly [K in keyof RunJobData]: RunJobData[K] } = { macro, context };
  if (input !== undefined) data.input = input;
  if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) data.timeoutMs = timeoutMs;
  if (deadline !== undefined) data.deadline = deadline;
  if (keepSeconds !== KEEP_SECONDS) data.keepSeconds = keepSeconds;
  if (events === false) data.events = false;
  jsonOf(data);
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
      ...(priority === undefined ? {} : { priority }),
      ...(delayMs === undefined ? {} : { delay: delayMs }),
    },
  };
}

/** Throws `INVALID_OPTIONS` (input) or `INVALID_CONTEXT` when BullMQ could not write `data` as JSON. */
function jsonOf(data: RunJobData): void {
  for (const [key, value] of [
    ['context', data.context],
    ['input', data.input],
  ] as const) {
    try {
      JSON.stringify(value);
    } catch (error) {
      const code = key === 'context' ? 'INVALID_CONTEXT' : 'INVALID_OPTIONS';
      throw new MacroError(code, `Cannot enqueue a run whose ${key} is not JSON: ${String(error)}`, {
        cause: error,
      });
    }
  }
}
