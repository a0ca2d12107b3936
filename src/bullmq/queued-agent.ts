/**
 * `queuedAgent`: an agent whose calls run as jobs on a queue that an `AgentWorker` in
 * another process serves (a GPU box with a local model, a pool that owns a rate-limited
 * API key). The stage's abort and timeout reach the remote call; its output, usage,
 * progress and errors come back as a local call's would.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import type { TokenUsage } from '../model/usage.js';
import { runKeys } from './keys.js';
import { connect } from './macro-queue.js';
import { queuedAgentOptions } from './options.js';
import { remoteError } from './remote-error.js';

/** The queue agent calls go to when none is named. */
export const DEFAULT_AGENT_QUEUE = 'macro-orchestrator-agents';

/** A call as its job carries it (not part of the package API). */
export interface AgentJobData {
  readonly agent: string;
  readonly input: unknown;
  readonly runId: string;
  readonly path: string;
  readonly attempt: number;
  readonly phase?: string;
  readonly context: AgentInvocation['context'];
  readonly feedback: AgentInvocation['feedback'];
  readonly previous?: unknown;
}

/** What a job returns: the output and the usage the agent reported (not part of the package API). */
export interface AgentJobResult {
  readonly output: unknown;
  readonly usage: readonly TokenUsage[];
}

/** Options of {@link queuedAgent}. */
export interface QueuedAgentOptions {
  /** Redis: connection options (`{ host, port }`) or an ioredis instance, as BullMQ takes them. */
  readonly connection: ConnectionOptions;
  /** The queue the `AgentWorker` serves. @default 'macro-orchestrator-agents' */
  readonly queue?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  readonly description?: string;
}

/** A queued agent: an `Agent`, plus `close()` for its Redis connections. */
export interface QueuedAgent extends Agent {
  /** Closes its Redis connections; calls made afterwards fail. */
  close(): Promise<void>;
}

/**
 * An agent `id` whose calls are jobs on a queue, run by the `AgentWorker` that registers
 * an agent of the same id. Each call is one job, never retried by BullMQ (the stage's retry
 * policy decides, from the remote error's `retryable` and status); aborting the call (a
 * timeout, a cancel, a fail-fast sibling) removes a waiting job or aborts the running one.
 * @example
 * const writer = queuedAgent('writer', { connection, queue: 'gpu' }); // served by an AgentWorker on the GPU box
 * const orchestrator = new MacroOrchestrator({ agents: [writer, ...local], macros });
 * @throws {MacroError} `INVALID_OPTIONS` for an id that is no non-empty string, or an option that is unknown or wrong.
 */
export function queuedAgent(id: string, options: QueuedAgentOptions): QueuedAgent {
  const given = queuedAgentOptions(id, options); // read once: the values checked are those used
  const { connection, queue: name = DEFAULT_AGENT_QUEUE, prefix = 'bull', description } = given;
  const keys = runKeys(prefix, name);
  let queue: Queue<AgentJobData, AgentJobResult> | undefined;
  let events: QueueEvents | undefined;
  let redis: Redis | undefined;
  /** The calls in flight by job id, for the one progress listener. */
  const calls = new Map<string, AgentInvocation>();
  const onProgress = ({ jobId, data: progress }: { jobId: string; data: unknown }) => {
    if (typeof progress === 'object' && progress !== null && 'report' in progress) {
      calls.get(jobId)?.report((progress as { report: unknown }).report);
    }
  };
  const open = async () => {
    if (events === undefined) {
      queue = new Queue<AgentJobData, AgentJobResult>(name, { connection, prefix });
      events = new QueueEvents(name, { connection, prefix });
      // Each call in flight waits on them (BullMQ's own listeners): no leak warning at 11.
      queue.setMaxListeners(0);
      events.setMaxListeners(0);
      events.on('progress', onProgress);
      redis = connect(connection);
    }
    await events.waitUntilReady();
    return { queue: queue as Queue<AgentJobData, AgentJobResult>, events, redis: redis as Redis };
  };
  return {
    id,
    ...(description === undefined ? {} : { description }),
    async invoke(input: unknown, call: AgentInvocation): Promise<unknown> {
      call.signal.throwIfAborted();
      const { queue, events, redis } = await open();
      const data: AgentJobData = {
        agent: id,
        input,
        runId: call.runId,
        path: call.path,
        attempt: call.attempt,
        context: call.context,
        feedback: call.feedback,
        ...(call.phase === undefined ? {} : { phase: call.phase }),
        ...(call.previous === undefined ? {} : { previous: call.previous }),
      };
      const jobId = randomUUID();
      // Kept a while after they end: a call that ends before its wait begins still finds its job.
      const kept = { age: 300 };
      const job = await queue.add(id, data, {
        jobId,
        attempts: 1,
        removeOnComplete: kept,
        removeOnFail: kept,
      });
      calls.set(jobId, call);
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          reject(call.signal.reason);
          // Still waiting: removed; running: its worker aborts it.
          void job.remove().catch(() => redis.publish(keys.cancelChannel, jobId));
        };
        if (call.signal.aborted) onAbort();
        else call.signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const result = (await Promise.race([job.waitUntilFinished(events), aborted])) as AgentJobResult;
        for (const usage of result.usage) call.usage(usage);
        return result.output;
      } catch (error) {
        if (call.signal.aborted) throw call.signal.reason;
        throw remoteError(error instanceof Error ? error.message : String(error), id);
      } finally {
        calls.delete(jobId);
        call.signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      await Promise.all([queue?.close(), events?.close(), redis?.quit()]);
    },
  };
}
