/**
 * `AgentWorker`: serves the calls that `queuedAgent`s put on a queue, with the agents of
 * this process.
 * @module
 */
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import { type AgentRegistry, registryOf } from '../agents/registry.js';
import { MacroError } from '../errors.js';
import { resolveLogger } from '../logger.js';
import type { MacroLogger } from '../model/logger.js';
import type { TokenUsage } from '../model/usage.js';
import { runKeys } from './keys.js';
import { connect } from './macro-queue.js';
import { agentWorkerOptions } from './options.js';
import { type AgentJobData, type AgentJobResult, DEFAULT_AGENT_QUEUE } from './queued-agent.js';
import { remoteErrorJson } from './remote-error.js';

/** Options of {@link AgentWorker}. */
export interface AgentWorkerOptions {
  /** Redis: connection options (`{ host, port }`) or an ioredis instance, as BullMQ takes them. */
  readonly connection: ConnectionOptions;
  /** The agents whose calls this worker serves, by id. */
  readonly agents: Iterable<Agent>;
  /** The queue. @default 'macro-orchestrator-agents' */
  readonly queue?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  /** Calls at a time in this process. @default 1 */
  readonly concurrency?: number;
  /** BullMQ's rate limiter for the queue: at most `max` calls per `duration` ms, fleet-wide. */
  readonly limiter?: { readonly max: number; readonly duration: number };
  readonly logger?: MacroLogger;
}

/**
 * Runs queued agent calls: each job is one call of one of `agents`, with an invocation
 * like a local one (its signal aborted when the caller aborts; `report` and `usage`
 * travel back). `suspend` is not available to a queued call.
 * @example
 * // on the GPU box
 * new AgentWorker({ connection, queue: 'gpu', agents: [localModelAgent], concurrency: 2 });
 */
export class AgentWorker {
  /** The BullMQ worker. */
  readonly worker: Worker<AgentJobData, AgentJobResult>;
  readonly #agents: AgentRegistry;
  readonly #running = new Map<string, AbortController>();
  readonly #subscriber: Redis;
  readonly #logger: MacroLogger;

  /**
   * @throws {MacroError} `INVALID_OPTIONS` naming an option that is unknown or wrong (an agent
   * that is none, two agents of one id, a limiter that is no whole number of calls per
   * duration…), before any connection is opened.
   */
  constructor(options: AgentWorkerOptions) {
    const given = agentWorkerOptions(options); // read once: the values checked are those used
    const { connection, queue = DEFAULT_AGENT_QUEUE, prefix = 'bull', limiter } = given;
    this.#agents = registryOf(given.agents);
    this.#logger = resolveLogger(given.logger);
    this.#subscriber = connect(connection);
    void this.#subscriber.subscribe(runKeys(prefix, queue).cancelChannel).catch(() => {});
    this.#subscriber.on('message', (_channel: string, jobId: string) => {
      this.#running.get(jobId)?.abort(new MacroError('CANCELLED', 'the caller aborted the queued call'));
    });
    this.worker = new Worker<AgentJobData, AgentJobResult>(
      queue,
      (job, _token, signal) => this.#call(job, signal),
      {
        connection,
        prefix,
        concurrency: given.concurrency ?? 1,
        ...(limiter === undefined ? {} : { limiter }),
      },
    );
  }

  /** Stops taking calls, waits for those in flight, and closes the connections. */
  async close(): Promise<void> {
    await this.worker.close();
    this.#subscriber.disconnect();
  }

  async #call(
    job: Job<AgentJobData, AgentJobResult>,
    signal: AbortSignal | undefined,
  ): Promise<AgentJobResult> {
    const { data } = job;
    const agent = this.#agents.get(data.agent);
    if (agent === undefined) {
      const error = new MacroError('AGENT_NOT_FOUND', `No agent "${data.agent}" on this AgentWorker`);
      throw new UnrecoverableError(remoteErrorJson(Object.assign(error, { retryable: false })));
    }
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    this.#running.set(job.id as string, controller);
    const usage: TokenUsage[] = [];
    const invocation: AgentInvocation = {
      signal: controller.signal,
      context: data.context,
      logger: this.#logger,
      runId: data.runId,
      path: data.path,
      attempt: data.attempt,
      phase: data.phase,
      feedback: data.feedback,
      previous: data.previous,
      report: (value) => void job.updateProgress({ report: value }).catch(() => {}),
      usage: (reported) => void usage.push(reported),
      suspend: () => {
        throw new MacroError('STAGE_FAILED', `Agent "${data.agent}" cannot suspend a run from a queued call`);
      },
    };
    try {
      return { output: await agent.invoke(data.input, invocation), usage };
    } catch (error) {
      // Never retried by BullMQ: the caller's stage policy decides, from the error itself.
      throw new UnrecoverableError(remoteErrorJson(error));
    } finally {
      this.#running.delete(job.id as string);
    }
  }
}
