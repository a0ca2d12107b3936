/**
 * What a run knows about why it runs (the context agents, gates and callbacks receive).
 * @module
 */
import { z } from 'zod';
import type { ErrorRecord } from '../errors.js';

/** A knowledge packet selected for the run. */
const KnowledgePacketSchema = z.object({
  id: z.string().min(1),
  title: z.string().optional(),
  content: z.string(),
  source: z.string().optional(),
  tags: z.array(z.string()).readonly().optional(),
});
/** A piece of knowledge the run's agents can draw on (`context.knowledge`). */
export type KnowledgePacket = z.infer<typeof KnowledgePacketSchema>;

/** Everything a run knows about why it runs: parsed once per run. Unknown keys are refused (a typo must not pass unnoticed). */
export const MacroContextSchema = z.strictObject({
  /** What the operator wants, in their words. */
  intent: z.string().min(1, 'intent must not be empty'),
  /** Guidance text, usually the contents of an AGENTS.md. @default "" */
  guidance: z.string().default(''),
  /** Knowledge packets selected for this run. @default [] */
  knowledge: z.array(KnowledgePacketSchema).readonly().default([]),
  /** Free-form run metadata (requester, ticket, tenant…). @default {} */
  metadata: z.record(z.string(), z.unknown()).default({}),
  /** Set by the engine when a fallback macro runs: what failed before it. */
  failure: z
    .object({ macro: z.string(), error: z.custom<ErrorRecord>((v) => typeof v === 'object' && v !== null) })
    .optional(),
});
/** A context as a caller writes it (defaults optional). */
export type MacroContextInput = z.input<typeof MacroContextSchema>;
/** A parsed context, as agents receive it. */
export type MacroContext = z.output<typeof MacroContextSchema>;
