/**
 * `MacroWorker`: a BullMQ `Worker` whose jobs are runs of a `MacroOrchestrator`. A job
 * redelivered because its worker died resumes the run from its checkpoints.
 * @module
 */
import { type ConnectionOptions, type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type ErrorRecord, isMacroError, MacroError, toErrorRecord } from '../errors.js';
import { readOptions } from '../internal/options.js';
import { logFailure } from '../logger.js';
import type { MacroOrchestrator } from '../macro/orchestrator.js';
import type { MacroRun } from '../macro/run.js';
import { packResult } from '../memory/stored-json.js';
import type { MacroResult } from '../model/result.js';
import { EventWriter } from './event-stream.js';
import {
  DEFAULT_QUEUE,
  KEEP_SECONDS,
  keepFor,
  type PackedResult,
  type RunJobData,
  type RunKeys,
  runKeys,
} from './keys.js';
import { connect } from './macro-queue.js';
import { workerOptions } from './options.js';

/** Options of {@link MacroWorker}; the same `name` and `prefix` as the producers'. */
export interface MacroWorkerOptions {
  /** Redis: connection options (`{ host, port }`) or an ioredis instance, as BullMQ takes them. */
  readonly connection: ConnectionOptions;
  /**
   * Runs the jobs. Give it durable memory shared by every worker (`PostgresMemory`), so a
   * run whose worker died resumes where it stopped on another one.
   */
  readonly orchestrator: MacroOrchestrator;
  /** The queue's name. @default 'macro-orchestrator' */
  readonly name?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  /** Runs at a time in this process. @default 1 */
  readonly concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, in ms (BullMQ renews it at half that
   * while the run works). A worker that died gives its runs up this long after, plus up
   * to `stalledIntervalMs`. Keep the memory's `leaseMs` at or below it. @default 30000
   */
  readonly lockDurationMs?: number;
  /** How often BullMQ looks for jobs whose lock expired. @default 30000 */
  readonly stalledIntervalMs?: number;
  /** How many times one run may be taken back from a dead worker before it fails. @default 5 */
  readonly maxStalledCount?: number;
}

/** Options of {@link MacroWorker.close}. */
export interface MacroWorkerCloseOptions {
  /**
   * `false`: the runs in flight finish here first (drain). `true`: they stop now, their
   * finished stages checkpointed and their leases given back, and their jobs go back to
   * the queue, where another worker resumes them at once (their stages in flight run
   * again there). @default false
   */
  readonly handBack?: boolean;
}

/**
 * Serves a queue's runs: each job is one run on `orchestrator`. A redelivered job (its
 * worker died) resumes the run from its checkpoints; BullMQ's job lock, renewed while the
 * run works, keeps other workers off it, and the memory's lease fences its writes. BullMQ
 * never runs a run again because it failed (retries belong to the stages' policies); it
 * tries again only a run that could not start. Every event is appended to the run's stream
 * (`MacroQueue.events`) unless the run was enqueued with `events: false`, and
 * `MacroQueue.cancel` reaches the run here.
 * @example
 * const worker = new MacroWorker({ connection, orchestrator, concurrency: 8 });
 * process.on('SIGTERM', () => worker.close({ handBack: true })); // other workers go on with its runs
 */
export class MacroWorker {
  /** The BullMQ worker. */
  readonly worker: Worker<RunJobData, PackedResult>;
  readonly #orchestrator: MacroOrchestrator;
  readonly #keys: RunKeys;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  /** The runs this worker is running, by id, with the controller that cancels them. */
  readonly #running = new Map<string, AbortController>();
  /** Set by `close({ handBack: true })`: runs in flight, and jobs taken from now on, go back to the queue. */
  #handingBack = false;

  /** @throws {MacroError} `INVALID_OPTIONS` naming an option that is unknown or wrong, before any connection is opened. */
  constructor(options: MacroWorkerOptions) {
    const given = workerOptions(options); // read once: the values checked are those used
    const { connection, orchestrator, name = DEFAULT_QUEUE, prefix = 'bull' } = given;
    this.#orchestrator = orchestrator;
    this.#keys = runKeys(prefix, name);
    this.#redis = connect(connection);
    this.#subscriber = connect(connection);
    void this.#subscriber.subscribe(this.#keys.cancelChannel).catch(() => {});
    this.#subscriber.on('message', (_channel: string, runId: string) => {
      this.#running.get(runId)?.abort(new MacroError('CANCELLED', 'cancelled through MacroQueue'));
    });
    this.worker = new Worker<RunJobData, PackedResult>(
      name,
      (job, token, signal) => this.#process(job, token, signal),
      {
        connection,
        prefix,
        concurrency: given.concurrency ?? 1,
        lockDuration: given.lockDurationMs ?? 30_000,
        stalledInterval: given.stalledIntervalMs ?? 30_000,
        maxStalledCount: given.maxStalledCount ?? 5,
      },
    );
  }

  /**
   * Stops taking jobs, then finishes the runs in flight (or hands them back, see
   * {@link MacroWorkerCloseOptions.handBack}), then closes the connections.
   */
  async close(options: MacroWorkerCloseOptions = {}): Promise<void> {
    // Read once, in a try (a throwing getter, a revoked proxy); a misspelt `handback` is refused, not taken as a drain.
    const { handBack } =
      options === null ? {} : readOptions('MacroWorker.close options', options, ['handBack']);
    if (handBack !== undefined && typeof handBack !== 'boolean') {
      throw new MacroError(
        'INVALID_OPTIONS',
        `Invalid option "handBack" in MacroWorker.close options: expected true or false, got ${typeof handBack}`,
      );
    }
    if (handBack === true) {
      this.#handingBack = true;
      for (const [runId, controller] of this.#running) controller.abort(handedBack(runId));
    }
    await this.worker.close();
    this.#subscriber.disconnect();
    this.#redis.disconnect();
  }

  async #process(
    job: Job<RunJobData, PackedResult>,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PackedResult> {
    const runId = job.id as string;
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    if (this.#handingBack) return this.#handBack(job, token); // taken while closing
    this.#running.set(runId, controller);
    const events = this.#writer(runId, job.data);
    const since = Date.now();
    try {
      const cancelled = await this.#redis.get(this.#keys.cancelled(runId));
      if (cancelled !== null) controller.abort(new MacroError('CANCELLED', cancelled));
      for (let fresh = true; ; fresh = false) {
        // #start resolves with a box: a MacroRun is thenable, and would be awaited into its result.
        const { run } = await this.#start(runId, job.data, controller.signal, events, fresh);
        const result = await run.result;
        if (this.#handingBack && leaseRefused(result)) break;
        // Another process holds the run (a worker that lost its job lock but still runs it):
        // wait for it, then take over, or replay the result it saved.
        // Packed: the job's return value is written twice by BullMQ (the job and its event).
        if (!leaseRefused(result) || controller.signal.aborted) return packResult(result) as PackedResult;
        if (Date.now() - since > CLAIM_TIMEOUT_MS) throw new Error(`Run "${runId}" stayed leased elsewhere`);
        await sleep(RECLAIM_MS);
      }
    } catch (error) {
      if (!this.#handingBack) throw startFailure(error);
    } finally {
      this.#running.delete(runId);
      await events?.close();
    }
    return this.#handBack(job, token);
  }

  /**
   * The writer of the run's events to its stream; none for a run whose producer follows no
   * events (`EnqueueOptions.events: false`): nothing observes them, so none is even built.
   */
  #writer(runId: string, data: RunJobData): EventWriter | undefined {
    if (data.events === false) return undefined;
    const logger = this.#orchestrator.logger;
    return new EventWriter(
      this.#redis,
      runId,
      this.#keys.events(runId),
      (error) => logFailure(logger, 'warn', error, { runId }, 'run events could not be written to Redis'),
      keepFor(data.keepSeconds) ?? KEEP_SECONDS,
    );
  }

  /**
   * Gives a handed-back run's lease back and its job back to the queue, where another
   * worker takes it at once and resumes the run from its checkpoints.
   */
  async #handBack(job: Job<RunJobData, PackedResult>, token: string | undefined): Promise<never> {
    const memory = this.#orchestrator.memory;
    // A failure leaves the lease to expire instead.
    await Promise.resolve()
      .then(() => memory.releaseRun?.(job.id as string))
      .catch(() => {});
    await job.moveToWait(token);
    throw new WaitingError(); // tells BullMQ the job neither completed nor failed
  }

  /**
   * Starts the run (`fresh`, and memory does not hold it yet), or resumes it (the job was
   * redelivered, or the run was leased elsewhere). A run whose previous worker's lease has
   * not expired yet is claimed again every 500 ms, for at most two minutes.
   */
  async #start(
    runId: string,
    data: RunJobData,
    signal: AbortSignal,
    events: EventWriter | undefined,
    fresh: boolean,
  ): Promise<{ run: MacroRun<unknown> }> {
    const streamed = (run: MacroRun<unknown>) => {
      if (events === undefined) return { run };
      // Subscribed before its first event (run() starts a turn later). The end of a run
      // stopped by a lease refusal is not the run's end: it goes on in the process holding it.
      run.onAny((event) => {
        if (event.type !== 'run:end') events.push(event);
        // Without its result, which travels once, as the job's return value (MacroQueue.events).
        else if (!leaseRefused(event.result)) events.push({ ...event, result: undefined as never });
      });
      return { run };
    };
    const memory = this.#orchestrator.memory;
    if (fresh && (await memory.loadRun(runId))?.header === undefined) {
      const { macro, context, input, timeoutMs, deadline } = data;
      return streamed(
        this.#orchestrator.run(macro, context, {
          runId,
          signal,
          ...(input === undefined ? {} : { input }),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(deadline === undefined ? {} : { deadline }),
        }),
      );
    }
    for (const since = Date.now(); ; ) {
      const started = streamed(this.#orchestrator.resume(runId, { signal }));
      try {
        await Promise.race([started.run.result, claimed(started.run)]);
        return started;
      } catch (error) {
        const leased = isMacroError(error) && error.code === 'RUN_LEASED';
        if (!leased || signal.aborted || Date.now() - since > CLAIM_TIMEOUT_MS) throw error;
        await sleep(RECLAIM_MS);
      }
    }
  }
}

/** Why a run stops when its worker hands it back: a lease refusal, so nothing but its checkpoints is saved. */
function handedBack(runId: string): MacroError {
  return new MacroError(
    'LEASE_LOST',
    `Run "${runId}" was handed back by MacroWorker.close(); another worker resumes it from its checkpoints`,
  );
}

/** How long a worker waits for a run leased elsewhere before it fails the job (retried by BullMQ). */
const CLAIM_TIMEOUT_MS = 120_000;
/** The pause between two claims of a run leased elsewhere. */
const RECLAIM_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a run stopped because another process holds its lease (or it was handed back to one). */
function leaseRefused(result: MacroResult): boolean {
  if (result.status === 'succeeded') return false;
  // A hand-back is a cancel whose cause is the refusal.
  for (let e: ErrorRecord | undefined = result.error; e !== undefined; e = e.cause) {
    if (e.code === 'LEASE_LOST' || e.code === 'RUN_LEASED') return true;
  }
  return false;
}

/** Errors that starting the run again cannot cure: the job fails for good, never retried. */
const FINAL = new Set([
  'MACRO_NOT_FOUND',
  'INVALID_CONTEXT',
  'INVALID_OPTIONS',
  'MACRO_CONFIGURATION',
  'RUN_CORRUPT',
  'CANCELLED',
]);

/**
 * What the job fails with when the run could not start: a configuration error is final
 * (`UnrecoverableError`); anything else (memory unreachable, a lease held too long) is
 * retried by BullMQ, as the job's `attempts` allow. The reason carries the code as JSON.
 */
function startFailure(error: unknown): Error {
  const record = isMacroError(error) ? toErrorRecord(error) : { code: 'UNKNOWN', message: String(error) };
  const reason = JSON.stringify({ code: record.code, message: record.message });
  return FINAL.has(record.code) ? new UnrecoverableError(reason) : new Error(reason);
}

/** Resolves once the resumed run has started (its lease claimed and its stored run loaded). */
function claimed(run: MacroRun<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const stop = run.onAny(() => {
      stop();
      resolve();
    });
  });
}
