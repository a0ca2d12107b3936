/**
 * `macro-orchestrator/bullmq`: runs on a fleet of BullMQ workers over Redis. A separate
 * entry point, so that `bullmq` and `ioredis` (optional peer dependencies) are loaded only
 * by those who import it.
 * @module
 */

export { AgentWorker, type AgentWorkerOptions } from './bullmq/agent-worker.js';
export type { EnqueueOptions } from './bullmq/enqueue-options.js';
export type { PackedResult } from './bullmq/keys.js';
export { MacroQueue, type MacroQueueOptions } from './bullmq/macro-queue.js';
export { MacroWorker, type MacroWorkerCloseOptions, type MacroWorkerOptions } from './bullmq/macro-worker.js';
export { type QueuedAgent, type QueuedAgentOptions, queuedAgent } from './bullmq/queued-agent.js';
