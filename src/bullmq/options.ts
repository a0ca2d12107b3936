/**
 * The checks of what the BullMQ subpath's constructors and `MacroQueue`'s methods are given,
 * made before any connection is opened: a bad value is refused by name instead of failing
 * in BullMQ (its own error, Redis clients left open), silently (a misspelt `conection`
 * connected to localhost), or later (a lock duration past 2^31 ms fires BullMQ's timers
 * every millisecond; a limiter of `max: NaN` never admits a call).
 * @internal
 * @module
 */
import type { ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import { nonEmptyString } from '../internal/options.js';
import { kindOf } from '../internal/safe.js';
import { MAX_TIMER_MS } from '../internal/timers.js';
import type { MacroOrchestrator } from '../macro/orchestrator.js';
import { parseOptions } from '../macro/run-input.js';
import { LOGGER_METHODS, type MacroLogger } from '../model/logger.js';

/** An object that is no array and no revoked proxy (`kindOf` says which). */
const anObject = <T extends object>(what: string) =>
  z.custom<T>((value) => kindOf(value) === 'object', { message: `Expected ${what}` });

/**
 * Connection options, copied when plain (read once, here: a getter that throws is refused,
 * and BullMQ and our clients get the values checked), or an ioredis instance as it is.
 */
const connection = anObject<ConnectionOptions>('connection options or an ioredis instance')
  .refine((value) => !(value as { options?: { keyPrefix?: unknown } }).options?.keyPrefix, {
    message: 'Expected an ioredis instance without a keyPrefix, which BullMQ refuses (use the prefix option)',
  })
  .transform((value): ConnectionOptions => {
    const proto: unknown = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null ? { ...value } : value;
  });

/** Something with a `run` method: a `MacroOrchestrator` (of either build of the package). */
const orchestrator = anObject<MacroOrchestrator>('a MacroOrchestrator').refine(
  (value) => typeof (value as { run?: unknown }).run === 'function',
  { message: 'Expected a MacroOrchestrator (an object with a run method)' },
);
/** A queue's name: BullMQ joins the parts of its Redis keys with ':'. */
const queueName = z
  .string()
  .min(1)
  .refine((name) => !name.includes(':'), { message: 'Expected no ":" (it separates Redis key parts)' });
const prefix = z.string().min(1);
const concurrency = z.number().int().min(1);
const timerMs = z.number().int().min(1).max(MAX_TIMER_MS);

/** Whether `value` has every method of `MacroLogger` (a getter that throws: the caller's try reports it). */
const isLogger = (value: unknown): value is MacroLogger =>
  typeof value === 'object' &&
  value !== null &&
  LOGGER_METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');

const MacroWorkerOptionsSchema = z.strictObject({
  connection,
  orchestrator,
  name: queueName.optional(),
  prefix: prefix.optional(),
  concurrency: concurrency.optional(),
  lockDurationMs: timerMs.optional(),
  stalledIntervalMs: timerMs.optional(),
  maxStalledCount: z.number().int().min(0).optional(),
});

const MacroQueueOptionsSchema = z.strictObject({
  connection,
  name: queueName.optional(),
  prefix: prefix.optional(),
  // Checked by MacroQueue itself (a whole number of seconds ≥ 1), with its own message.
  keepSeconds: z.unknown().optional(),
});

const AgentWorkerOptionsSchema = z.strictObject({
  connection,
  // Read (and each agent checked, duplicates refused) by the AgentRegistry the worker builds.
  agents: z.custom<Iterable<Agent>>((value) => typeof value === 'object' && value !== null, {
    message: 'Expected an iterable of agents',
  }),
  queue: queueName.optional(),
  prefix: prefix.optional(),
  concurrency: concurrency.optional(),
  limiter: z.strictObject({ max: z.number().int().min(1), duration: timerMs }).optional(),
  logger: z
    .custom<MacroLogger>(isLogger, { message: `Expected a MacroLogger (${LOGGER_METHODS.join(', ')})` })
    .optional(),
});

const QueuedAgentOptionsSchema = z.strictObject({
  connection,
  queue: queueName.optional(),
  prefix: prefix.optional(),
  description: z.string().optional(),
});

/**
 * `MacroWorker`'s options, checked and read once.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the option.
 */
export function workerOptions(options: unknown) {
  return parseOptions('MacroWorker options', options, MacroWorkerOptionsSchema);
}

/**
 * `MacroQueue`'s options, checked and read once.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the option.
 */
export function queueOptions(options: unknown) {
  return parseOptions('MacroQueue options', options, MacroQueueOptionsSchema);
}

/**
 * `AgentWorker`'s options, checked and read once.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the option.
 */
export function agentWorkerOptions(options: unknown) {
  return parseOptions('AgentWorker options', options, AgentWorkerOptionsSchema);
}

/**
 * `queuedAgent`'s id and options, checked and read once.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the id or the option.
 */
export function queuedAgentOptions(id: unknown, options: unknown) {
  const agentId = nonEmptyString('agent id given to queuedAgent', id);
  return parseOptions(`queuedAgent("${agentId}") options`, options, QueuedAgentOptionsSchema);
}

/**
 * `runId` when it is a non-empty string, as `MacroQueue.<method>` takes it.
 * @throws {MacroError} `INVALID_OPTIONS` naming the method otherwise.
 */
export function runIdArgument(method: string, runId: unknown): string {
  return nonEmptyString(`run id given to MacroQueue.${method}`, runId);
}
