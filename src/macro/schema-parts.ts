/**
 * The small schemas the macro definition schemas (types.ts) are built from: ids,
 * durations, functions, zod schemas, and quality gates with their checks.
 * @internal
 * @module
 */
import { z } from 'zod';
import { fn } from '../internal/function-schema.js';
import type { GateCheck, QualityGate } from '../model/quality-gate.js';

export const zodSchema = z.custom<z.ZodType>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as z.ZodType).safeParse === 'function',
  { message: 'Expected a zod schema' },
);

/** Stage ids: letters, digits, `.`, `_`, `-`; starting with a letter or digit. */
export const StageIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'Expected an id of letters, digits, ".", "_" or "-" (max 128)');

/** Any positive duration: timers past 2^31-1 ms are chained (see internal/timers.ts). */
export const TimeoutMsSchema = z.number().positive();

/**
 * A predicate gate's check: a function, or the name of one in the orchestrator's
 * `predicates` (the only form JSON can hold: the JSON Schema says so).
 * @internal
 */
export const NamedCheckSchema = z.union([z.string().min(1), fn<GateCheck>('check')], {
  error: 'Expected check to be a function or the name of a predicate',
});

/** Shape of a quality gate. */
export const QualityGateSchema: z.ZodType<QualityGate> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('schema'), id: StageIdSchema, schema: zodSchema }),
  z.strictObject({
    kind: z.literal('predicate'),
    id: StageIdSchema,
    check: NamedCheckSchema,
    feedback: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('judge'),
    id: StageIdSchema,
    agent: z.string().min(1),
    threshold: z.number().finite(),
  }),
]) as z.ZodType<QualityGate>;
