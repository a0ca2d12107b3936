/**
 * `MacroQueue`: the producer side of runs on a BullMQ worker fleet. It enqueues runs,
 * waits for their results, streams their events and cancels them, from any process.
 * @module
 */
import { type ConnectionOptions, Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { MacroError, type MacroErrorCode } from '../errors.js';
import type { MacroEvent } from '../events.js';
import { briefly, kindOf } from '../internal/safe.js';
import { unpackResult } from '../memory/stored-json.js';
import type { MacroContextInput } from '../model/context.js';
import type { MacroResult } from '../model/result.js';
import { type EnqueueOptions, runJob } from './enqueue-options.js';
import { readEvents } from './event-stream.js';
import {
  DEFAULT_QUEUE,
  KEEP_SECONDS,
  keepFor,
  type PackedResult,
  type RunJobData,
  type RunKeys,
  runKeys,
} from './keys.js';
import { queueOptions, runIdArgument } from './options.js';

/** Options of {@link MacroQueue}; the same `name` and `prefix` as the workers'. */
export interface MacroQueueOptions {
  /** Redis: connection options (`{ host, port }`) or an ioredis instance, as BullMQ takes them. */
  readonly connection: ConnectionOptions;
  /** The queue's name. @default 'macro-orchestrator' */
  readonly name?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  /**
   * How long a finished run stays in Redis, in seconds: its job (which holds its result)
   * and its event stream. A 10-stage run keeps ~7 KB there, so at 1,000 runs a minute a
   * day is ~10 GB: size it to how late `result()` and `events()` are asked. @default 86400
   */
  readonly keepSeconds?: number;
}

/**
 * Enqueues runs for the `MacroWorker`s of a queue and follows them from any process.
 * @example
 * const queue = new MacroQueue({ connection: { host: '127.0.0.1', port: 6379 } });
 * const runId = await queue.enqueue('write-article', { intent: 'WAL explained' });
 * for await (const event of queue.events(runId)) console.log(event.seq, event.type);
 * const result = await queue.result(runId);
 */
export class MacroQueue {
  /** The BullMQ queue the runs are jobs of. */
  readonly queue: Queue<RunJobData, PackedResult>;
  readonly #connection: ConnectionOptions;
  readonly #keys: RunKeys;
  readonly #keepSeconds: number;
  #events: QueueEvents | undefined;
  #redis: Redis | undefined;

  /**
   * @throws {MacroError} `INVALID_OPTIONS` naming an option that is unknown or wrong (`keepSeconds`
   * not a whole number of seconds ≥ 1, a `name` with ':'…), before any connection is opened.
   */
  constructor(options: MacroQueueOptions) {
    const given = queueOptions(options); // read once: the values checked are those used
    const { connection, name = DEFAULT_QUEUE, prefix = 'bull', keepSeconds = KEEP_SECONDS } = given;
    const keep = keepFor(keepSeconds);
    if (keep === undefined) {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Invalid option "keepSeconds" in MacroQueue options: expected a whole number of seconds ≥ 1, got ${briefly(keepSeconds)}`,
      );
    }
    this.#keepSeconds = keep;
    this.#connection = connection;
    this.queue = new Queue<RunJobData, PackedResult>(name, { connection, prefix });
    this.#keys = runKeys(prefix, name);
  }

  /**
   * Enqueues a run of `macro`; resolves with its run id once the job is stored in Redis
   * (the run starts when a worker takes it). Retries belong to the macro's stage policies:
   * a run that ran is never run again by BullMQ (its job completes with its result,
   * whatever its status); BullMQ tries again only a run that could not start (memory
   * unreachable; up to 3 times), and redelivers one whose worker died.
   * @throws {MacroError} `INVALID_OPTIONS` naming the option (or the macro's name) that is
   * wrong, `INVALID_CONTEXT` naming what is wrong in the context, both before anything is
   * written to Redis.
   */
  async enqueue(macro: string, context: MacroContextInput, options?: EnqueueOptions): Promise<string> {
    const job = runJob(macro, context, options, this.#keepSeconds);
    await this.queue.add(macro, job.data, job.options);
    return job.runId;
  }

  /**
   * The run's result, once it settles (whatever its status). Rejects with `RUN_NOT_FOUND`
   * for a run the queue does not know (never enqueued, or removed a day after it ended),
   * and with the worker's error when the run could not be started at all (an unknown
   * macro: `MACRO_NOT_FOUND`, invalid context: `INVALID_CONTEXT`); with `INVALID_OPTIONS` for a
   * run id that is no non-empty string.
   */
  async result(runId: string): Promise<MacroResult> {
    runIdArgument('result', runId);
    const job = await Job.fromId<RunJobData, PackedResult>(this.queue, runId);
    if (job === undefined) throw new MacroError('RUN_NOT_FOUND', `No run "${runId}" is queued or kept`);
    this.#events ??= new QueueEvents(this.queue.name, {
      connection: this.#connection,
      prefix: this.queue.opts.prefix ?? 'bull',
    });
    await this.#events.waitUntilReady();
    try {
      // The finished event is the fast path; a poll of the job's state every second
      // catches one that ended while QueueEvents was not reading yet.
      const value = await Promise.race([job.waitUntilFinished(this.#events), this.#polled(runId)]);
      // In place; QueueEvents hands every waiter of the job one value, unpacked again as it is.
      return unpackResult(value);
    } catch (error) {
      throw startFailure(runId, error);
    }
  }

  /** Resolves with the job's return value once it completed; rejects once it failed. */
  async #polled(runId: string): Promise<PackedResult> {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      const job = await Job.fromId<RunJobData, PackedResult>(this.queue, runId);
      if (job === undefined) throw new MacroError('RUN_NOT_FOUND', `Run "${runId}" is no longer kept`);
      if (job.finishedOn === undefined) continue;
      if (job.failedReason !== undefined && job.failedReason !== null) throw new Error(job.failedReason);
      return job.returnvalue;
    }
  }

  /**
   * The run's events, as the worker running it emits them (the same types and `seq`
   * numbers as a local run), from its first; ends after `run:end`. Events JSON cannot
   * carry arrive without their outputs, marked `lossy: true`. A run resumed after its
   * worker died goes on with `run:start` (`resumed: true`), its `seq` continuing from its
   * last checkpoint. Rejects with `INVALID_OPTIONS` for a run enqueued with `events: false`,
   * and for a run id that is no non-empty string.
   */
  async *events(runId: string): AsyncGenerator<MacroEvent> {
    runIdArgument('events', runId);
    const quiet = async (): Promise<Job<RunJobData, PackedResult> | undefined> => {
      const job = await Job.fromId<RunJobData, PackedResult>(this.queue, runId);
      if (job?.data.events === false) throw eventsOff(runId);
      return job;
    };
    // Asked again while waiting: the run may have been enqueued after this call.
    const idle = async () => {
      const job = await quiet();
      if (job === undefined) return true;
      const state = await job.getState();
      return state === 'completed' || state === 'failed' || state === 'unknown';
    };
    await quiet();
    // XREAD BLOCK holds its connection: a reader of its own, closed when the iteration ends.
    const reader = this.#client().duplicate();
    try {
      for await (const event of readEvents(reader, runId, this.#keys.events(runId), idle)) {
        // run:end travels without its result, which the job carries (stored once, not twice).
        if (event.type === 'run:end' && event.result === undefined) {
          yield { ...event, result: await this.result(runId) };
        } else yield event;
      }
    } finally {
      reader.disconnect();
    }
  }

  /**
   * Cancels the run wherever it is: on the worker running it now (which settles it
   * `cancelled`), or, still queued, when a worker takes it (it settles `cancelled` at once).
   * Rejects with `INVALID_OPTIONS`, writing nothing, for a run id that is no non-empty string
   * or a reason that is no string.
   */
  async cancel(runId: string, reason = 'cancelled through MacroQueue'): Promise<void> {
    runIdArgument('cancel', runId);
    if (typeof reason !== 'string') {
      throw new MacroError(
        'INVALID_OPTIONS',
        `MacroQueue.cancel expects a reason that is a string, got ${kindOf(reason)}`,
      );
    }
    const redis = this.#client();
    await redis.set(this.#keys.cancelled(runId), reason, 'EX', KEEP_SECONDS);
    await redis.publish(this.#keys.cancelChannel, runId);
  }

  /** Closes the queue's connections. */
  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.#events?.close(), this.#redis?.quit()]);
  }

  #client(): Redis {
    this.#redis ??= connect(this.#connection);
    return this.#redis;
  }
}

/** An ioredis client of its own on the connection BullMQ was given. */
export function connect(connection: ConnectionOptions): Redis {
  if (connection instanceof Redis) return connection.duplicate();
  return new Redis({ ...(connection as object), maxRetriesPerRequest: null });
}

/** What `events(runId)` rejects with for a run enqueued with `events: false`. */
function eventsOff(runId: string): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Run "${runId}" was enqueued with events: false: its worker writes no events to follow`,
  );
}

/** The error a worker failed a run's job with, as a MacroError with its code. */
function startFailure(runId: string, error: unknown): MacroError {
  const message = error instanceof Error ? error.message : String(error);
  try {
    const record = JSON.parse(message) as { code?: MacroErrorCode; message?: string };
    if (typeof record.code === 'string' && typeof record.message === 'string') {
      return new MacroError(record.code, record.message, { cause: error });
    }
  } catch {
    // not one of ours: below
  }
  return new MacroError('PERSISTENCE_FAILED', `Run "${runId}" failed on its worker: ${message}`, {
    cause: error,
  });
}
