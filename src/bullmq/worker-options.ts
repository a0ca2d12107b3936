/**
 * The check of `MacroWorker`'s options, made before it opens any connection: a bad value is
 * refused by name instead of failing in BullMQ (its own error, two Redis clients left open)
 * or later (a lock duration past 2^31 ms fires BullMQ's timers every millisecond).
 * @internal
 * @module
 */
import { z } from 'zod';
import { parseOptions } from '../macro/run-input.js';

/** The longest delay a Node.js timer takes (2^31 - 1 ms); BullMQ's lock and stall timers use them. */
const MAX_TIMER_MS = 2_147_483_647;

const anObject = (what: string) =>
  z.custom<object>((value) => typeof value === 'object' && value !== null, { message: `Expected ${what}` });

const MacroWorkerOptionsSchema = z.strictObject({
  connection: anObject('connection options or an ioredis instance'),
  orchestrator: anObject('a MacroOrchestrator'),
  name: z
    .string()
    .min(1)
    .refine((name) => !name.includes(':'), { message: 'Expected no ":" (it separates Redis key parts)' })
    .optional(),
  prefix: z.string().min(1).optional(),
  concurrency: z.number().int().min(1).optional(),
  lockDurationMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
  stalledIntervalMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
  maxStalledCount: z.number().int().min(0).optional(),
});

/**
 * Throws unless `options` are `MacroWorker` options it can use.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the option.
 */
export function checkWorkerOptions(options: unknown): void {
  parseOptions('MacroWorker options', options, MacroWorkerOptionsSchema);
}
